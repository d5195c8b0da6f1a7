"""Figure 2: `probe_video` against a bare `ffmpeg -i FILE` header read of the same file.

Clips of about 5, 50 and 190 MB (H.264/AAC mp4, faststart, one bitrate, lengths 1-38 s). The baseline is the cheapest way to
learn what a file holds with the bundled ffmpeg: one subprocess reading the header, stderr
captured. Runs alternate between the two, so page cache and CPU frequency treat them alike.
Peak memory is the Python heap peak (tracemalloc) during one call, on the smallest and largest
file, which shows whether probing ever reads the file into memory.
"""

from __future__ import annotations

import subprocess
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from kling_ui.media.probe import probe_video

from . import media
from .context import Ctx
from .stats import Figure, median

SIZES_MB = (5, 50, 190)
QUICK_SIZES_MB = (5, 20)
BITRATE_MBPS = 40.0


def bare_header_read(path: str) -> str:
    proc = subprocess.run([media.FFMPEG, "-hide_banner", "-nostdin", "-i", path],
                          capture_output=True, text=True, errors="replace", check=False)
    return proc.stderr


def _timed(fn: Callable[[str], object], path: str) -> float:
    t0 = time.perf_counter()
    fn(path)
    return time.perf_counter() - t0


def _peak(fn: Callable[[str], object], path: str) -> float:
    tracemalloc.start()
    try:
        fn(path)
        return tracemalloc.get_traced_memory()[1] / 1024
    finally:
        tracemalloc.stop()


def _clip(ctx: Ctx, mb: int) -> Path:
    # One bitrate (1080p30 at ~40 Mbit/s, a phone's) for every size, so only the length and
    # the file size change: 5 MB is 1 s, 50 MB 10 s, 190 MB 38 s.
    seconds = max(1.0, round(mb * 8 / BITRATE_MBPS))
    return media.make_clip(ctx.tmp / f"probe-{mb}mb.mp4", width=1920, height=1080, fps=30,
                           seconds=seconds, mbps=BITRATE_MBPS, target_bytes=mb * 1_000_000)


def run(ctx: Ctx) -> list[Figure]:
    reps = ctx.reps(9, 3)
    sizes = QUICK_SIZES_MB if ctx.quick else SIZES_MB
    clips = {mb: _clip(ctx, mb) for mb in sizes}
    figures: list[Figure] = []
    times: dict[int, tuple[list[float], list[float]]] = {}
    for mb, clip in clips.items():
        path = str(clip)
        probe_video(path)  # warm the page cache and imports
        bare_header_read(path)
        ours: list[float] = []
        theirs: list[float] = []
        for i in range(reps):
            pair = [(ours, probe_video), (theirs, bare_header_read)]
            for bucket, fn in pair if i % 2 == 0 else pair[::-1]:
                bucket.append(_timed(fn, path) * 1000)
        times[mb] = (ours, theirs)
        ctx.log(f"probe {mb} MB: ours {median(ours):.1f} ms, ffmpeg -i {median(theirs):.1f} ms")
        figures.append(Figure(
            name="probe", title=f"2 probe time, {clip.stat().st_size / 1e6:.0f} MB clip",
            ours=median(ours), baseline=median(theirs), unit="ms", target="<= 1.5x",
            check=lambda _o, _b, r: r <= 1.5, baseline_label="ffmpeg -i",
            reps={"probe_video (ms)": ours, "ffmpeg -i (ms)": theirs}))

    small, large = min(sizes), max(sizes)
    growth_ours = median(times[large][0]) / median(times[small][0])
    growth_bare = median(times[large][1]) / median(times[small][1])
    figures.append(Figure(
        name="probe", title=f"2 probe time growth, {large} MB / {small} MB",
        ours=growth_ours, baseline=growth_bare, unit="x", target="flat: <= 1.2x",
        check=lambda o, _b, _r: o <= 1.2, baseline_label="ffmpeg -i growth",
        notes=[f"Probe time on the {large} MB clip over the {small} MB clip (1.0 = flat)."]))

    peaks = {mb: (_peak(probe_video, str(clips[mb])), _peak(bare_header_read, str(clips[mb])))
             for mb in (small, large)}
    figures.append(Figure(
        name="probe", title=f"2 probe peak heap, {large} MB clip",
        ours=peaks[large][0], baseline=peaks[large][1], unit="KiB",
        target=f"flat: <= 1.5x of {small} MB",
        check=lambda o, _b, _r: o <= 1.5 * max(peaks[small][0], 1.0),
        baseline_label="ffmpeg -i",
        notes=[f"tracemalloc peak of one call: probe_video {peaks[small][0]:.0f} KiB on "
               f"{small} MB, {peaks[large][0]:.0f} KiB on {large} MB; bare read "
               f"{peaks[small][1]:.0f} / {peaks[large][1]:.0f} KiB. The ffmpeg child's own "
               "memory is not counted (it reads the header only)."]))
    return figures
