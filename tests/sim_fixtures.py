"""Shared test helpers: a running simulator, tokens, and small media files made on the spot.

Import from any test module:

    from sim_fixtures import running_simulator, make_png, make_clip, TOKEN_A  # tests/ on sys.path

    with running_simulator(model_seconds=0.3) as (base_url, state):
        ...  # state.requests / state.predictions / state.cancels / state.add_fault(...)
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from PIL import Image

from kling_ui.core.config import Secret
from kling_ui.media.ffmpeg import run_ffmpeg
from kling_ui.replicate.simulator import SimState, key_marker, start_simulator

# Two visitors' keys; A is token-shaped (r8_...), B is not, so redaction is tested both ways.
TOKEN_A = Secret("r8_" "VisitorAlphaKey0123456789abcdefghijklm")
TOKEN_B = Secret("visitor-bravo-secret-key-987654321")
MARK_A = key_marker(TOKEN_A.reveal())
MARK_B = key_marker(TOKEN_B.reveal())

# Quick defaults: a prediction ends a fraction of a second after it is created.
FAST = {"model_seconds": 0.3, "start_seconds": 0.05}


@contextlib.contextmanager
def running_simulator(**options: Any) -> Iterator[tuple[str, SimState]]:
    """Serve a simulator on 127.0.0.1 (free port) for the block; yields (base_url, state).

    `options` are `kling_ui.replicate.simulator.SimOptions` fields; FAST timings unless overridden.
    Its temp dir (uploads, outputs) is deleted on exit.
    """
    sim = start_simulator(**{**FAST, **options})
    try:
        yield sim.base_url, sim.state
    finally:
        sim.stop()


def make_png(path: Path, size: tuple[int, int] = (400, 400), colour: tuple[int, int, int] = (200, 60, 40)) -> Path:
    img = Image.new("RGB", size, colour)
    for x in range(0, size[0], 40):  # a few stripes so renders are not flat
        img.paste((255, 255, 255), (x, 0, x + 8, size[1]))
    img.save(path)
    return path


def make_clip(path: Path, seconds: float = 3.0, size: tuple[int, int] = (720, 720), audio: bool = True) -> Path:
    """A short H.264 clip with a test pattern (and a tone) rendered by the bundled ffmpeg."""
    args = ["-f", "lavfi", "-i", f"testsrc=size={size[0]}x{size[1]}:rate=24:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:a", "aac"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-shortest", "-y", str(path)]
    run_ffmpeg(args, what="Making a test clip")
    return path


def media_duration(path: Path) -> float:
    """Duration of a media file as ffmpeg reports it (no ffprobe in the wheel)."""
    import re

    proc = run_ffmpeg(["-i", str(path)], check=False)
    m = re.search(r"Duration: (\d+):(\d+):(\d+\.\d+)", proc.stderr)
    assert m, proc.stderr[-500:]
    h, mi, s = m.groups()
    return int(h) * 3600 + int(mi) * 60 + float(s)


def media_size(path: Path) -> tuple[int, int]:
    import re

    proc = run_ffmpeg(["-i", str(path)], check=False)
    m = re.search(r"Video: .*?, (\d{2,5})x(\d{2,5})", proc.stderr)
    assert m, proc.stderr[-500:]
    return int(m.group(1)), int(m.group(2))


def uploads(state: SimState) -> list[Any]:
    """The file uploads (POST /v1/files) the simulator has seen."""
    return state.requests_to("/v1/files", "POST")


async def until(cond: Callable[[], bool], timeout: float = 30.0) -> None:
    """Wait, on the test's loop, until `cond()` holds; fail after `timeout` seconds."""
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        await asyncio.sleep(0.02)
