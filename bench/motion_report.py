"""Figure 11: the motion report on a 10 s 1080p pair, against the clip's own length (issue #13).

The original is 1920x1080 at 30 fps and the output 1920x1080 at 24 fps (Kling's rate), both
H.264 testsrc2 with camera grain at phone bitrates. Timed: what a run pays after its output
arrives, `Finisher.motion_report` (probe both, decode to 192-px grey frames in ffmpeg, DIS flow,
alignment, audio envelopes, the PNG plot).
"""

from __future__ import annotations

import asyncio
import time

from kling_ui.finishing.results import Finisher

from . import media
from .context import Ctx
from .stats import Figure, median


def run(ctx: Ctx) -> list[Figure]:
    seconds = 3.0 if ctx.quick else 10.0
    original = media.make_clip(ctx.tmp / f"motion-orig-{seconds:.0f}s.mp4", width=1920,
                               height=1080, fps=30, seconds=seconds, mbps=16.0)
    output = media.make_clip(ctx.tmp / f"motion-out-{seconds:.0f}s.mp4", width=1920, height=1080,
                             fps=24, seconds=seconds, mbps=12.0)
    finisher = Finisher(ctx.tmp)
    times: list[float] = []
    figures: dict[str, object] = {}
    for i in range(ctx.reps(3, 1)):
        t0 = time.perf_counter()
        _, figures = asyncio.run(finisher.motion_report(str(original), str(output)))
        times.append(time.perf_counter() - t0)
        ctx.log(f"motion report {i}: {times[-1]:.2f} s for {seconds:.0f} s of 1080p")
    per_second = median(times) / seconds
    return [Figure(
        name="motion", title=f"11 motion report, {seconds:.0f} s 1080p pair", ours=median(times),
        baseline=seconds, unit="s", target="<= 0.5x real time",
        check=lambda _o, _b, r: r <= 0.5, baseline_label="clip length",
        reps={"motion_report (s)": times},
        notes=[f"{per_second:.3f} s of work per second of clip. Original 1920x1080 30 fps, "
               "output 1920x1080 24 fps, both H.264 + AAC; frames "
               f"{figures.get('frames_original')} / {figures.get('frames_output')} at 24 fps."])]
