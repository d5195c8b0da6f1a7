"""Checking inputs: what an upload really is, what is wrong with it, and the doctor's fixes.

Probes are cached per file (path, size, mtime); previews and filmstrips are made once per file
and window, requests for the same one sharing the ffmpeg run. All media work runs in the bounded
media pool (`hosting.bounds`) as the calling visitor's. `preflight` says every problem, the
tokens and the cost without raising; `request` and `doctor` are the run's first steps. Part of
the `Studio` (runs.service); no gradio.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..core import rules
from ..core.errors import (
    InputError,
    KlingError,
)
from ..core.jobs import JobSpec, Preflight, UploadCheck
from ..core.models import Fix, ImageInfo, JobRequest, Problem, Progress, VideoInfo
from ..core.pricing import billed_seconds, describe_cost, estimate_cost
from ..core.prompt import normalize_tokens, token_labels
from ..hosting import bounds
from ..media import filmstrip, fix, preview, probe
from ..media.filmstrip import Filmstrip
from .files import Files


def _prompt_counts(prompt: str) -> dict[str, int]:
    typed, sent = rules.prompt_lengths(prompt)
    return {"chars_typed": typed, "chars_sent": sent}


# A run's fix waiting behind other media work (models.STEP_STAGES: "fixing").
MEDIA_WAIT = "Waiting for the machine: other video work is running"
# The fields that hold files (a problem's `field` may carry an index: "reference_images[2]").
_FILE_FIELDS = ("start_image", "end_image", "reference_images", "reference_video")


def _unpriced(problems: tuple[Problem, ...], tokens: tuple[tuple[str, str], ...],
              prompt: str) -> Preflight:
    """The checks of a run whose files must be fixed first: no price yet."""
    counts = _prompt_counts(prompt)
    return Preflight(problems=problems, tokens=tokens, cost_usd=0.0,
                     cost_text="Estimated cost: fix the files first",
                     prompt=normalize_tokens(prompt), chars_typed=counts["chars_typed"],
                     chars_sent=counts["chars_sent"])


class Checks:
    """Probe, check, preview and fix uploads; a spec's preflight."""

    def __init__(self, media: bounds.MediaPool, files: Files) -> None:
        self.media = media
        self.files = files
        self._probe_cache: dict[tuple[str, int, int], ImageInfo | VideoInfo] = {}
        self._probing: dict[tuple[tuple[str, int, int], str], asyncio.Task[Any]] = {}
        self._previews: dict[tuple[Any, ...], asyncio.Future[str]] = {}
        self._strips: dict[tuple[str, str, int], asyncio.Future[Filmstrip]] = {}

    async def probe(self, path: str, kind: str) -> ImageInfo | VideoInfo:
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
        # Callers at the same moment share one probe (a new clip's card and its filmstrip
        # both ask), as previews and filmstrips share their runs; only on the loop that made
        # it (the runner's loop probes too, and a task is bound to its loop).
        loop = asyncio.get_running_loop()
        task = self._probing.get((key, kind))
        if task is None or task.get_loop() is not loop:
            task = loop.create_task(self.media.run(
                probe.probe_image if kind == "image" else probe.probe_video, path))
            self._probing[(key, kind)] = task

            def done(t: asyncio.Task[Any], name: Any = (key, kind)) -> None:
                if self._probing.get(name) is t:
                    del self._probing[name]
                if not t.cancelled():
                    t.exception()  # retrieved: a caller that left must not leave a warning

            task.add_done_callback(done)
        info: ImageInfo | VideoInfo = await asyncio.shield(task)
        if len(self._probe_cache) > 512:
            self._probe_cache.clear()
        self._probe_cache[key] = info
        return info

    async def check_image(self, path: str, field: str = "image") -> UploadCheck:
        info = await self.probe(path, "image")
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
        info = await self.probe(path, "video")
        assert isinstance(info, VideoInfo)
        problems = tuple(rules.check_video(info))
        card = UploadCheck(path=path, info=info, problems=problems,
                           badge=preview.badge(info, problems))
        if preview.browser_playable(info):
            return replace(card, preview_path=path)  # the browser shows its own first frame
        # Card first, pictures later (issue #23): the poster of a 4K60 HEVC phone clip decodes
        # from its previous keyframe (6-29 s under load), so it is made after the card, by
        # `video_poster`, beside the preview.
        return replace(card, preview_pending=True)

    async def video_poster(self, path: str, *, out_dir: str | None = None) -> str | None:
        """A JPEG still of the clip for the card's player, once per clip: its first frame (a
        keyframe: no decode back from the middle). None when it cannot be made."""
        key = ("poster", os.path.abspath(path))
        task = self._previews.get(key)
        if task is None or (task.done() and (task.cancelled() or task.exception())):
            info = await self.probe(path, "video")
            assert isinstance(info, VideoInfo)
            where = out_dir or str(self.files.temp_dir("previews"))
            task = asyncio.ensure_future(self.media.run(
                preview.make_poster, info, where, at=min(0.5, info.duration / 2), max_side=720))
            self._previews[key] = task
        with contextlib.suppress(KlingError):
            return str(await asyncio.shield(task))
        return None

    async def video_preview(self, path: str, *, start: float = 0.0, length: float | None = None,
                            first_part: bool = False, out_dir: str | None = None) -> str:
        """A low-resolution H.264 preview of the window [start, start + length] of `path`.

        With `first_part`, only its first FIRST_PART_SECONDS (ready in a few seconds even for
        4K60 HEVC), so the card plays something while the whole window is made. Requests for
        the same file and window share one ffmpeg run.
        """
        info = await self.probe(path, "video")
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
        info = await self.probe(path, "video")
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
        info = await self.probe(path, "image")
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
        info = await self.probe(path, "video")
        assert isinstance(info, VideoInfo)
        where = out_dir or str(self.files.temp_dir("fixed"))
        os.makedirs(where, exist_ok=True)
        new_path, fixes = await self.media.run(
            fix.fix_video, info, where, start=start, length=length, on_progress=on_progress)
        return await self.check_video(new_path, out_dir=where), list(fixes)

    async def request(self, spec: JobSpec) -> JobRequest:
        """Probe every file of `spec` (cached) into a JobRequest.

        Raises one InputError naming every unreadable file by its field, so the user sees all
        of them at once.
        """
        problems: list[Problem] = []

        async def probe_as(path: str | None, kind: str, field: str) -> Any:
            if not path:
                return None
            try:
                return await self.probe(path, kind)
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
            keep_original_sound=spec.keep_original_sound, model=spec.model,
            generate_audio=spec.generate_audio, shots=tuple(spec.shots),
        )

    async def preflight(self, spec: JobSpec) -> Preflight:
        """Every problem, the tokens and the cost, without raising for bad input.

        The cost follows the trim window when one is set, since that is what will be billed.
        """
        try:
            bounds.check_spec(spec)  # too many files or too large ones: said before any probe
            counts = _prompt_counts(spec.prompt)
            job = await self.request(spec)
        except InputError as exc:
            text = spec.prompt if isinstance(spec.prompt, str) else ""
            return _unpriced(tuple(exc.problems or (Problem("file", exc.message),)), (), text)
        # With auto_fix the run cuts the trim window, so the checks and the cost are the
        # window's: a 12 s clip with the window 1.0-6.0 s is a 5 s clip (issue #12).
        window = (spec.video_start, spec.video_length) if spec.auto_fix else None
        problems = tuple(rules.validate(job, window=window))
        if any(p.is_error and not p.fixable and p.field.startswith(_FILE_FIELDS)
               for p in problems):
            # A file Run cannot use or fix (a 1.5 s clip): no price for a run that cannot be
            # made (an outside look saw "≈ $0.34" beside it); a prompt still being typed
            # keeps its price.
            return _unpriced(problems, tuple(token_labels(job)), spec.prompt)
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
            notes=notes, billed_seconds=billed_seconds(billed), chars_typed=counts["chars_typed"], chars_sent=counts["chars_sent"])

    async def doctor(
        self, spec: JobSpec, job: JobRequest, out_dir: Path, emit: Callable[[Progress], None]
    ) -> tuple[JobRequest, list[Fix]]:
        """Apply the doctor's fix to every file with a fixable problem (or a trim window)."""
        fixes: list[Fix] = []
        where = str(out_dir / "fixed")
        os.makedirs(where, exist_ok=True)

        def waiting() -> None:
            # Behind other video work (this page's previews, or every worker busy): said, not
            # shown as a fix standing still. The fix's own progress follows when it starts.
            emit(Progress(log_line=MEDIA_WAIT))

        async def fix_img(info: ImageInfo | None, field: str, what: str) -> ImageInfo | None:
            if info is None or not any(p.fixable for p in rules.check_image(info, field)):
                return info
            emit(Progress(log_line=f"Fixing {what}"))  # what the person sees, not the field
            path, done = await self.media.run(
                fix.fix_image, info, where, aspect_fix=spec.aspect_fix, field=field,
                first=True, on_wait=waiting)
            fixes.extend(done)
            new = await self.probe(path, "image")
            assert isinstance(new, ImageInfo)
            return new

        start = await fix_img(job.start_image, "start_image", "the start frame")
        end = await fix_img(job.end_image, "end_image", "the end frame")
        refs = tuple([
            r for i, img in enumerate(job.reference_images, 1)
            if (r := await fix_img(img, f"reference_images[{i}]", f"reference image {i}")) is not None
        ])
        video = job.reference_video
        if video is not None:
            wants_window = spec.video_start > 0 or (
                spec.video_length is not None and spec.video_length < video.duration - 0.05)
            if wants_window or any(p.fixable for p in rules.check_video(video)):
                emit(Progress(log_line="Fixing the video (this can take a while)"))

                def on_frac(frac: float) -> None:
                    emit(Progress(fraction=frac, log_line=f"Fixing the video: {frac:.0%}"))

                path, done = await self.media.run(
                    fix.fix_video, video, where, start=spec.video_start,
                    length=spec.video_length, on_progress=on_frac, first=True, on_wait=waiting)
                fixes.extend(done)
                new_v = await self.probe(path, "video")
                assert isinstance(new_v, VideoInfo)
                video = new_v
        return replace(job, start_image=start, end_image=end, reference_images=refs,
                       reference_video=video), fixes
