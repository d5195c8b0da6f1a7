"""Single frames out of a clip: where each frame sits in time, and grabbing one as a PNG.

`FrameClock` maps times to frame indices and back (frame i is shown from i/fps until the next
one), so a frame picker can step one frame at a time and always name a frame that exists.
`grab_frame` writes the frame shown at `t` as a PNG at the displayed size (ffmpeg applies the
rotation metadata when it decodes). A negative `t` counts from the end; -0.0, like `t` equal to
the duration, is the real last frame.

Exactness: ffmpeg's input seek (`-ss S -i`) decodes from the keyframe before S and drops frames
before S, shifting timestamps so S becomes 0. We seek a little before the wanted frame and keep
the first frame at or after half a frame before its nominal time, so rounded timestamps never
pick a neighbour. For the last frame every later frame overwrites the PNG, so the real last one
stays; when seeking that close to the end returns nothing, the final second is decoded instead
(`-sseof`).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass

from ..core.errors import InputError, MediaError
from ..core.models import VideoInfo
from .ffmpeg import run_ffmpeg

GRAB_TIMEOUT = 60.0  # one frame of a 10 s clip decodes in well under a second
# How far before the wanted frame we seek: decoding restarts at the keyframe before anyway,
# this only has to be more than the timestamp rounding of a container (a few ms).
SEEK_MARGIN = 0.25
# The fallback for the last frame decodes this much of the end (`-sseof`): more than a frame.
LAST_FRAME_WINDOW = 1.0
_TIME = re.compile(r"time=(\d+):(\d\d):(\d\d(?:\.\d+)?)")
_FRAMES = re.compile(r"frame=\s*(\d+)")


@dataclass(frozen=True)
class FrameClock:
    """Where the frames of one clip sit in time: `frames` frames at a constant `fps`.

    Frame i is shown from `time_of(i)` until `time_of(i + 1)`; the clip lasts `duration`.
    """

    fps: float
    frames: int

    @property
    def duration(self) -> float:
        return self.frames / self.fps if self.fps > 0 else 0.0

    @property
    def last(self) -> int:
        return max(0, self.frames - 1)

    def time_of(self, index: int) -> float:
        """The time (s) frame `index` starts showing; indices are clamped to the clip."""
        return min(max(0, index), self.last) / self.fps

    def resolve(self, t: float) -> float:
        """`t` as a time from the start: negative counts from the end (-0.0 is the end).

        InputError when `t` falls outside the clip.
        """
        if not math.isfinite(t):
            raise InputError(f"The time must be a number of seconds, not {t}.")
        from_end = t < 0 or math.copysign(1.0, t) < 0
        at = self.duration + t if from_end else t
        # A few microseconds of slack: times typed from a displayed duration are rounded.
        if at < -1e-6 or at > self.duration + 1e-6:
            raise InputError(
                f"t = {t:g} s is outside this clip, which lasts {self.duration:.3f} s "
                f"({self.frames} frames at {self.fps:g} fps). Pick a time from 0 to "
                f"{self.duration:.3f} s, or a negative time to count from the end "
                "(-0 is the last frame).")
        return min(max(0.0, at), self.duration)

    def index_at(self, t: float) -> int:
        """The index of the frame shown at `t` (see `resolve`); the end is the last frame."""
        at = self.resolve(t)
        # 1e-6 s of slack so 1/fps times, rounded for display, land on their own frame.
        return min(self.last, int(math.floor(at * self.fps + 1e-6)))

    def step(self, t: float, frames: int) -> float:
        """The start time of the frame `frames` away from the one shown at `t` (clamped)."""
        return self.time_of(self.index_at(t) + frames)


def shown_time(t: float) -> float:
    """A frame's start time as a picker shows it: rounded up to the millisecond (4.958333 s
    reads 4.959), which still falls inside that frame (frames last 16 ms or more), so
    `FrameClock.index_at` of the shown time is the same frame."""
    return math.ceil(t * 1000 - 1e-6) / 1000


def count_frames(path: str) -> tuple[int, float]:
    """(video frames, last timestamp in s) of the clip, read packet by packet, nothing decoded."""
    proc = run_ffmpeg(["-i", path, "-map", "0:V:0", "-c", "copy", "-f", "null", "-"],
                      check=False, timeout=GRAB_TIMEOUT, what="Counting the video's frames")
    frames = [int(m.group(1)) for m in _FRAMES.finditer(proc.stderr)]
    seconds = 0.0
    for m in _TIME.finditer(proc.stderr):
        h, mi, s = m.groups()
        seconds = int(h) * 3600 + int(mi) * 60 + float(s)
    return (frames[-1] if frames else 0), seconds


def frame_clock(info: VideoInfo) -> FrameClock:
    """The clip's frame clock: its frames counted, at its nominal frame rate.

    InputError when the clip holds no frames we can count (damaged, or not a real video).
    """
    frames, _ = count_frames(info.path)
    fps = info.fps
    if frames <= 0 and fps > 0:  # a raw stream without packets counted: trust the header
        frames = int(round(info.duration * fps))
    if frames <= 0 or fps <= 0:
        raise InputError("This video has no frames that can be read; it is probably damaged. "
                         "Upload the original file again.")
    return FrameClock(fps=fps, frames=frames)


# The displayed size: square pixels (a non-square sample aspect ratio is stretched out). Forcing
# rgb24 keeps a 10-bit source's PNG at 8 bits, like every other image the Studio hands Kling.
_PNG_FILTER = "scale=w='if(eq(sar,1),iw,trunc(iw*sar/2)*2)':h=ih,setsar=1,format=rgb24"


def grab_frame(info: VideoInfo, t: float, out_path: str, *,
               clock: FrameClock | None = None) -> str:
    """Write the frame shown at `t` seconds of the clip to `out_path` (a PNG); returns the path.

    A negative `t` counts from the end; -0.0 and `t` == duration give the last frame. InputError
    when `t` is outside the clip; MediaError when ffmpeg writes no frame.
    """
    clock = clock or frame_clock(info)
    index = clock.index_at(t)
    if os.path.exists(out_path):
        os.remove(out_path)  # an empty file left by out_path() must not pass for a frame
    common = ["-an", "-sn", "-dn", "-map", "0:V:0"]
    nominal = index / clock.fps
    seek = max(0.0, nominal - SEEK_MARGIN)
    keep = nominal - seek - 0.5 / clock.fps
    vf = f"select='gte(t\\,{keep:.6f})',{_PNG_FILTER}"
    # For the last frame we keep writing over one PNG until the decoder stops, so the frame that
    # stays is the real last one even if the count was short.
    count = ["-frames:v", "1"] if index < clock.last else []
    png = [*count, "-update", "1", "-c:v", "png", "-y", out_path]
    run_ffmpeg(["-ss", f"{seek:.6f}", "-i", info.path, *common, "-vf", vf, *png],
               timeout=GRAB_TIMEOUT, what="Grabbing the frame")
    if _written(out_path):
        return out_path
    if index >= clock.last:
        # Seeking near the end of some files returns nothing: decode the final second instead.
        window = max(LAST_FRAME_WINDOW, 4.0 / clock.fps)
        args = ["-sseof", f"-{window:.3f}", "-i", info.path, *common, "-vf", _PNG_FILTER, *png]
    else:
        # Timestamps that do not follow the frame rate: count decoded frames from the start
        # (slower, exact by index).
        args = ["-i", info.path, *common, "-vf", f"select='eq(n\\,{index})',{_PNG_FILTER}", *png]
    run_ffmpeg(args, timeout=GRAB_TIMEOUT, what="Grabbing the frame")
    if not _written(out_path):
        raise MediaError(f"Frame {index + 1} of {clock.frames} of this clip could not be decoded.")
    return out_path


def _written(path: str) -> bool:
    return os.path.isfile(path) and os.path.getsize(path) > 0
