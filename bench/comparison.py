"""Figure 15: exporting a side-by-side comparison of a 1080p pair, against the output's length.

The original is 20 s of 1920x1080 30 fps, the output 5 s of 1920x1080 24 fps (Kling's rate),
both H.264 + AAC; the export compares the output with the original's 7-12 s (`start=7`, issue
#24) and keeps both panels at 1920x1080 (a 3840x1080 MP4, x264 veryfast CRF 21), plus the
stills sheet the page shows beside it. Timed: `Finisher.compare_export` end to end.
"""

from __future__ import annotations

import asyncio
import time

from kling_ui.finishing.results import Finisher
from kling_ui.media.probe import probe_video

from . import media
from .context import Ctx
from .stats import Figure, median

START = 7.0


def run(ctx: Ctx) -> list[Figure]:
    seconds = 3.0 if ctx.quick else 5.0
    original = media.make_clip(ctx.tmp / "compare-orig-20s.mp4", width=1920, height=1080,
                               fps=30, seconds=START + seconds + 8, mbps=16.0)
    output = media.make_clip(ctx.tmp / f"compare-out-{seconds:.0f}s.mp4", width=1920,
                             height=1080, fps=24, seconds=seconds, mbps=12.0)
    finisher = Finisher(ctx.tmp)
    times: list[float] = []
    video = ""
    for i in range(ctx.reps(3, 1)):
        t0 = time.perf_counter()
        video, _ = asyncio.run(finisher.compare_export(str(original), str(output),
                                                       start=START))
        times.append(time.perf_counter() - t0)
        ctx.log(f"comparison {i}: {times[-1]:.2f} s for a {seconds:.0f} s 1080p pair")
    got = probe_video(video)
    return [Figure(
        name="compare", title=f"15 comparison export, {seconds:.0f} s 1080p pair side by side",
        ours=median(times), baseline=seconds, unit="s", target="<= 2x real time",
        check=lambda _o, _b, r: r <= 2.0 and (got.width, got.height) == (3840, 1080),
        baseline_label="output's length", reps={"compare_export (s)": times},
        notes=[f"Export {got.width}x{got.height} {got.fps:g} fps {got.duration:.2f} s, "
               f"{got.bytes / 1e6:.1f} MB, with the stills sheet; the original from {START:g} s."])]
