"""What happens to a result after the run: motion report, splice back, comparison export (#13).

The Studio runs one job; this module takes what came out of it further. It does not import
gradio. Every function probes its files first (a file that is not a video is refused with the
prober's own clear message, prefixed with the parameter's name), checks the options, then runs
the blocking media work in the bounded media pool (`bounds.media_pool`) so the event loop every
visitor shares stays free and one visitor can slow only themselves.
Files are written under `<data dir>/finish` unless the caller names a folder (the UI and the API
use the session's folder, so they go when the session ends).
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..core.errors import InputError, KlingError
from ..core.jobs import JobResult
from ..core.models import ImageInfo, Tab, VideoInfo
from ..core.naming import original_poster_of
from ..hosting.bounds import media_pool
from ..media import comparison, motion, motion_plot, splice
from ..media.paths import out_path
from ..media.preview import make_poster
from ..media.probe import probe_image, probe_video

log = logging.getLogger(__name__)

LAYOUTS = comparison.LAYOUTS
EXPORT_AUDIO = comparison.AUDIO_CHOICES
SPLICE_AUDIO = splice.AUDIO_CHOICES


def _choice(value: Any, choices: tuple[str, ...], name: str) -> str:
    text = str(value or "").strip()
    if text not in choices:
        raise InputError(f"{name} must be one of {', '.join(choices)} (got {value!r}).")
    return text


def _seconds(value: Any, name: str, *, default: float | None = None) -> float:
    if value in (None, "") and default is not None:
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number of seconds (got {value!r}).") from None
    if not math.isfinite(number):
        raise InputError(f"{name} must be a number of seconds (got {value!r}).")
    return number


def _require(path: str | None, name: str) -> str:
    if not path:
        raise InputError(f"{name}: no file was given. Upload a video.")
    if not os.path.isfile(path):
        raise InputError(f"{name}: the file is gone (files are kept for a limited time). "
                         "Upload it again.")
    return path


async def probe_clip(path: str | None, name: str) -> VideoInfo:
    """The video at `path`, or InputError "<name>: <why it is not a usable video>"."""
    try:
        return await media_pool().run(probe_video, _require(path, name))
    except InputError as exc:
        if exc.message.startswith(f"{name}:"):
            raise
        raise InputError(f"{name}: {exc.message}") from None


async def original_still(original: str) -> str:
    """The still of an original clip, from its middle as the output's poster is, kept beside
    it (naming.original_poster_of): made once, whole or not at all (the compare panel's A and
    the share page both show it). InputError when the clip cannot be read."""
    path = Path(original_poster_of(original))
    if not path.is_file():
        info = await probe_clip(original, "original")
        part = path.with_suffix(".part.jpg")
        await media_pool().run(make_poster, info, str(path.parent), at=info.duration / 2,
                               dest=str(part))
        os.replace(part, path)
    return str(path)


async def probe_still_or_clip(path: str | None, name: str) -> VideoInfo | ImageInfo:
    """A video, or an image (a start frame) when the file is one."""
    try:
        return await probe_clip(path, name)
    except InputError as video_error:
        try:
            return await media_pool().run(probe_image, str(path))
        except InputError:
            raise video_error from None


class Finisher:
    """Motion report, splice-back and comparison export for files on disk."""

    def __init__(self, data_dir: str | os.PathLike[str]) -> None:
        self.root = Path(data_dir) / "finish"

    def _where(self, out_dir: str | os.PathLike[str] | None) -> str:
        where = Path(out_dir) if out_dir else self.root
        where.mkdir(parents=True, exist_ok=True)
        return str(where)

    async def motion_report(self, original: str | None, output: str | None, *,
                            start: Any = 0.0, length: float | None = None,
                            out_dir: str | os.PathLike[str] | None = None
                            ) -> tuple[str, dict[str, Any]]:
        """(plot PNG, figures) comparing `output` with the original's window from `start`."""
        begin = _seconds(start, "start", default=0.0)
        orig = await probe_clip(original, "original")
        out = await probe_clip(output, "output")
        report = await media_pool().run(motion.measure_motion, orig, out, start=begin,
                                         length=length)
        plot = out_path(self._where(out_dir), out.path, "motion", ".png")
        await media_pool().run(motion_plot.plot_report, report, plot)
        return plot, report.figures()

    async def splice_back(self, original: str | None, edited: str | None, *, start: Any,
                          length: float | None = None, audio: str = "original",
                          crossfade: Any = 0.0, out_dir: str | os.PathLike[str] | None = None
                          ) -> str:
        """The original with [start, start + length) replaced by `edited`; the new MP4's path."""
        audio = _choice(audio, SPLICE_AUDIO, "audio")
        begin = _seconds(start, "start")
        fade = _seconds(crossfade, "crossfade", default=0.0)
        orig = await probe_clip(original, "original")
        edit = await probe_clip(edited, "edited")
        out = out_path(self._where(out_dir), orig.path, "spliced", ".mp4")
        try:
            return await media_pool().run(splice.splice_back, orig, edit, out, start=begin,
                                           length=length, audio=audio, crossfade=fade)
        except BaseException:
            Path(out).unlink(missing_ok=True)
            raise

    async def compare_export(self, original: str | None, output: str | None, *,
                             layout: str = "side_by_side", audio: str = "output",
                             stills: bool = True, start: Any = 0.0,
                             out_dir: str | os.PathLike[str] | None = None
                             ) -> tuple[str, str | None]:
        """(comparison MP4, stills sheet PNG or None) of `original` (video or image) from
        `start` s and `output`."""
        layout = _choice(layout, LAYOUTS, "layout")
        begin = _seconds(start, "start", default=0.0)
        audio = _choice(audio, EXPORT_AUDIO, "audio")
        orig = await probe_still_or_clip(original, "original")
        out = await probe_clip(output, "output")
        where = self._where(out_dir)
        video = out_path(where, out.path, f"compare-{layout}", ".mp4")
        try:
            await media_pool().run(comparison.export_comparison, orig, out, video,
                                    layout=layout, audio=audio, start=begin)
        except BaseException:
            Path(video).unlink(missing_ok=True)
            raise
        sheet = None
        if stills:
            sheet = out_path(where, out.path, "stills", ".png")
            await media_pool().run(comparison.stills_sheet, orig, out, sheet, start=begin)
        return video, sheet

    async def stills(self, original: str | None, output: str | None, *, start: Any = 0.0,
                     out_dir: str | os.PathLike[str] | None = None) -> str:
        """The before/after stills sheet alone."""
        begin = _seconds(start, "start", default=0.0)
        orig = await probe_still_or_clip(original, "original")
        out = await probe_clip(output, "output")
        sheet = out_path(self._where(out_dir), out.path, "stills", ".png")
        return await media_pool().run(comparison.stills_sheet, orig, out, sheet, start=begin)

    async def with_motion(self, result: JobResult) -> JobResult:
        """`result` with its motion report (figures under extra["motion"], the plot's path under
        extra["motion_plot"]) when its original is a video. A report that cannot be made is a
        warning on the run, never a failed run: the output is already paid for."""
        if result.original_facts.get("kind") != "video" or not result.original_path:
            return result
        if not compares_motion(result):
            return result  # a new shot (Next shot, Video reference): nothing to compare with
        try:
            # The original beside the result is the clip as sent: already cut to the window.
            plot, figures = await self.motion_report(
                result.original_path, result.output_path,
                out_dir=os.path.dirname(result.output_path))
        except KlingError as exc:
            log.info("no motion report for %s: %s", result.prediction_id, exc.message)
            return replace(result, warnings=(*result.warnings, f"motion report: {exc.message}"))
        return replace(result, extra={**result.extra, "motion": figures, "motion_plot": plot})


def compares_motion(result: JobResult) -> bool:
    """Only an edit (`video_reference_type=base`) is the same shot as its original, so only its
    motion is compared (issue #24): a Video reference or Next shot run makes a new shot, whose
    "motion kept" score would mean nothing."""
    return result.spec is None or result.spec.tab is Tab.EDIT


async def trimmed_window(result: JobResult) -> tuple[str, float, float] | None:
    """(the full clip the user uploaded, window start, window length) when the run was cut
    from a longer clip; None when the whole clip was sent (nothing to splice back into)."""
    spec = result.spec
    if spec is None or not spec.reference_video or result.original_facts.get("kind") != "video":
        return None
    sent = float(result.original_facts.get("duration") or 0.0)
    try:
        full = (await probe_clip(spec.reference_video, "reference_video")).duration
    except KlingError:
        return None
    if full - sent < 0.2:
        return None
    return spec.reference_video, spec.video_start, sent
