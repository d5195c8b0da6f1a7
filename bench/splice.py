"""Figure 12: splicing a 5 s edit back into a 20 s 1080p original, against the original's length.

The original is 1920x1080 30 fps H.264/AAC (20 s), the edit 1280x720 24 fps (5 s, so it is
scaled and resampled on the way in), put back at 8 s with 0.5 s crossfades and the original's
sound: the whole clip is re-encoded once (x264 veryfast High, CRF 18 under a VBV cap at the
original's bitrate, issue #24). The PSNR of the frames before the window against the original
says what "unchanged" costs, and the size against the original's what the quality costs.
"""

from __future__ import annotations

import asyncio
import re
import time

from kling_ui.finishing.results import Finisher
from kling_ui.media.probe import probe_video

from . import media
from .context import Ctx
from .stats import Figure, median

START = 8.0


def _psnr_before(out: str, src: str, seconds: float) -> float:
    err = media.ffmpeg("-t", f"{seconds}", "-i", out, "-t", f"{seconds}", "-i", src, "-lavfi",
                       "[0:v][1:v]psnr", "-f", "null", "-").stderr
    found = re.search(r"PSNR .*average:([\d.]+|inf)", err)
    return float(found.group(1)) if found else float("nan")


def run(ctx: Ctx) -> list[Figure]:
    seconds = 8.0 if ctx.quick else 20.0
    start = 2.0 if ctx.quick else START
    original = media.make_clip(ctx.tmp / f"splice-orig-{seconds:.0f}s.mp4", width=1920,
                               height=1080, fps=30, seconds=seconds, mbps=16.0)
    edit = media.make_clip(ctx.tmp / "splice-edit-5s.mp4", width=1280, height=720, fps=24,
                           seconds=5.0, mbps=6.0)
    finisher = Finisher(ctx.tmp)
    times: list[float] = []
    out = ""
    for i in range(ctx.reps(3, 1)):
        t0 = time.perf_counter()
        out = asyncio.run(finisher.splice_back(str(original), str(edit), start=start,
                                               crossfade=0.5))
        times.append(time.perf_counter() - t0)
        ctx.log(f"splice {i}: {times[-1]:.2f} s for a {seconds:.0f} s 1080p original")
    got = probe_video(out)
    same = (got.width, got.height, round(got.fps)) == (1920, 1080, 30) and abs(
        got.duration - seconds) < 0.1
    psnr = _psnr_before(out, str(original), start - 0.1)
    err = media.ffmpeg("-i", out, "-frames:v", "1", "-f", "null", "-").stderr
    found = re.search(r"Video: h264 \(([^)]+)\)", err)
    profile = found.group(1) if found else "?"
    size = got.bytes / max(1, probe_video(str(original)).bytes)
    return [Figure(
        name="splice", title=f"12 splice back into a {seconds:.0f} s 1080p original",
        ours=median(times), baseline=seconds, unit="s", target="<= 1x real time",
        check=lambda _o, _b, r: r <= 1.0 and same, baseline_label="original's length",
        reps={"splice_back (s)": times},
        notes=[f"Output {got.width}x{got.height} {got.fps:g} fps {got.duration:.2f} s (same as "
               f"the original: {same}); PSNR of the {start - 0.1:.1f} s before the window "
               f"against the original: {psnr:.1f} dB; H.264 {profile}, {got.bytes / 1e6:.1f} MB "
               f"= {size:.2f}x the original's size."])]
