"""Figure 7: joining three clips into one 1080p24 sequence, as the Studio's sequence does.

The clips are what a user joins from Kling results and phones: 1920x1080 at 24 fps with sound,
1080x1920 at 30 fps without sound (pillar-boxed), 1920x1080 at 60 fps with sound, each H.264 at
~10 Mbit/s (testsrc2 with temporal noise, so x264 cannot coast). `media.join.join_clips` is
timed as the app runs it (one filter_complex, below the web server's priority); the baseline is
the output's own length, so the ratio is the time per second of output. Joined with hard cuts
and with 0.5 s crossfades (xfade + acrossfade). The output is checked: 1920x1080, constant
24 fps, the expected frame count, audio as long as the picture.
"""

from __future__ import annotations

import os
import re
import resource
import time

from kling_ui.media.frames import count_frames, frame_clock
from kling_ui.media.join import PRESET, join_clips
from kling_ui.media.probe import probe_video

from . import media
from .context import Ctx
from .stats import Figure, median

MBPS = 10.0
TARGET = 0.5  # x real time (issue #14)


def _cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _audio_seconds(path: str) -> float:
    err = media.ffmpeg("-i", path, "-map", "0:a:0", "-c", "copy", "-f", "null", "-").stderr
    found = re.findall(r"time=(\d+):(\d\d):(\d\d(?:\.\d+)?)", err)
    if not found:
        return 0.0
    h, m, s = found[-1]
    return int(h) * 3600 + int(m) * 60 + float(s)


def run(ctx: Ctx) -> list[Figure]:
    seconds = 2.0 if ctx.quick else 5.0
    shapes = [(1920, 1080, 24, True), (1080, 1920, 30, False), (1920, 1080, 60, True)]
    paths = [media.make_clip(ctx.tmp / f"join-{w}x{h}-{fps}-{seconds:.0f}s.mp4", width=w,
                             height=h, fps=fps, seconds=seconds, mbps=MBPS, audio=audio)
             for w, h, fps, audio in shapes]
    infos = [probe_video(str(p)) for p in paths]
    durations = [frame_clock(i).duration for i in infos]
    clips = ", ".join(f"{i.width}x{i.height} {i.fps:g} fps{' +audio' if i.has_audio else ''}"
                      for i in infos)
    figures = []
    for crossfade in (0.0, 0.5):
        times: list[float] = []
        cpu: list[float] = []
        out = str(ctx.tmp / f"join-out-{crossfade:g}.mp4")
        plan = None
        for i in range(ctx.reps(3, 1)):
            c0, t0 = _cpu_children(), time.perf_counter()
            plan = join_clips(infos, durations, out, crossfade=crossfade, size=(1920, 1080))
            times.append(time.perf_counter() - t0)
            cpu.append(_cpu_children() - c0)
            ctx.log(f"join run {i} (crossfade {crossfade:g} s): {times[-1]:.2f} s for "
                    f"{plan.duration:.2f} s of 1080p24")
        assert plan is not None
        result = probe_video(out)
        frames, _ = count_frames(out)
        audio = _audio_seconds(out)
        valid = ((result.width, result.height, result.fps) == (1920, 1080, 24.0)
                 and not result.variable_fps and frames == plan.total_frames
                 and abs(audio - plan.duration) <= 2 / 24)
        label = "hard cuts" if crossfade == 0 else f"{crossfade:g} s crossfades"
        per_second = [t / plan.duration for t in times]
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2
        # CPU seconds spread over the cores: what the wall time would be if nobody else ran.
        cpu_wall = [c / cores for c in cpu]
        figures.append(Figure(
            name="join", title=f"7 join 3 clips -> 1080p24, {label}",
            ours=median(times), baseline=plan.duration, unit="s",
            target=f"<= {TARGET}x real time", baseline_label="output length",
            check=lambda _o, _b, r, ok=valid: r <= TARGET and ok,  # type: ignore[misc]
            reps={"join_clips (s)": times, "s per s of output": per_second,
                  "ffmpeg CPU (s)": cpu},
            notes=[f"Clips: {clips}, "
                   f"{seconds:g} s each, ~{MBPS:g} Mbit/s. x264 preset {PRESET}. Output "
                   f"{result.width}x{result.height} {result.fps:g} fps, {frames} frames "
                   f"(planned {plan.total_frames}), {result.duration:.3f} s, audio "
                   f"{audio:.3f} s, {result.bytes / 2**20:.1f} MiB; valid: {valid}."]))
        figures.append(Figure(
            name="join", title=f"7 join CPU / {cores} cores, {label}",
            ours=median(cpu_wall), baseline=plan.duration, unit="s",
            target=f"<= {TARGET}x real time", baseline_label="output length",
            check=lambda _o, _b, r, ok=valid: r <= TARGET and ok,  # type: ignore[misc]
            reps={"ffmpeg CPU / cores (s)": cpu_wall},
            notes=["ffmpeg's user+system CPU time divided by the usable cores: the wall time "
                   "the join needs when it has the machine to itself. It does not depend on "
                   "what else runs, so it is the figure to compare on a shared machine."]))
    return figures
