"""Figure 8: upload end -> card, and -> a playable preview, against a bare `ffmpeg -i`.

Clips: a 45 MB 12 s 4K60 HEVC .mov (an iPhone's) and a 190 MB 38 s 1080p30 H.264 mp4. The card
is `Studio.check_video` (header probe, rules, for HEVC a mid-clip poster); the playable preview
is the first part of the window (`video_preview(first_part=True)`), what the card plays first.
The baseline is one bare `ffmpeg -i` header read of the same file in the same run.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path

from kling_ui.core.config import Settings
from kling_ui.runs.service import Studio

from . import media
from .context import Ctx
from .probe_cost import bare_header_read
from .stats import Figure, median


def _hevc_4k60(ctx: Ctx) -> Path:
    path = ctx.tmp / "phone-4k60-hevc.mov"
    if path.exists():
        return path
    seg = ctx.tmp / "hevc-seg.mov"
    media.ffmpeg("-f", "lavfi", "-i", "testsrc2=size=3840x2160:rate=60:duration=1",
                 "-vf", "noise=alls=12:allf=t+u,format=yuv420p", "-c:v", "libx265",
                 "-preset", "ultrafast", "-b:v", "30M", "-x265-params", "log-level=error",
                 "-tag:v", "hvc1", "-g", "60", str(seg))
    media.ffmpeg("-stream_loop", "11", "-i", str(seg), "-f", "lavfi", "-i",
                 "sine=frequency=440:duration=12", "-map", "0:v", "-map", "1:a", "-c:a", "aac",
                 "-c:v", "copy", "-tag:v", "hvc1", "-t", "12", str(path))
    seg.unlink(missing_ok=True)
    return path


def _measure(path: Path) -> tuple[float, float]:
    """Seconds to the card and to the first playable preview, with a fresh Studio (no cache)."""
    data = tempfile.mkdtemp(prefix="bench-cards-")
    studio = Studio(Settings(backend="simulator", data_dir=data))

    async def go() -> tuple[float, float]:
        t0 = time.perf_counter()
        check = await studio.check_video(str(path))
        card = time.perf_counter() - t0
        if check.preview_pending:
            await studio.video_preview(str(path), first_part=True)
        return card, time.perf_counter() - t0

    try:
        return asyncio.run(go())
    finally:
        shutil.rmtree(data, ignore_errors=True)


def run(ctx: Ctx) -> list[Figure]:
    reps = ctx.reps(5, 2)
    clips = {"45 MB 12 s 4K60 HEVC": _hevc_4k60(ctx),
             "190 MB 38 s 1080p30 H.264": media.make_clip(
                 ctx.tmp / "probe-190mb.mp4", width=1920, height=1080, fps=30, seconds=38,
                 mbps=40.0, target_bytes=190_000_000)}
    figures: list[Figure] = []
    for label, clip in clips.items():
        bare_header_read(str(clip))  # warm the page cache, as after an upload
        cards, previews, bares = [], [], []
        for _ in range(reps):
            t0 = time.perf_counter()
            bare_header_read(str(clip))
            bares.append(time.perf_counter() - t0)
            card, playable = _measure(clip)
            cards.append(card)
            previews.append(playable)
        size = clip.stat().st_size / 1e6
        ctx.log(f"cards {label}: card {median(cards):.2f} s, preview {median(previews):.2f} s, "
                f"ffmpeg -i {median(bares):.3f} s")
        figures.append(Figure(
            name="cards", title=f"8 upload end -> card, {label} ({size:.0f} MB)",
            ours=median(cards), baseline=median(bares), unit="s", target="<= 1 s",
            check=lambda o, _b, _r: o <= 1.0, baseline_label="ffmpeg -i",
            reps={"card (s)": cards, "ffmpeg -i (s)": bares}))
        figures.append(Figure(
            name="cards", title=f"8 upload end -> playable preview, {label}",
            ours=median(previews), baseline=median(bares), unit="s", target="<= 4 s",
            check=lambda o, _b, _r: o <= 4.0, baseline_label="ffmpeg -i",
            reps={"preview (s)": previews, "ffmpeg -i (s)": bares},
            notes=["A clip the browser plays (H.264) needs no preview: its own player plays it, "
                   "so this equals the card time."]))
    return figures
