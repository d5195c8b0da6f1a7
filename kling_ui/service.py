"""The service: runs a job end to end, probe -> validate -> (fix) -> upload -> create -> wait -> download.

It does not import gradio. It is handed its Replicate clients, its data folder and its clock, so
tests can pass fakes or point it at the simulator. Blocking media work runs in worker threads so
the event loop stays responsive. Every visitor's key travels as an argument, never in a global.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import rules
from .access import Guard
from .client import ReplicateClient
from .config import Secret, Settings
from .errors import AccessError, InputError, KlingError, KlingTimeoutError, PredictionError
from .media import fix, preview, probe
from .models import Fix, ImageInfo, JobRequest, Problem, Progress, Tab, VideoInfo
from .payload import build_input, shorten_urls
from .pricing import describe_cost, estimate_cost
from .prompt import normalize_tokens, token_labels
from .protocol import RecentTimes, UploadedFile
from .snippets import snippets

if TYPE_CHECKING:  # the service is handed its transport; it never builds HTTP itself
    import httpx


@dataclass(frozen=True)
class UploadCheck:
    """What the app knows about one upload, for its preview card."""

    path: str  # the file that will be sent (the original, or the doctor's output)
    info: ImageInfo | VideoInfo
    problems: tuple[Problem, ...]
    badge: str  # "8.1 s · 1920x1080 · 30 fps · audio · 24.0 MB", failing parts marked
    preview_path: str | None = None  # browser-playable video (the original when it plays)
    poster_path: str | None = None  # a JPEG frame of a video

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.is_error)

    @property
    def fixable(self) -> bool:
        return any(p.fixable for p in self.problems)


@dataclass(frozen=True)
class JobSpec:
    """What a tab (or an API caller) asks for, with local file paths."""

    tab: Tab
    prompt: str
    start_image: str | None = None
    end_image: str | None = None
    reference_images: tuple[str, ...] = ()
    reference_video: str | None = None
    aspect_ratio: str = "16:9"
    duration: int = 5
    quality: str = "pro"
    keep_original_sound: bool = True
    auto_fix: bool = True  # apply the doctor's fixes before upload (API default; UI passes True)
    video_start: float = 0.0  # trim window start, seconds
    video_length: float | None = None  # trim window length; None = up to 10 s
    aspect_fix: str = "pad"  # "pad" or "crop" for images outside 1:2.5..2.5:1


@dataclass(frozen=True)
class JobResult:
    """A finished run, as shown in the result panel, the history and the API summary."""

    output_path: str
    original_path: str | None  # what to play beside the output: the video or the start frame
    prediction_id: str
    status: str
    predict_time: float | None
    estimated_cost_usd: float
    input_sent: dict[str, Any]  # exact Replicate input, file URLs shortened
    output_facts: dict[str, Any]  # duration, width, height, fps, has_audio
    original_facts: dict[str, Any]
    fixes: tuple[Fix, ...] = ()
    warnings: tuple[str, ...] = ()
    backend: str = "simulator"
    original_label: str = "Original"  # what the original is: "Original clip", "Start frame", ...
    spec: JobSpec | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The JSON summary the API endpoints return (no key, no local paths)."""
        return {
            "prediction_id": self.prediction_id,
            "status": self.status,
            "predict_time": self.predict_time,
            "estimated_cost_usd": self.estimated_cost_usd,
            "input": self.input_sent,
            "output": self.output_facts,
            "original": self.original_facts,
            "fixes_applied": [f"{f.field}: {f.detail}" for f in self.fixes],
            "warnings": list(self.warnings),
            "backend": self.backend,
        }


@dataclass(frozen=True)
class Preflight:
    """The checks shown before a run: every problem, the tokens, and the cost estimate."""

    problems: tuple[Problem, ...]
    tokens: tuple[tuple[str, str], ...]  # (token, what it points at)
    cost_usd: float
    cost_text: str
    prompt: str  # the prompt as it will be sent (@Image1 spellings rewritten)
    # Characters typed and sent: Kling's 2500 limit counts the sent prompt (issue #11).
    chars_typed: int = 0
    chars_sent: int = 0

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.is_error)

    @property
    def ok(self) -> bool:
        return not self.errors


# ---------------------------------------------------------------------------------------------
# The Studio: one per app, shared by every session. Holds no visitor key.
# ---------------------------------------------------------------------------------------------

log = logging.getLogger(__name__)

SIMULATOR_TOKEN = Secret("simulator-token-not-a-secret")
KEY_CHECK_SECONDS = 2.0  # a pasted key is judged within this, or we say we could not check it
UPLOAD_CONCURRENCY = 4


def _facts(info: ImageInfo | VideoInfo | None) -> dict[str, Any]:
    """The facts shown beside a result and returned in the API summary."""
    if isinstance(info, VideoInfo):
        return {
            "kind": "video", "duration": round(info.duration, 2), "width": info.width,
            "height": info.height, "fps": round(info.fps, 2), "has_audio": info.has_audio,
            "codec": info.video_codec, "bytes": info.bytes,
        }
    if isinstance(info, ImageInfo):
        return {"kind": "image", "width": info.width, "height": info.height,
                "format": info.format, "bytes": info.bytes}
    return {}


def _prompt_counts(prompt: str) -> dict[str, int]:
    typed, sent = rules.prompt_lengths(prompt)
    return {"chars_typed": typed, "chars_sent": sent}


class Studio:
    """Runs Kling O1 jobs for every session of the app: checks, fixes, uploads, runs, downloads.

    `settings` picks the backend for the host's key: Replicate at settings.base_url, or the
    simulator started in-process on 127.0.0.1. A visitor who brings their own key always goes to
    Replicate (settings.base_url) with that key, for that visitor's requests only.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        data_dir: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> None:
        self.settings = settings
        self.backend = settings.backend
        self.guard = Guard(
            runs_per_hour=settings.runs_per_hour,
            daily_budget_usd=settings.daily_budget_usd,
            password=settings.app_password,
        )
        root = data_dir or settings.data_dir or os.path.join(tempfile.gettempdir(), "kling-studio")
        self.data_dir = Path(root)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._transport = transport
        self._timeout = timeout
        self._active: dict[str, int] = {}  # session -> runs in flight
        self._doomed: set[str] = set()  # sessions that ended while a run was in flight
        self._sweeper_stop: threading.Event | None = None
        self._clients: dict[tuple[int, str], ReplicateClient] = {}
        self._probe_cache: dict[tuple[str, int, int], ImageInfo | VideoInfo] = {}
        self._sim: Any = None  # the in-process simulator server, started on first use
        self._sim_lock = threading.Lock()
        # Model times (predict_time) this process has seen per tab: when to poll densely.
        self.predict_times = RecentTimes()

    # -- backends --------------------------------------------------------------------------

    def backend_for(self, visitor_token: Secret | None) -> str:
        """Which backend runs a job: a visitor's own key goes to Replicate, unless the host
        forced the simulator (KLING_BACKEND=simulator)."""
        if self.settings.backend == "replicate":
            return "replicate"
        if visitor_token and not self.settings.backend_forced:
            return "replicate"
        return "simulator"

    def backend_note(self, visitor_token: Secret | None) -> str:
        """Plain words for the banner: which backend runs this visitor's jobs and who pays."""
        backend = self.backend_for(visitor_token)
        if backend == "simulator":
            return ("Offline simulator: no Replicate key is set, so outputs are simulated "
                    "locally (stamped SIMULATED) and nothing is billed. Enter your own key to "
                    "run the real model.")
        if visitor_token:
            return "Running on Replicate with your own key; it stays in this browser session only."
        return "Running on Replicate with the host's key. Limits may apply; your own key lifts them."

    def simulator_url(self) -> str:
        """Start the in-process simulator on 127.0.0.1 (once) and return its base URL."""
        with self._sim_lock:
            if self._sim is None:
                from .simulator import SimulatorServer

                self._sim = SimulatorServer(model_seconds=self.settings.sim_seconds)
                self._sim.start()
            return str(self._sim.base_url)

    async def _route(self, visitor_token: Secret | None) -> tuple[ReplicateClient, Secret, str]:
        backend = self.backend_for(visitor_token)
        if backend == "simulator":
            # Starting it waits for its socket: keep that off the event loop every visitor shares.
            base, token = await asyncio.to_thread(self.simulator_url), SIMULATOR_TOKEN
        else:
            token_ = visitor_token or self.settings.token
            if token_ is None:
                raise AccessError("KLING_BACKEND=replicate but no key is set: set "
                                  "REPLICATE_API_TOKEN, or enter your own key.")
            base, token = self.settings.base_url, token_
        key = (id(asyncio.get_running_loop()), base)
        client = self._clients.get(key)
        if client is None:
            # httpx clients are bound to the loop they are used in: one per loop and backend.
            client = ReplicateClient(base, model=self.settings.model, transport=self._transport,
                                     timeout=self._timeout)
            self._clients[key] = client
        return client, token, backend

    async def check_key(self, token: Secret) -> str:
        """The username of the account a pasted key belongs to (GET /v1/account).

        Asks the backend that key's jobs would run on. Raises AuthError for a refused key, and
        KlingTimeoutError when no answer came within KEY_CHECK_SECONDS.
        """
        client, _, _ = await self._route(token)
        try:
            return await asyncio.wait_for(client.account(token), KEY_CHECK_SECONDS)
        except asyncio.TimeoutError as exc:
            raise KlingTimeoutError(f"Replicate did not answer within {KEY_CHECK_SECONDS:g} s "
                                    "while checking the key.") from exc

    async def aclose(self) -> None:
        for client in list(self._clients.values()):
            with contextlib.suppress(Exception):
                await client.aclose()
        self._clients.clear()
        if self._sweeper_stop is not None:
            self._sweeper_stop.set()
        if self._sim is not None:
            self._sim.stop()
            self._sim = None

    def expected_predict_time(self, tab: Tab) -> float | None:
        """The usual model time of `tab` (median of recent predict_times), None when unknown."""
        return self.predict_times.median(tab.value)

    # -- files -----------------------------------------------------------------------------

    def session_dir(self, session_id: str) -> Path:
        safe = "".join(c for c in session_id if c.isalnum() or c in "-_")[:64] or "anon"
        path = self.data_dir / "sessions" / safe
        path.mkdir(parents=True, exist_ok=True)
        return path

    def forget_session(self, session_id: str) -> None:
        """Delete everything a session fixed or generated (when it ends).

        A run still in flight for that session keeps its files until it finishes.
        """
        if self._active.get(session_id):
            self._doomed.add(session_id)
            return
        self._doomed.discard(session_id)
        shutil.rmtree(self.session_dir(session_id), ignore_errors=True)

    def _begin(self, session_id: str) -> None:
        self._active[session_id] = self._active.get(session_id, 0) + 1

    def _end(self, session_id: str) -> None:
        left = self._active.get(session_id, 1) - 1
        if left > 0:
            self._active[session_id] = left
            return
        self._active.pop(session_id, None)
        if session_id in self._doomed:
            self.forget_session(session_id)

    def start_sweeper(self) -> threading.Event:
        """Sweep old files in a daemon thread, a few times per max age (at most every 10 min).

        Returns the event that stops it. The app starts one at launch, so files go even when
        nobody runs anything.
        """
        stop = threading.Event()
        interval = min(600.0, max(1.0, self.settings.max_age_hours * 3600 / 4))

        def loop() -> None:
            while not stop.wait(interval):
                try:
                    self.sweep()
                except Exception:  # never let cleanup take the app down
                    log.exception("sweeping old files failed")

        threading.Thread(target=loop, name="kling-sweeper", daemon=True).start()
        self._sweeper_stop = stop
        return stop

    def sweep(self, max_age_hours: float | None = None) -> int:
        """Delete files in the data folder older than the configured age; returns how many."""
        age = (max_age_hours if max_age_hours is not None else self.settings.max_age_hours) * 3600
        cutoff = time.time() - age
        removed = 0
        busy = [self.data_dir / "sessions" / s for s in list(self._active)]
        for path in self.data_dir.glob("**/*"):
            if any(path.is_relative_to(b) for b in busy):
                continue  # a run in flight keeps its files, however old the setting says
            try:
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except OSError:
                continue
        return removed

    async def _probe(self, path: str, kind: str) -> ImageInfo | VideoInfo:
        st = os.stat(path)
        key = (os.path.abspath(path), st.st_size, st.st_mtime_ns)
        cached = self._probe_cache.get(key)
        if cached is not None:
            return cached
        info: ImageInfo | VideoInfo
        if kind == "image":
            info = await asyncio.to_thread(probe.probe_image, path)
        else:
            info = await asyncio.to_thread(probe.probe_video, path)
        if len(self._probe_cache) > 512:
            self._probe_cache.clear()
        self._probe_cache[key] = info
        return info

    async def check_image(self, path: str, field: str = "image") -> UploadCheck:
        info = await self._probe(path, "image")
        assert isinstance(info, ImageInfo)
        problems = tuple(rules.check_image(info, field))
        return UploadCheck(path=path, info=info, problems=problems,
                           badge=preview.badge(info, problems))

    async def check_video(self, path: str, *, out_dir: str | None = None) -> UploadCheck:
        info = await self._probe(path, "video")
        assert isinstance(info, VideoInfo)
        problems = tuple(rules.check_video(info))
        where = out_dir or str(self.data_dir / "previews")
        os.makedirs(where, exist_ok=True)
        poster: str | None = None
        if preview.browser_playable(info):
            playable: str | None = path  # the browser shows its own first frame
        else:
            # The card plays a preview made for the browser, with a poster until it loads.
            playable = await asyncio.to_thread(preview.make_preview, info, where)
            with contextlib.suppress(KlingError):
                poster = await asyncio.to_thread(preview.make_poster, info, where)
        return UploadCheck(path=path, info=info, problems=problems,
                           badge=preview.badge(info, problems), preview_path=playable,
                           poster_path=poster)

    async def fix_image(
        self, path: str, *, aspect_fix: str = "pad", out_dir: str | None = None
    ) -> tuple[UploadCheck, list[Fix]]:
        info = await self._probe(path, "image")
        assert isinstance(info, ImageInfo)
        where = out_dir or str(self.data_dir / "fixed")
        os.makedirs(where, exist_ok=True)
        new_path, fixes = await asyncio.to_thread(fix.fix_image, info, where, aspect_fix=aspect_fix)
        return await self.check_image(new_path), list(fixes)

    async def fix_video(
        self,
        path: str,
        *,
        start: float = 0.0,
        length: float | None = None,
        out_dir: str | None = None,
        on_progress: Callable[[float], None] | None = None,
    ) -> tuple[UploadCheck, list[Fix]]:
        info = await self._probe(path, "video")
        assert isinstance(info, VideoInfo)
        where = out_dir or str(self.data_dir / "fixed")
        os.makedirs(where, exist_ok=True)
        new_path, fixes = await asyncio.to_thread(
            fix.fix_video, info, where, start=start, length=length, on_progress=on_progress)
        return await self.check_video(new_path, out_dir=where), list(fixes)

    # -- checks before a run ---------------------------------------------------------------

    async def _request(self, spec: JobSpec) -> JobRequest:
        """Probe every file of `spec` (cached) into a JobRequest.

        Raises one InputError naming every unreadable file by its field, so the user sees all
        of them at once.
        """
        problems: list[Problem] = []

        async def probe_as(path: str | None, kind: str, field: str) -> Any:
            if not path:
                return None
            try:
                return await self._probe(path, kind)
            except InputError as exc:
                problems.append(Problem(field, exc.message))
                return None

        start = await probe_as(spec.start_image, "image", "start_image")
        end = await probe_as(spec.end_image, "image", "end_image")
        refs = [await probe_as(p, "image", f"reference_images[{i}]")
                for i, p in enumerate(spec.reference_images, 1) if p]
        video = await probe_as(spec.reference_video, "video", "reference_video")
        if problems:
            raise InputError.from_problems(problems)
        return JobRequest(
            tab=spec.tab, prompt=spec.prompt, start_image=start, end_image=end,
            reference_images=tuple(r for r in refs if r is not None), reference_video=video,
            aspect_ratio=spec.aspect_ratio, duration=int(spec.duration), quality=spec.quality,
            keep_original_sound=spec.keep_original_sound,
        )

    async def preflight(self, spec: JobSpec) -> Preflight:
        """Every problem, the tokens and the cost, without raising for bad input.

        The cost follows the trim window when one is set, since that is what will be billed.
        """
        try:
            job = await self._request(spec)
        except InputError as exc:
            problems = exc.problems or (Problem("file", exc.message),)
            return Preflight(problems=tuple(problems), tokens=(), cost_usd=0.0,
                             cost_text="Estimated cost: fix the files first",
                             prompt=normalize_tokens(spec.prompt),
                             **_prompt_counts(spec.prompt))
        problems = tuple(rules.validate(job))
        billed = job
        video = job.reference_video
        if video is not None and spec.auto_fix and (
            spec.video_start > 0 or spec.video_length is not None or video.duration > rules.VIDEO_MAX_SECONDS
        ):
            start = max(0.0, min(spec.video_start, video.duration))
            length = min(spec.video_length or 10.0, 10.0, video.duration - start)
            billed = replace(job, reference_video=replace(video, duration=max(0.0, length)))
        return Preflight(
            problems=problems, tokens=tuple(token_labels(job)), cost_usd=estimate_cost(billed),
            cost_text=describe_cost(billed), prompt=normalize_tokens(spec.prompt),
            **_prompt_counts(spec.prompt))

    async def _doctor(
        self, spec: JobSpec, job: JobRequest, out_dir: Path, emit: Callable[[Progress], None]
    ) -> tuple[JobRequest, list[Fix]]:
        """Apply the doctor's fix to every file with a fixable problem (or a trim window)."""
        fixes: list[Fix] = []
        where = str(out_dir / "fixed")
        os.makedirs(where, exist_ok=True)

        async def fix_img(info: ImageInfo | None, field: str) -> ImageInfo | None:
            if info is None or not any(p.fixable for p in rules.check_image(info, field)):
                return info
            emit(Progress(stage="fixing", log_line=f"Fixing {field}"))
            path, done = await asyncio.to_thread(
                fix.fix_image, info, where, aspect_fix=spec.aspect_fix, field=field)
            fixes.extend(done)
            new = await self._probe(path, "image")
            assert isinstance(new, ImageInfo)
            return new

        start = await fix_img(job.start_image, "start_image")
        end = await fix_img(job.end_image, "end_image")
        refs = tuple([
            r for i, img in enumerate(job.reference_images, 1)
            if (r := await fix_img(img, f"reference_images[{i}]")) is not None
        ])
        video = job.reference_video
        if video is not None:
            wants_window = spec.video_start > 0 or (
                spec.video_length is not None and spec.video_length < video.duration - 0.05)
            if wants_window or any(p.fixable for p in rules.check_video(video)):
                emit(Progress(stage="fixing", log_line="Fixing the video (this can take a while)"))

                def on_frac(frac: float) -> None:
                    emit(Progress(stage="fixing", fraction=frac,
                                  log_line=f"Fixing the video: {frac:.0%}"))

                path, done = await asyncio.to_thread(
                    fix.fix_video, video, where, start=spec.video_start,
                    length=spec.video_length, on_progress=on_frac)
                fixes.extend(done)
                new_v = await self._probe(path, "video")
                assert isinstance(new_v, VideoInfo)
                video = new_v
        return replace(job, start_image=start, end_image=end, reference_images=refs,
                       reference_video=video), fixes

    # -- the run ---------------------------------------------------------------------------

    async def run(
        self,
        spec: JobSpec,
        *,
        visitor_token: Secret | None,
        visitor_id: str,
        session_id: str | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        cancel_event: asyncio.Event | None = None,
    ) -> JobResult:
        """probe -> validate -> (fix) -> upload -> create -> wait -> download, for one visitor.

        `visitor_id` is who counts against the host's limits; `session_id` (default: the same)
        is whose folder holds the fixed files and the output. Raises InputError before anything
        is sent when the job cannot run as it is.
        """
        session = session_id or visitor_id
        self._begin(session)
        try:
            return await self._run(spec, visitor_token=visitor_token, visitor_id=visitor_id,
                                   session=session, on_progress=on_progress,
                                   cancel_event=cancel_event)
        finally:
            self._end(session)

    async def _run(
        self,
        spec: JobSpec,
        *,
        visitor_token: Secret | None,
        visitor_id: str,
        session: str,
        on_progress: Callable[[Progress], None] | None,
        cancel_event: asyncio.Event | None,
    ) -> JobResult:
        t0 = self._clock()

        def emit(p: Progress) -> None:
            if on_progress is not None:
                on_progress(replace(p, elapsed=p.elapsed or self._clock() - t0))

        emit(Progress(stage="checking", log_line="Checking inputs"))
        out_dir = self.session_dir(session)
        job = await self._request(spec)
        problems = rules.validate(job)
        fixes: list[Fix] = []
        wants_window = bool(job.reference_video) and (
            spec.video_start > 0 or spec.video_length is not None)
        if spec.auto_fix and (wants_window or any(p.fixable for p in problems)):
            job, fixes = await self._doctor(spec, job, out_dir, emit)
            problems = rules.validate(job)
        if rules.errors_of(problems):
            raise InputError.from_problems(problems)
        warnings = tuple(f"{p.field}: {p.message}" for p in problems if not p.is_error)

        cost = estimate_cost(job)
        client, token, backend = await self._route(visitor_token)
        reservation = None if visitor_token else self.guard.admit(visitor_id, cost)
        created: list[str] = []  # the prediction id, once Replicate has made one (and billed)
        uploaded: list[UploadedFile] = []
        deleting: list[asyncio.Future[int]] = []  # uploads deleted while the output downloads
        try:
            emit(Progress(stage="uploading", log_line="Uploading inputs"))
            paths = [i.path for i in job.images]
            if job.reference_video is not None:
                paths.append(job.reference_video.path)
            urls, uploaded = await client.input_urls(paths, token)
            body = build_input(job, urls)
            if cancel_event is not None and cancel_event.is_set():
                raise PredictionError("Cancelled before the job started; nothing was billed.",
                                      prediction_id=None, status="canceled")
            emit(Progress(stage="starting", log_line="Creating the prediction"))

            def on_update(p: Progress) -> None:
                emit(replace(p, elapsed=self._clock() - t0))

            output_path = out_dir / f"kling-{int(time.time())}-{secrets.token_hex(8)}.mp4"
            prediction, _ = await client.run(
                body, token, dest=str(output_path), on_update=on_update,
                cancel_event=cancel_event, deadline=self.settings.job_timeout,
                on_created=lambda p: created.append(p.id),
                expected_seconds=self.expected_predict_time(spec.tab),
                on_finished=lambda _p: deleting.append(
                    asyncio.ensure_future(client.delete_files(uploaded, token))),
            )
            self.predict_times.add(spec.tab.value, prediction.predict_time)
        except BaseException:
            if reservation is not None and not created:
                # Never reached Replicate as a paid run: give the visitor their run back. Once a
                # prediction exists it counts, even if the download fails afterwards.
                self.guard.release(reservation)
            raise
        finally:
            if deleting:
                await deleting[0]
            else:
                await client.delete_files(uploaded, token)

        emit(Progress(stage="downloading", status=prediction.status, log_line="Checking the output"))
        out_info = await self._probe(str(output_path), "video")
        original: ImageInfo | VideoInfo | None
        if job.reference_video is not None:
            original, label = job.reference_video, "Original clip"
        elif job.start_image is not None:
            original, label = job.start_image, "Start frame"
        elif job.reference_images:
            original, label = job.reference_images[0], "Reference image 1"
        else:
            original, label = None, "No original (text to video)"
        result = JobResult(
            output_path=str(output_path),
            original_path=original.path if original is not None else None,
            original_label=label,
            prediction_id=prediction.id,
            status=prediction.status,
            predict_time=prediction.predict_time,
            estimated_cost_usd=cost,
            input_sent=shorten_urls(body),
            output_facts=_facts(out_info),
            original_facts=_facts(original),
            fixes=tuple(fixes),
            warnings=warnings,
            backend=backend,
            spec=spec,
        )
        emit(Progress(stage="done", status=prediction.status, log_line="Done",
                      prediction_id=prediction.id, fraction=1.0))
        return result

    def code_snippets(self, spec: JobSpec) -> tuple[str, str]:
        """The same request as Python (official client) and cURL, with the key as a placeholder."""
        return snippets(spec, self.settings.model)
