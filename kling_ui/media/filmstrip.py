"""A filmstrip of a clip for the trimmer: a dozen small frames spread across its length.

One ffmpeg pass decodes the clip once and keeps the first frame of each of `count` equal
segments (a `select` filter), scaled down to `height` px before anything else is done with it,
so a 12 s 1080p clip takes about as long as decoding it. `showinfo` reports the time of every
frame kept, so each tile carries the time it really shows, not a guess.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from ..core.errors import MediaError
from ..core.models import VideoInfo
from .ffmpeg import run_ffmpeg
from .paths import random_name

STRIP_FRAMES = 12
STRIP_HEIGHT = 90  # px; the strip shows them about 48-64 px tall, sharp on a 2x screen
STRIP_TIMEOUT = 120.0  # a 200 MB 4K60 HEVC clip decodes in about real time on two cores
_PTS_TIME = re.compile(r"\bn:\s*\d+\b.*?\bpts_time:\s*(-?[\d.]+)")


@dataclass(frozen=True)
class Filmstrip:
    """The frames of a strip (JPEG paths) and the time (s) each shows, in clip order."""

    frames: tuple[str, ...]
    times: tuple[float, ...]
    duration: float


def strip_times(duration: float, count: int = STRIP_FRAMES) -> tuple[float, ...]:
    """Where the segments start: the nominal time of each tile (0, d/n, 2d/n, ...)."""
    if duration <= 0 or count <= 0:
        return ()
    step = duration / count
    return tuple(round(i * step, 3) for i in range(count))


def make_filmstrip(info: VideoInfo, out_dir: str, *, count: int = STRIP_FRAMES,
                   height: int = STRIP_HEIGHT) -> Filmstrip:
    """Write `count` small JPEG frames of the clip (one per equal segment) into a new folder
    under `out_dir`, in one ffmpeg pass; MediaError when ffmpeg keeps no frame."""
    if info.duration <= 0:
        raise MediaError("This clip has no duration to make a filmstrip of.")
    if info.fps > 0:  # never more tiles than the clip has frames
        count = max(1, min(count, int(info.duration * info.fps)))
    os.makedirs(out_dir, exist_ok=True)
    stem = os.path.splitext(os.path.basename(info.path))[0][:40] or "clip"
    folder = os.path.join(out_dir, random_name(stem, "strip"))  # served by path: 128 bits
    os.mkdir(folder, 0o700)
    step = info.duration / count
    # The first frame of each new segment; a segment with no frame (a gap) is skipped.
    pick = (f"select='isnan(prev_selected_t)+gte(floor(t/{step:.6f})\\,"
            f"floor(prev_selected_t/{step:.6f})+1)'")
    # ffmpeg's autorotate runs first, so ih is the displayed height; square pixels as shown.
    scale = (f"scale=w='if(eq(sar,1),-2,trunc(iw*sar*{height}/ih/2)*2)':h={height}"
             ":flags=fast_bilinear,setsar=1")
    args = ["-an", "-sn", "-dn", "-i", info.path, "-map", "0:V:0",
            "-vf", f"{pick},{scale},showinfo", "-fps_mode", "passthrough",
            "-frames:v", str(count), "-q:v", "5", "-f", "image2",
            os.path.join(folder, "f%02d.jpg")]
    proc = run_ffmpeg(args, timeout=STRIP_TIMEOUT, what="Making the filmstrip", background=True)
    frames = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".jpg"))
    times = [float(m.group(1)) for m in _PTS_TIME.finditer(proc.stderr)]
    if not frames:
        raise MediaError("The filmstrip came out empty: no frame of this clip could be decoded.")
    if len(times) != len(frames):  # no showinfo lines (an odd build): the nominal times
        times = list(strip_times(info.duration, count))[:len(frames)]
    return Filmstrip(frames=tuple(frames), times=tuple(round(t, 3) for t in times),
                     duration=info.duration)
