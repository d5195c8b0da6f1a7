"""Frames and sequences: a frame out of a result, and results joined into one clip (issue #14).

The service-level face of `media.frames` and `media.join` for handlers and API endpoints: every
call is async and runs its media work in the bounded media pool (`bounds.media_pool`), so the
event loop keeps serving pages while ffmpeg works. Files go into the folder the caller names, by default under
the Studio's data folder (`frames/`, `sequences/`), where the Studio's sweeper removes them with
its other files once they are older than the configured age.

Bad input is an `InputError` naming the clip and what to do: a time outside the clip, fewer than
two clips or more than `MAX_CLIPS`, a file that is not a video, a crossfade longer than half the
shortest clip. This module does not import gradio.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import InputError
from ..core.models import VideoInfo
from ..hosting.bounds import media_pool
from ..media import frames, join, probe
from ..media.frames import FrameClock
from ..media.join import DEFAULT_FPS, MAX_CLIPS, JoinPlan
from ..media.paths import out_path

__all__ = ["DEFAULT_FPS", "MAX_CLIPS", "FrameClock", "GrabbedFrame", "JoinedClip", "Sequencer"]


@dataclass(frozen=True)
class GrabbedFrame:
    """A PNG of one frame: which frame it is, when it shows, and the clip's frame clock."""

    path: str
    index: int
    time: float
    clock: FrameClock


@dataclass(frozen=True)
class JoinedClip:
    """The joined MP4 and what it is (size, rate, frames per clip, crossfade)."""

    path: str
    plan: JoinPlan

    @property
    def duration(self) -> float:
        return self.plan.duration


def _video(path: str | None, what: str) -> VideoInfo:
    """Probe one clip; its refusal names which clip it was."""
    if not path:
        raise InputError(f"{what} is missing. Upload an MP4 or MOV clip.")
    if not os.path.isfile(path):
        raise InputError(f"{what} could not be found; upload it again.")
    try:
        return probe.probe_video(path)
    except InputError as exc:
        name = os.path.basename(path)
        raise InputError(f"{what} ({name}): {exc.message}", exc.problems) from exc


class Sequencer:
    """Grabs frames and joins clips into files under `data_dir` (or a folder the caller names)."""

    def __init__(self, data_dir: str | os.PathLike[str]) -> None:
        self.data_dir = Path(data_dir)

    # -- frames ----------------------------------------------------------------------------

    async def frame_clock(self, video: str) -> FrameClock:
        """The clip's frames in time (count, rate, duration), for a frame picker's step buttons:
        `clock.step(t, +1)` is the next frame's time, `clock.index_at(t)` the frame shown."""
        return await media_pool().run(lambda: frames.frame_clock(_video(video, "The video")))

    async def grab_frame(self, video: str, t: float, *,
                         out_dir: str | os.PathLike[str] | None = None) -> GrabbedFrame:
        """A PNG of the frame shown at `t` s, at the video's displayed size.

        A negative `t` counts from the end; -0.0 (and `t` equal to the duration) is the last
        frame. InputError when the file is not a video or `t` is outside the clip.
        """
        where = str(out_dir or self.data_dir / "frames")
        return await media_pool().run(self._grab, video, float(t), where)

    @staticmethod
    def _grab(video: str, t: float, where: str) -> GrabbedFrame:
        info = _video(video, "The video")
        clock = frames.frame_clock(info)
        index = clock.index_at(t)  # refuses a t outside the clip before any file is made
        path = out_path(where, video, f"frame{index}", ".png")
        try:
            frames.grab_frame(info, t, path, clock=clock)
        except BaseException:
            _remove(path)
            raise
        return GrabbedFrame(path=path, index=index, time=clock.time_of(index), clock=clock)

    # -- sequences -------------------------------------------------------------------------

    async def join_clips(
        self,
        clips: Sequence[str],
        *,
        crossfade: float = 0.0,
        size: tuple[int, int] | None = None,
        fps: float | None = DEFAULT_FPS,
        out_dir: str | os.PathLike[str] | None = None,
        on_progress: Callable[[float], None] | None = None,
        output: str = "first",
    ) -> JoinedClip:
        """Join `clips` in order into one MP4 (see `media.join`): `size` (w, h) if given, else
        the `output` choice of `join.SIZES` ("first" clip's, "largest", "1080p", "720p"), `fps`
        24 (None: the first clip's), `crossfade` in seconds (0: hard cuts).

        `on_progress(fraction)` is called from the worker thread. InputError for a join that
        cannot be done, naming the clip at fault.
        """
        clips = [c for c in clips if c]
        join.check_count(len(clips))  # before probing any file
        if output not in join.SIZES:
            join.output_size([], output)  # its refusal, before probing any file
        where = str(out_dir or self.data_dir / "sequences")
        return await media_pool().run(self._join, clips, float(crossfade), size, fps, where,
                                       on_progress, output)

    @staticmethod
    def _join(clips: list[str], crossfade: float, size: tuple[int, int] | None,
              fps: float | None, where: str,
              on_progress: Callable[[float], None] | None, output: str) -> JoinedClip:
        infos = [_video(p, f"Clip {i + 1}") for i, p in enumerate(clips)]
        durations = [frames.frame_clock(info).duration for info in infos]
        size = size or join.output_size(infos, output)
        join.plan_join(infos, durations, crossfade=crossfade, size=size, fps=fps)  # checks first
        path = out_path(where, clips[0], "sequence", ".mp4")
        try:
            plan = join.join_clips(infos, durations, path, crossfade=crossfade, size=size,
                                   fps=fps, on_progress=on_progress)
        except BaseException:
            _remove(path)
            raise
        return JoinedClip(path=path, plan=plan)


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass
