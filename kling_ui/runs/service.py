"""The service: runs one job end to end, probe -> validate -> (fix) -> journal -> upload -> create
-> wait -> download, and keeps it in the library at every step.

It does not import gradio. It is handed its Replicate clients, its data folder and its clock, so
tests can pass fakes or point it at the simulator. Blocking media work runs in worker threads so
the event loop stays responsive. Every visitor's key travels as an argument, never in a global.

What it leans on, each its own module: `library` (the runs, in SQLite: the only SQL), `files`
(run folders, temporary files and their lifetimes), `runner` (the event loop jobs run on, so a
job outlives the page that started it), `resumer` (finishes what a restart interrupted), `access`
(the host's limits, kept in the library's ledger).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import fields, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core import naming, rules
from ..core.config import Secret, Settings
from ..core.errors import (
    AccessError,
    InputError,
    KlingError,
    KlingTimeoutError,
    LibraryError,
    NotFoundError,
    PredictionError,
    StorageError,
)
from ..core.jobs import JobResult, JobSpec, Preflight, UploadCheck, spec_settings
from ..core.models import Fix, ImageInfo, JobRequest, Problem, Progress, Tab, VideoInfo
from ..core.payload import build_input, shorten_urls
from ..core.pricing import describe_cost, estimate_cost
from ..core.prompt import normalize_tokens, token_labels
from ..core.snippets import snippets
from ..finishing.results import Finisher
from ..hosting import bounds, disk
from ..hosting.access import Guard, Reservation
from ..library import store as lib
from ..library.results import result_from_run
from ..library.store import Library, Run, new_run_id
from ..media import filmstrip, fix, preview, probe, tags
from ..media.filmstrip import Filmstrip
from ..replicate.client import ReplicateClient
from ..replicate.protocol import Prediction, RecentTimes, UploadedFile
from .files import Files
from .pool import CANCELED_IN_LINE, Pool
from .resumer import DISK_RETRY_SECONDS, DiskWatch
from .runner import RunHandle, Runner

if TYPE_CHECKING:  # the service is handed its transport; it never builds HTTP itself
    import httpx

__all__ = ["JobResult", "JobSpec", "Preflight", "Studio", "UploadCheck"]

log = logging.getLogger(__name__)

SIMULATOR_TOKEN = Secret("simulator-token-not-a-secret")
PROGRESS_WRITE_EVERY = 1.0  # seconds between journal writes of an unchanged status
RESUME_MIN_DEADLINE = 120.0  # a resumed run gets at least this long to finish
# One output takes a download name at a time, so two runs ending together never share one.
_NAMING = threading.Lock()
DERIVED_TAGS = {"splice": "spliced"}  # what a derived run's file name says it is
KEY_CHECK_SECONDS = 2.0  # a pasted key is judged within this, or we say we could not check it


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


def _original_of(job: JobRequest) -> tuple[ImageInfo | VideoInfo | None, str]:
    """What plays beside the output, and what to call it."""
    if job.reference_video is not None:
        return job.reference_video, "Original clip"
    if job.start_image is not None:
        return job.start_image, "Start frame"
    if job.reference_images:
        return job.reference_images[0], "Reference image 1"
    return None, "No original (text to video)"


def open_library(root: str) -> tuple[Library, str | None]:
    """The library in `root`, or, when that folder cannot be used, one in a temporary folder
    with the reason (shown at start-up and in the page): runs still work, but are not kept."""
    try:
        return Library(root), None
    except LibraryError as exc:
        log.error("%s", exc.message)
        fallback = tempfile.mkdtemp(prefix="kling-library-fallback-")
        return Library(fallback), (exc.message + " Until then this Studio keeps runs in a "
                                   "temporary folder, lost when it stops.")


def _prompt_counts(prompt: str) -> dict[str, int]:
    typed, sent = rules.prompt_lengths(prompt)
    return {"chars_typed": typed, "chars_sent": sent}


class Studio:
    """Runs Kling O1 jobs for every session of the app: checks, fixes, uploads, runs, downloads.

    `settings` picks the backend for the host's key: Replicate at settings.base_url, or the
    simulator started in-process on 127.0.0.1. A visitor who brings their own key always goes to
    Replicate (settings.base_url) with that key, for that visitor's requests only. Every run is
    journaled in `self.library` from before its paid request to its last byte.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        data_dir: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout | None = None,
        disk_retry_seconds: float = DISK_RETRY_SECONDS,
    ) -> None:
        self.settings = settings
        self.backend = settings.backend
        root = data_dir or settings.data_dir or os.path.join(tempfile.gettempdir(), "kling-studio")
        self.library, self.library_problem = open_library(root)
        self.data_dir = self.library.root
        self.files = Files(self.library, max_age_hours=settings.max_age_hours,
                           keep_days=settings.keep_days, max_gb=settings.max_gb,
                           download_minutes=settings.download_minutes)
        self.guard = Guard(
            runs_per_hour=settings.runs_per_hour,
            runs_per_day=settings.runs_per_day,
            daily_budget_usd=settings.daily_budget_usd,
            sign_in=settings.sign_in,
            password=settings.app_password,
            ledger=self.library,
        )
        # One line for every run, UI and API alike: KLING_CONCURRENCY at once, KLING_QUEUE_SIZE
        # waiting (kling_ui.runs.pool); waits are estimated from the modes' usual times.
        self.runner = Runner(pool=Pool(
            settings.concurrency, settings.queue_size,
            expected=lambda tab: self.predict_times.median(tab) if tab else None))
        # Probes, fixes, previews, filmstrips and finishing share the process's bounded pool:
        # a worker per core, each visitor a share of them (kling_ui.hosting.bounds).
        self.media = bounds.media_pool()
        self._clock = clock
        self._transport = transport
        self._timeout = timeout
        self._sweeper_stop: Any = None
        self._clients: dict[tuple[int, str], ReplicateClient] = {}
        self._probe_cache: dict[tuple[str, int, int], ImageInfo | VideoInfo] = {}
        self._previews: dict[tuple[str, float, float], asyncio.Future[str]] = {}
        self._strips: dict[tuple[str, str, int], asyncio.Future[Filmstrip]] = {}
        self._sim: Any = None  # the in-process simulator server, started on first use
        self._sim_lock = threading.Lock()
        # Outputs waiting for disk space are fetched again from here (kling_ui.runs.resumer).
        self.disk_watch = DiskWatch(self, disk_retry_seconds)
        # Model times (predict_time) per tab: when to poll densely. The library remembers them
        # across restarts, so even the first run after one is noticed fast.
        self.predict_times = RecentTimes()
        for tab in Tab:
            for seconds in reversed(self.library.recent_predict_times(tab.value)):
                self.predict_times.add(tab.value, seconds)

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
                from ..replicate.simulator import SimulatorServer

                server = SimulatorServer(model_seconds=self.settings.sim_seconds)
                server.start()
                self._sim = server  # published once it serves: no reader sees it half-started
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
        return await self._client_for(base), token, backend

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
        """Close every client (each on the loop it belongs to), the runner and the simulator."""
        runner_loop = self.runner._loop
        for (loop_id, _base), client in list(self._clients.items()):
            with contextlib.suppress(Exception):
                if runner_loop is not None and loop_id == id(runner_loop):
                    await asyncio.to_thread(self.runner.call, client.aclose(), 5.0)
                else:
                    await client.aclose()
        self._clients.clear()
        self.disk_watch.stop()
        self.runner.stop()
        self.files.stop()
        if self._sim is not None:
            self._sim.stop()
            self._sim = None

    def expected_predict_time(self, tab: Tab) -> float | None:
        """The usual model time of `tab` (median of recent predict_times, seeded from the
        library at start-up), None when unknown."""
        return self.predict_times.median(tab.value)

    # -- files (kling_ui.runs.files) ------------------------------------------------------------

    def session_dir(self, session_id: str) -> Path:
        return self.files.session_dir(session_id)

    def start_sweeper(self) -> Any:
        self._sweeper_stop = self.files.start_sweeper()
        return self._sweeper_stop

    def sweep(self, max_age_hours: float | None = None) -> int:
        return self.files.sweep(max_age_hours)

    async def _probe(self, path: str, kind: str) -> ImageInfo | VideoInfo:
        try:
            st = os.stat(path)
        except OSError as exc:
            # An upload Gradio's cache no longer has (a restart, its sweep, or another app on
            # the same temp folder clearing it): say so, never fail the run with a traceback.
            raise InputError(
                "This file is no longer on the server (it was cleared after a restart or by "
                "the cache sweep). Upload it again.") from exc
        key = (os.path.abspath(path), st.st_size, st.st_mtime_ns)
        cached = self._probe_cache.get(key)
        if cached is not None:
            return cached
        info: ImageInfo | VideoInfo
        if kind == "image":
            info = await self.media.run(probe.probe_image, path)
        else:
            info = await self.media.run(probe.probe_video, path)
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
        """The card for a video within about a second, whatever its size (issue #12).

        A header probe, the rules, and for a clip the browser cannot play a poster JPEG from
        the middle (a keyframe seek: no full decode). The playable preview is not made here:
        `video_preview` makes it in the background, the chosen window first.
        """
        info = await self._probe(path, "video")
        assert isinstance(info, VideoInfo)
        problems = tuple(rules.check_video(info))
        card = UploadCheck(path=path, info=info, problems=problems,
                           badge=preview.badge(info, problems))
        if preview.browser_playable(info):
            return replace(card, preview_path=path)  # the browser shows its own first frame
        where = out_dir or str(self.files.temp_dir("previews"))
        poster: str | None = None
        with contextlib.suppress(KlingError):
            poster = await self.media.run(
                preview.make_poster, info, where, at=info.duration / 2, max_side=720)
        return replace(card, poster_path=poster, preview_pending=True)

    async def video_preview(self, path: str, *, start: float = 0.0, length: float | None = None,
                            first_part: bool = False, out_dir: str | None = None) -> str:
        """A low-resolution H.264 preview of the window [start, start + length] of `path`.

        With `first_part`, only its first FIRST_PART_SECONDS (ready in a few seconds even for
        4K60 HEVC), so the card plays something while the whole window is made. Requests for
        the same file and window share one ffmpeg run.
        """
        info = await self._probe(path, "video")
        assert isinstance(info, VideoInfo)
        start = max(0.0, min(start, max(0.0, info.duration - 0.5)))
        whole = min(length or rules.VIDEO_MAX_SECONDS, rules.VIDEO_MAX_SECONDS,
                    info.duration - start)
        seconds = min(whole, preview.FIRST_PART_SECONDS) if first_part else whole
        key = (os.path.abspath(path), round(start, 1), round(seconds, 1))
        task = self._previews.get(key)
        if task is None or (task.done() and (task.cancelled() or task.exception())):
            where = out_dir or str(self.files.temp_dir("previews"))
            task = asyncio.ensure_future(self.media.run(
                preview.make_preview, info, where, start=start, length=seconds,
                max_height=preview.WINDOW_PREVIEW_HEIGHT))
            if len(self._previews) > 256:
                self._previews.clear()
            self._previews[key] = task
        return await asyncio.shield(task)

    async def filmstrip(self, path: str, *, out_dir: str | None = None) -> Filmstrip:
        """The trimmer's filmstrip of `path` (media.filmstrip): one ffmpeg pass, made once per
        file; requests for the same file share the run."""
        info = await self._probe(path, "video")
        assert isinstance(info, VideoInfo)
        key = ("strip", os.path.abspath(path), info.bytes)
        task = self._strips.get(key)
        if task is None or (task.done() and (task.cancelled() or task.exception())):
            where = out_dir or str(self.files.temp_dir("previews"))
            task = asyncio.ensure_future(self.media.run(filmstrip.make_filmstrip, info, where))
            if len(self._strips) > 64:
                self._strips.clear()
            self._strips[key] = task
        return await asyncio.shield(task)

    async def fix_image(
        self, path: str, *, aspect_fix: str = "pad", out_dir: str | None = None
    ) -> tuple[UploadCheck, list[Fix]]:
        info = await self._probe(path, "image")
        assert isinstance(info, ImageInfo)
        where = out_dir or str(self.files.temp_dir("fixed"))
        os.makedirs(where, exist_ok=True)
        new_path, fixes = await self.media.run(fix.fix_image, info, where, aspect_fix=aspect_fix)
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
        where = out_dir or str(self.files.temp_dir("fixed"))
        os.makedirs(where, exist_ok=True)
        new_path, fixes = await self.media.run(
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
            bounds.check_spec(spec)  # too many files or too large ones: said before any probe
            counts = _prompt_counts(spec.prompt)
            job = await self._request(spec)
        except InputError as exc:
            text = spec.prompt if isinstance(spec.prompt, str) else ""
            counts = _prompt_counts(text)
            problems = exc.problems or (Problem("file", exc.message),)
            return Preflight(problems=tuple(problems), tokens=(), cost_usd=0.0,
                             cost_text="Estimated cost: fix the files first",
                             prompt=normalize_tokens(text), chars_typed=counts["chars_typed"],
                             chars_sent=counts["chars_sent"])
        # With auto_fix the run cuts the trim window, so the checks and the cost are the
        # window's: a 12 s clip with the window 1.0-6.0 s is a 5 s clip (issue #12).
        window = (spec.video_start, spec.video_length) if spec.auto_fix else None
        problems = tuple(rules.validate(job, window=window))
        billed = job
        notes: tuple[tuple[str, str], ...] = ()
        video = job.reference_video
        if video is not None and rules.window_cuts(video, window):
            start, end = rules.trim_window(video.duration, spec.video_start, spec.video_length)
            billed = replace(job, reference_video=replace(video, duration=end - start))
            notes = (("reference_video", rules.window_note(video, window) or ""),)
        return Preflight(
            problems=problems, tokens=tuple(token_labels(job)), cost_usd=estimate_cost(billed),
            cost_text=describe_cost(billed), prompt=normalize_tokens(spec.prompt),
            notes=notes, chars_typed=counts["chars_typed"], chars_sent=counts["chars_sent"])

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
            path, done = await self.media.run(
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

                path, done = await self.media.run(
                    fix.fix_video, video, where, start=spec.video_start,
                    length=spec.video_length, on_progress=on_frac)
                fixes.extend(done)
                new_v = await self._probe(path, "video")
                assert isinstance(new_v, VideoInfo)
                video = new_v
        return replace(job, start_image=start, end_image=end, reference_images=refs,
                       reference_video=video), fixes

    # -- the run ---------------------------------------------------------------------------

    def start(self, spec: JobSpec, *, visitor_token: Secret | None, visitor_id: str,
              owner: str = "local", parent_id: str | None = None,
              takes: dict[str, Any] | None = None) -> RunHandle:
        """Start a run on the runner and return its handle at once.

        The run belongs to no page or connection: a reload, a closed tab or a caller that hangs
        up does not stop it; `cancel_run` (the Cancel button), our deadline or Cancel-After do.
        `takes` ({"group", "index", "of"}) marks one take of several of the same settings; it
        is kept in the run's metrics. Each take is its own run, admitted by the Guard alone.

        The run first waits in the Studio's line for a free slot (`kling_ui.runs.pool`), with a row
        in the library saying "queued", so a reloaded page finds it and its place is kept.
        Raises AccessError at once, with nothing kept, when the line is full, and StorageError
        when the disk has too little room for an output (checked again when the run starts).

        Cheap refusals come first (issue #20): too many files, a file too large, no sign-in, no
        quota left end the run at once, before it takes a place in line or opens a file, with
        nothing kept. The visitor's quota is reserved here at the run's most, so runs waiting
        in line count; the run settles it, and gives it back if it ends without a prediction.
        """
        disk.check_room(self.data_dir, self.min_free_bytes)
        run_id = new_run_id()
        try:
            reservation = self._reserve(spec, visitor_token=visitor_token, visitor_id=visitor_id)
        except KlingError as exc:
            refusal = exc

            async def refused(_handle: RunHandle) -> JobResult:
                raise refusal

            return self.runner.submit(run_id, refused, tab=spec.tab.value, owner=owner)
        began: list[bool] = []

        async def job(handle: RunHandle) -> JobResult:
            began.append(True)  # from here on, run() gives the reservation back if it must
            return await self.run(spec, visitor_token=visitor_token, visitor_id=visitor_id,
                                  owner=owner, on_progress=handle.report,
                                  cancel_event=handle.cancel_event, run_id=run_id,
                                  parent_id=parent_id, takes=takes, reservation=reservation)

        def settle(exc: BaseException) -> None:
            if reservation is not None and not began:  # ended in line: never ran
                self.guard.release(reservation)
            self._settle_queued(run_id, exc)

        try:  # the row first: the run may start (and fill it in) at once
            row = self._queued_row(run_id, spec, visitor_token=visitor_token, owner=owner,
                                   parent_id=parent_id)
            # Its admission too: a restart that finds it never run gives the quota back.
            self.library.create(replace(row, admission=reservation.admission)
                                if reservation is not None else row)
        except LibraryError as exc:  # the row is a nicety while it waits; the run goes on
            log.warning("could not journal queued run %s: %s", run_id, exc)
        try:
            return self.runner.submit(run_id, job, tab=spec.tab.value, owner=owner, queued=True,
                                      settle=settle)
        except AccessError as exc:  # the line is full: nothing is kept
            settle(exc)
            raise

    def _reserve(self, spec: JobSpec, *, visitor_token: Secret | None,
                 visitor_id: str) -> Reservation | None:
        """The cheap checks, then the visitor's quota reserved at the run's most (None with
        their own key). Raises InputError / AccessError; opens no file beyond one stat each."""
        bounds.check_spec(spec)
        if visitor_token:
            return None
        self.guard.check_sign_in(visitor_id)
        return self.guard.admit(visitor_id, bounds.max_cost(spec))

    def _queued_row(self, run_id: str, spec: JobSpec, *, visitor_token: Secret | None,
                    owner: str, parent_id: str | None) -> Run:
        """The row of a run waiting in line: what was asked, so the library lists it and a
        reloaded tab shows it (its inputs too); `run()` fills in the rest once it starts."""
        inputs: dict[str, Any] = {k: v for k, v in (
            ("start_image", spec.start_image), ("end_image", spec.end_image),
            ("reference_images", list(spec.reference_images)),
            ("source_video", spec.reference_video)) if v}
        return Run(id=run_id, owner=owner, tab=spec.tab.value, status=lib.QUEUED,
                   created_at=time.time(), prompt=spec.prompt,
                   prompt_sent=normalize_tokens(spec.prompt), settings=spec_settings(spec),
                   inputs=inputs, backend=self.backend_for(visitor_token),
                   key_kind="visitor" if visitor_token else "host", parent_id=parent_id,
                   log_line="Waiting in line for a free slot")

    def _settle_queued(self, run_id: str, exc: BaseException) -> None:
        """A run that ended before `run()` journaled it: cancelled in line (kept, as canceled),
        or refused by its checks or the host's limits (its row goes: such runs were never
        kept, and the page says why)."""
        row = self.library.get(run_id)
        if row is None or row.status != lib.QUEUED:
            return
        if isinstance(exc, PredictionError) and exc.status == "canceled":
            self.library.update(run_id, status=lib.CANCELED, error=CANCELED_IN_LINE,
                                log_line=CANCELED_IN_LINE)
            return
        self.library.update(run_id, status=lib.FAILED)
        self.library.delete(run_id)

    def handle(self, run_id: str) -> RunHandle | None:
        return self.runner.get(run_id)

    def cancel_run(self, run_id: str) -> bool:
        """Cancel a run in flight in this process; True when there was one to cancel."""
        handle = self.runner.get(run_id)
        if handle is None or handle.done:
            return False
        handle.cancel()
        return True

    async def run(
        self,
        spec: JobSpec,
        *,
        visitor_token: Secret | None,
        visitor_id: str,
        owner: str = "local",
        session_id: str | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        cancel_event: asyncio.Event | None = None,
        run_id: str | None = None,
        parent_id: str | None = None,
        takes: dict[str, Any] | None = None,
        reservation: Reservation | None = None,
    ) -> JobResult:
        """probe -> validate -> (fix) -> journal -> upload -> create -> wait -> download.

        `visitor_id` is who counts against the host's limits; `owner` whose library the run
        goes into. Raises InputError before anything is journaled or sent when the job cannot
        run as it is. The run's row is written before the paid request and updated after every
        step, so a restart can finish it (kling_ui.runs.resumer). `session_id` is accepted for
        callers of the old signature and no longer used: files belong to runs, not sessions.

        Cheap first (issue #20): counts, sizes, the sign-in and the visitor's quota, reserved at
        the run's most, before any probe (`reservation`, when `start` made it already); it is
        settled to the estimate once probed, and given back whenever the run ends without a
        prediction. Its media work runs in the bounded pool as the visitor's (kling_ui.hosting.bounds).
        """
        del session_id
        # A disk too full for the output: refused before any fix, upload or paid request.
        disk.check_room(self.data_dir, self.min_free_bytes)
        if reservation is None:
            reservation = self._reserve(spec, visitor_token=visitor_token, visitor_id=visitor_id)
        created: list[str] = []  # the prediction id, once Replicate has made one (and billed)
        try:
            with bounds.acting_for(visitor_id):
                return await self._run(
                    spec, visitor_token=visitor_token, owner=owner, on_progress=on_progress,
                    cancel_event=cancel_event, run_id=run_id, parent_id=parent_id, takes=takes,
                    reservation=reservation, created=created)
        except BaseException:
            if reservation is not None and not created:
                # Never reached Replicate as a paid run: give the visitor their run back. Once
                # a prediction exists it counts, even if the download fails afterwards.
                self.guard.release(reservation)
            raise

    async def _run(self, spec: JobSpec, *, visitor_token: Secret | None, owner: str,
                   on_progress: Callable[[Progress], None] | None,
                   cancel_event: asyncio.Event | None, run_id: str | None,
                   parent_id: str | None, takes: dict[str, Any] | None,
                   reservation: Reservation | None, created: list[str]) -> JobResult:
        """`run` once its reservation is made: `created` gets the prediction's id."""
        t0 = self._clock()

        def emit(p: Progress) -> None:
            if on_progress is not None:
                on_progress(replace(p, elapsed=p.elapsed or self._clock() - t0))

        emit(Progress(stage="checking", log_line="Checking inputs"))
        job = await self._request(spec)
        problems = rules.validate(job)
        fixes: list[Fix] = []
        wants_window = bool(job.reference_video) and (
            spec.video_start > 0 or spec.video_length is not None)
        if spec.auto_fix and (wants_window or any(p.fixable for p in problems)):
            job, fixes = await self._doctor(spec, job, self.files.temp_dir("work"), emit)
            problems = rules.validate(job)
        if rules.errors_of(problems):
            raise InputError.from_problems(problems)
        warnings = tuple(f"{p.field}: {p.message}" for p in problems if not p.is_error)

        cost = estimate_cost(job)
        if reservation is not None:
            reservation = self.guard.settle(reservation, cost)
        client, token, backend = await self._route(visitor_token)
        run_id = run_id or new_run_id()
        journaled = False
        uploaded: list[UploadedFile] = []
        deleting: list[asyncio.Future[int]] = []  # uploads deleted while the output downloads
        try:
            job, inputs = await asyncio.to_thread(self.files.keep_inputs, run_id, job, spec)
            original, label = _original_of(job)
            self._journal_start(Run(
                id=run_id, owner=owner, tab=spec.tab.value, status=lib.PREPARING,
                created_at=time.time(), prompt=spec.prompt,
                prompt_sent=normalize_tokens(spec.prompt), settings=spec_settings(spec),
                inputs=inputs, backend=backend, key_kind="visitor" if visitor_token else "host",
                estimated_cost=cost, original=original.path if original else None,
                original_label=label, original_facts=_facts(original), warnings=list(warnings),
                fixes=[{"field": f.field, "action": f.action, "detail": f.detail} for f in fixes],
                parent_id=parent_id, log_line="Uploading inputs",
                metrics={"takes": dict(takes)} if takes else {},
                admission=reservation.admission if reservation is not None else None))
            journaled = True
            emit(Progress(stage="uploading", log_line="Uploading inputs"))
            paths = [i.path for i in job.images]
            if job.reference_video is not None:
                paths.append(job.reference_video.path)
            urls, uploaded = await client.input_urls(paths, token)
            body = build_input(job, urls)
            # The exact body, before the create: after a restart it identifies the prediction.
            self.library.update(run_id, request=body, input_sent=shorten_urls(body),
                                status=lib.STARTING, log_line="Creating the prediction")
            if cancel_event is not None and cancel_event.is_set():
                raise PredictionError("Cancelled before the job started; nothing was billed.",
                                      prediction_id=None, status="canceled")
            emit(Progress(stage="starting", log_line="Creating the prediction"))

            def on_created(p: Prediction) -> None:
                created.append(p.id)
                self.library.update(run_id, prediction_id=p.id,
                                    status=lib.STARTING if p.status == "starting" else lib.PROCESSING)

            journal_output = self._journal_output(run_id)

            def on_finished(p: Prediction) -> None:
                journal_output(p)
                deleting.append(asyncio.ensure_future(client.delete_files(uploaded, token)))

            prediction, _ = await client.run(
                body, token, dest=str(self.library.run_dir(run_id) / "output.mp4"),
                on_update=self._journal(run_id, emit), cancel_event=cancel_event,
                deadline=self.settings.job_timeout, on_created=on_created,
                expected_seconds=self.expected_predict_time(spec.tab),
                on_finished=on_finished,
            )
            self.predict_times.add(spec.tab.value, prediction.predict_time)
        except BaseException as exc:
            if journaled and created and isinstance(exc, StorageError):
                raise self._wait_for_disk(run_id, exc) from exc  # paid for: never lost
            if journaled:
                self._journal_failure(run_id, exc, created)
            raise
        finally:
            if deleting:
                await deleting[0]
            else:
                await client.delete_files(uploaded, token)
        return await self._finish(run_id, prediction, emit)

    def _journal_start(self, run: Run) -> None:
        """Journal a run about to upload: a new row, or its queued row filled in (it keeps the
        time it joined the line, so the library's order stays the order runs were asked for)."""
        if self.library.get(run.id) is None:
            self.library.create(run)
            return
        skip = {"id", "created_at", "updated_at", "finished_at", "worker", "lease_until"}
        self.library.update(run.id, **{f.name: getattr(run, f.name) for f in fields(Run)
                                       if f.name not in skip})

    def _journal(self, run_id: str, emit: Callable[[Progress], None]) -> Callable[[Progress], None]:
        """An on_update that shows progress and writes it to the run's row (status changes at
        once, the rest at most every PROGRESS_WRITE_EVERY seconds)."""
        last: dict[str, Any] = {"status": None, "at": 0.0}

        def on_update(p: Progress) -> None:
            emit(p)
            if p.stage in ("downloading", "done") or p.status == "succeeded":
                status = lib.DOWNLOADING
            elif p.status in (lib.STARTING, lib.PROCESSING):
                status = p.status
            else:
                return
            now = time.monotonic()
            if status == last["status"] and now - last["at"] < PROGRESS_WRITE_EVERY:
                return
            last.update(status=status, at=now)
            try:
                self.library.update(run_id, status=status, log_line=p.log_line or "",
                                    fraction=p.fraction)
            except LibraryError as exc:  # progress is a nicety; the run goes on
                log.warning("could not journal progress of run %s: %s", run_id, exc)

        return on_update

    def _journal_failure(self, run_id: str, exc: BaseException, created: list[str]) -> None:
        """Write how a run ended badly; what the user sees in the library."""
        if isinstance(exc, PredictionError):
            status = exc.status if exc.status in lib.TERMINAL else lib.FAILED
            message = exc.message
        elif isinstance(exc, asyncio.CancelledError):
            status = lib.CANCELED if created else lib.FAILED
            message = ("Stopped; the prediction was cancelled on Replicate." if created else
                       "Stopped before it reached Replicate; nothing was billed.")
        elif isinstance(exc, KlingError):
            status, message = lib.FAILED, exc.message
        else:
            status, message = lib.FAILED, "The Studio hit an unexpected error (see the server log)."
        try:
            self.library.update(run_id, status=status, error=message, log_line=message)
        except LibraryError as write_error:
            log.error("could not journal the end of run %s: %s", run_id, write_error)

    # -- a disk too full for a paid output (kling_ui.hosting.disk; the resumer fetches it later) -------

    @property
    def min_free_bytes(self) -> int:
        """KLING_MIN_FREE_MB in bytes: the free space a run needs before it may start."""
        return int(self.settings.min_free_mb * disk.MB)

    def _journal_output(self, run_id: str) -> Callable[[Prediction], None]:
        """An on_finished that journals where a succeeded prediction's output is, and until
        when Replicate keeps it, before the download: what a full disk needs to fetch it again."""

        def on_finished(p: Prediction) -> None:
            url = p.output[0] if isinstance(p.output, (list, tuple)) and p.output else p.output
            if not isinstance(url, str) or url.startswith("data:"):
                return  # nothing to fetch again (a data: URI is in hand; no output: an error)
            try:
                self.library.update(run_id, output_url=url, predict_time=p.predict_time,
                                    output_until=disk.output_until(p.completed_at, time.time()))
            except LibraryError as exc:  # the download goes on; a restart still polls it
                log.warning("could not journal the output of run %s: %s", run_id, exc)

        return on_finished

    def _wait_for_disk(self, run_id: str, exc: StorageError) -> StorageError:
        """A paid output that could not be written: the run waits for disk space (its output
        URL is journaled) and the disk watch fetches it once there is room. Returns the error
        the visitor sees."""
        until = None
        with contextlib.suppress(LibraryError):
            run = self.library.get(run_id)
            until = run.output_until if run is not None else None
        log.warning("run %s: its paid output could not be saved in %s (%s); waiting for disk "
                    "space to fetch it again%s. Free some space.", run_id, self.data_dir,
                    exc.message, f" (until {time.ctime(until)})" if until else "")
        try:
            self.library.update(run_id, status=lib.WAITING_FOR_DISK, log_line=disk.WAITING,
                                error=None)
        except LibraryError as write_error:  # the row stays in flight: a restart resumes it
            log.error("could not journal that run %s waits for disk space: %s", run_id,
                      write_error)
        self.disk_watch.poke()
        return StorageError(disk.WAITING)

    def expire_disk_wait(self, run: Run) -> bool:
        """End a run that waits for disk space once Replicate no longer keeps its output
        (its hour is over); True when it ended so."""
        if run.output_until is None or time.time() < run.output_until:
            return False
        log.warning("run %s: its output expired on Replicate before there was disk space to "
                    "save it", run.id)
        self.library.update(run.id, status=lib.FAILED, error=disk.EXPIRED, log_line=disk.EXPIRED)
        return True

    def has_room(self) -> bool:
        """Whether the data folder's disk has KLING_MIN_FREE_MB free."""
        return disk.has_room(self.data_dir, self.min_free_bytes)

    async def _fetch_saved(self, run: Run, visitor_token: Secret | None,
                           emit: Callable[[Progress], None]) -> JobResult | None:
        """Save the output of a run that waits for disk space, from its journaled URL: no key
        needed (delivery hosts never get one), no poll, never a second prediction. None while
        there is still no room, or when the output expired (written to its row)."""
        assert run.output_url is not None and run.prediction_id is not None
        if self.expire_disk_wait(run):
            return None
        if not self.has_room():
            self.disk_watch.poke()
            return None
        route = await self._route_run(run, visitor_token)
        client = route[0] if route is not None else await self._client_for(self.settings.base_url)
        token = route[1] if route is not None else None
        emit(Progress(stage="downloading", log_line="Saving the output now that there is room",
                      prediction_id=run.prediction_id))
        self.library.update(run.id, log_line="Saving the output now that there is room")
        try:
            await client.download_output(run.output_url,
                                         self.library.run_dir(run.id) / "output.mp4", token)
        except StorageError as exc:
            raise self._wait_for_disk(run.id, exc) from exc
        except NotFoundError:
            self.library.update(run.id, status=lib.FAILED, error=disk.EXPIRED,
                                log_line=disk.EXPIRED)
            return None
        except BaseException as exc:
            self._journal_failure(run.id, exc, [run.prediction_id])
            raise
        prediction = Prediction(id=run.prediction_id, status="succeeded",
                                predict_time=run.predict_time)
        return await self._finish(run.id, prediction, emit)

    def give_back_quota(self, run: Run) -> None:
        """A run that ended unbilled no longer counts against its visitor's runs or the day's
        budget: its ledger admission goes."""
        if run.admission is None:
            return
        self.guard.ledger.release(run.admission)
        self.library.update(run.id, admission=None)

    async def _finish(self, run_id: str, prediction: Prediction,
                      emit: Callable[[Progress], None]) -> JobResult:
        """The output is on disk: poster, settings tag, facts; the run is done."""
        emit(Progress(stage="downloading", status=prediction.status, log_line="Checking the output",
                      prediction_id=prediction.id))
        folder = self.library.run_dir(run_id)
        output = folder / "output.mp4"
        run = self.library.get(run_id)
        if run is not None and output.is_file():
            output = self._name_output(run, output)
        facts: dict[str, Any] = {}
        poster: str | None = None
        try:
            info = await self._probe(str(output), "video")
            assert isinstance(info, VideoInfo)
            facts = _facts(info)
            poster = await self.media.run(preview.make_poster, info, str(folder),
                                             at=info.duration / 2, dest=str(folder / "poster.jpg"))
        except KlingError as exc:  # the paid file is kept whatever it holds; say what failed
            log.warning("run %s: the output could not be checked: %s", run_id, exc)
        if run is not None:
            try:
                await self.media.run(tags.write_settings_tag, output, _tag_of(run, prediction))
            except KlingError as exc:
                log.warning("run %s: settings not written into the video: %s", run_id, exc)
        self.library.update(run_id, prediction_id=prediction.id, output=str(output),
                            poster=poster, output_facts=facts)
        metrics, warnings = await self._measure(run_id, emit)
        self.library.update(run_id, status=lib.SUCCEEDED, predict_time=prediction.predict_time,
                            metrics=metrics, warnings=warnings, log_line="Done", fraction=1.0)
        done = self.library.get(run_id)
        assert done is not None
        emit(Progress(stage="done", status=prediction.status, log_line="Done",
                      prediction_id=prediction.id, fraction=1.0))
        return result_from_run(done)

    def _download_name(self, run: Run, tag: str = "", *, keep: str | None = None) -> str:
        """The file name a person downloads a run's output as: `edit-crown-on-girl-2026-11-25.mp4`
        (tab, the prompt's first words, the day it was made), `-2` when an earlier run has it.
        `keep` is a name this run may keep (its own). Call under `_NAMING`."""
        stem = naming.download_stem(run.tab, run.prompt, date.fromtimestamp(run.created_at), tag)
        return naming.unique_name(stem, ".mp4", self.library.output_names(stem) - {keep})

    def _name_output(self, run: Run, output: Path) -> Path:
        """Give a downloaded output its download name. The run's own file carries it (not a
        copy or a link made at download time): the tab's Download, the Library's, the API, the
        export zip and files made from it (splices, comparisons) all see the same name, and
        there is one file per run to count and prune. The name is written in the same step, so
        a second run ending at once sees it taken."""
        own = os.path.basename(run.output) if run.output else None
        with _NAMING:
            named = output.with_name(self._download_name(run, keep=own))
            os.replace(output, named)
            self.library.update(run.id, output=str(named))
        return named

    async def _measure(self, run_id: str, emit: Callable[[Progress], None]
                       ) -> tuple[dict[str, Any], list[str]]:
        """The motion report of a run with a video original (issue #13), kept with the run: how
        closely the output follows the original's motion. One that cannot be made is a warning
        on the run, never a failure: the output is already paid for."""
        run = self.library.get(run_id)
        assert run is not None
        result = result_from_run(run)
        if result.original_facts.get("kind") != "video":
            return run.metrics, run.warnings
        emit(Progress(stage="downloading", log_line="Measuring the motion"))
        measured = await Finisher(self.files.tmp).with_motion(result)
        metrics = {**run.metrics, **{k: v for k, v in measured.extra.items()
                                     if k in ("motion", "motion_plot")}}
        return metrics, list(measured.warnings)

    # -- resuming (kling_ui.runs.resumer decides what; this does it) ----------------------------

    async def _route_run(self, run: Run, visitor_token: Secret | None
                         ) -> tuple[ReplicateClient, Secret, str] | None:
        """The client and key a journaled run was made with, or None when that key is gone."""
        if run.backend == "simulator":
            return await self._route(None) if self.backend_for(None) == "simulator" else (
                await self._client_for(await asyncio.to_thread(self.simulator_url)),
                SIMULATOR_TOKEN, "simulator")
        token = visitor_token if run.key_kind == "visitor" else self.settings.token
        if token is None:
            return None
        return await self._client_for(self.settings.base_url), token, "replicate"

    async def _client_for(self, base: str) -> ReplicateClient:
        """The client for `base` on this event loop (httpx clients are bound to the loop they
        are used in: one per loop and backend)."""
        key = (id(asyncio.get_running_loop()), base)
        client = self._clients.get(key)
        if client is None:
            client = ReplicateClient(base, model=self.settings.model, transport=self._transport,
                                     timeout=self._timeout)
            self._clients[key] = client
        return client

    async def resume(
        self,
        run: Run,
        *,
        visitor_token: Secret | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        cancel_event: asyncio.Event | None = None,
    ) -> JobResult | None:
        """Finish a run a restart interrupted: find or poll its one prediction, save the output.

        Never creates a prediction. Returns the result, or None when the run ended otherwise
        (written to its row: nothing was billed, the output is gone, the key is needed).
        """
        t0 = self._clock()

        def emit(p: Progress) -> None:
            if on_progress is not None:
                on_progress(replace(p, elapsed=p.elapsed or self._clock() - t0))

        if run.status == lib.WAITING_FOR_DISK and run.output_url and run.prediction_id:
            return await self._fetch_saved(run, visitor_token, emit)
        route = await self._route_run(run, visitor_token)
        if route is None:
            self.library.update(run.id, status=lib.WAITING_FOR_KEY, log_line=(
                "Waiting for the key this run was made with: enter it to fetch the result."))
            return None
        client, token, _backend = route
        emit(Progress(stage="processing", log_line="Resuming after a restart",
                      prediction_id=run.prediction_id))
        try:
            if run.prediction_id is None:
                found = await self._find_journaled(client, token, run)
                if found is None:
                    self.library.update(run.id, status=lib.FAILED, error=(
                        "The Studio stopped before this run reached Replicate, and no prediction "
                        "was made for it, so nothing was billed. Run it again."))
                    self.give_back_quota(run)
                    return None
                prediction = found
                self.library.update(run.id, prediction_id=found.id, status=lib.PROCESSING)
            else:
                prediction = await client.get_prediction(run.prediction_id, token)
        except NotFoundError:
            why = ("The offline simulator restarted with the Studio, so this simulated run was "
                   "lost (nothing was billed). Run it again." if run.backend == "simulator" else
                   "Replicate no longer has this prediction (outputs go about an hour after a "
                   "run), so its video cannot be fetched.")
            self.library.update(run.id, status=lib.LOST, error=why, log_line=why)
            if run.backend == "simulator":
                self.give_back_quota(run)  # nothing was billed, and nothing came of it
            return None
        age = time.time() - run.created_at
        deadline = max(RESUME_MIN_DEADLINE, self.settings.job_timeout - age)
        try:
            prediction, _ = await client.follow(
                prediction, token, dest=str(self.library.run_dir(run.id) / "output.mp4"),
                on_update=self._journal(run.id, emit), cancel_event=cancel_event,
                deadline=deadline, on_finished=self._journal_output(run.id))
        except StorageError as exc:
            raise self._wait_for_disk(run.id, exc) from exc
        except BaseException as exc:
            self._journal_failure(run.id, exc, [prediction.id])
            raise
        return await self._finish(run.id, prediction, emit)

    async def _find_journaled(self, client: ReplicateClient, token: Secret, run: Run
                              ) -> Prediction | None:
        """The prediction a journaled create made before the Studio stopped, if any."""
        if run.request is None:
            return None  # stopped before the body existed: nothing can have been created
        cause = KlingError("The Studio stopped while starting this run.")
        return await client._find_created(run.request, token, since=run.created_at, cause=cause)

    async def keep_derived(self, parent_id: str, path: str, *, original: str | None,
                           original_label: str, what: str, note: str) -> JobResult:
        """Keep a file made from a run (a splice back, later a sequence) as a library run of its
        own: its own folder, poster and settings tag, the run it came from as its parent, no
        prediction and no cost. Returns it as the result panel shows it."""
        parent = self.library.get(parent_id)
        if parent is None:
            raise InputError("The run this was made from is no longer in the library.")
        run_id = new_run_id()
        folder = self.library.run_dir(run_id)
        with _NAMING:  # taken for good when the row is created below (a rare race: a "-2" twin)
            output = folder / self._download_name(parent, DERIVED_TAGS.get(what, what))
        await asyncio.to_thread(shutil.copyfile, path, output)
        info = await self._probe(str(output), "video")
        assert isinstance(info, VideoInfo)
        poster = await self.media.run(preview.make_poster, info, str(folder),
                                         at=info.duration / 2, dest=str(folder / "poster.jpg"))
        kept_original = None
        if original and os.path.isfile(original):
            kept_original = str(folder / ("original" + Path(original).suffix.lower()))
            await asyncio.to_thread(shutil.copyfile, original, kept_original)
        settings = {**parent.settings, "derived": what}
        run = self.library.create(Run(
            id=run_id, owner=parent.owner, tab=parent.tab, status=lib.SUCCEEDED,
            created_at=time.time(), prompt=f"{note} — {parent.prompt}",
            prompt_sent=parent.prompt_sent, settings=settings, inputs=dict(parent.inputs),
            backend=parent.backend, key_kind=parent.key_kind, estimated_cost=0.0,
            output=str(output), poster=poster, original=kept_original,
            original_label=original_label, output_facts=_facts(info),
            original_facts=parent.original_facts if kept_original is None else _facts(
                await self._probe(kept_original, "video")),
            parent_id=parent.id, log_line=note))
        with contextlib.suppress(KlingError):
            await self.media.run(tags.write_settings_tag, output, {
                "run_id": run.id, "tab": run.tab, "prompt": parent.prompt,
                "settings": parent.settings, "derived": what, "parent_id": parent.id})
        self.library.update(run.id, status=lib.SUCCEEDED)
        done = self.library.get(run.id)
        assert done is not None
        return result_from_run(done)

    async def spec_from_video(self, path: str) -> tuple[JobSpec, str | None]:
        """The settings a Studio video carries in its comment tag, and the run it came from.

        Raises InputError when the file carries none (not made by the Studio, or re-encoded).
        """
        try:
            tag = await self.media.run(tags.read_settings_tag, path)
        except KlingError as exc:
            raise InputError(f"{exc.message} Drop an MP4 that the Studio saved.") from exc
        settings = (tag or {}).get("settings")
        if not isinstance(settings, dict) or settings.get("tab") not in {t.value for t in Tab}:
            raise InputError("This video carries no Studio settings (it was not saved by the "
                             "Studio, or it was re-encoded since). Drop an MP4 the Studio saved.")
        known = {f.name for f in fields(JobSpec)} - {"tab", "start_image", "end_image",
                                                      "reference_images", "reference_video"}
        values = {k: v for k, v in settings.items() if k in known}
        spec = JobSpec(tab=Tab(settings["tab"]), **values)
        run_id = (tag or {}).get("run_id")
        return spec, str(run_id) if run_id else None

    def code_snippets(self, spec: JobSpec) -> tuple[str, str]:
        """The same request as Python (official client) and cURL, with the key as a placeholder."""
        return snippets(spec, self.settings.model)


def _tag_of(run: Run, prediction: Prediction) -> dict[str, Any]:
    """What goes into the output's comment tag: enough to restore the run's settings."""
    return {"run_id": run.id, "tab": run.tab, "prompt": run.prompt, "settings": run.settings,
            "prediction_id": prediction.id, "created_at": run.created_at}
