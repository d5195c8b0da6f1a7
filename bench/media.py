"""Test media for the benchmarks, made fast with the bundled ffmpeg and Pillow.

A short segment is encoded (testsrc2 + noise, x264 ultrafast at a set bitrate, so it reaches a
target size whatever the content) and then looped with `-c copy`, which costs only disk I/O.
Files are cached by name in the bench's temp dir, so `--only` reruns do not redo them.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import imageio_ffmpeg
from PIL import Image

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run the bundled ffmpeg quietly; raise with its last lines when it fails."""
    proc = subprocess.run([FFMPEG, "-hide_banner", "-nostdin", "-y", *args],
                          capture_output=True, text=True, errors="replace", timeout=timeout)
    if proc.returncode != 0:
        tail = " / ".join(proc.stderr.strip().splitlines()[-3:])
        raise RuntimeError(f"ffmpeg failed: {tail}")
    return proc


def ffmpeg_version() -> str:
    out = subprocess.run([FFMPEG, "-version"], capture_output=True, text=True).stdout
    return out.split("\n", 1)[0].replace("ffmpeg version ", "").split(" Copyright")[0]


def _segment(seg: Path, *, width: int, height: int, fps: int, seconds: float, mbps: float,
             noise: int) -> int:
    """Encode the video-only segment that is looped; its size in bytes."""
    rate = f"{mbps:.2f}M"
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={fps}:duration={seconds}",
           "-vf", f"noise=alls={noise}:allf=t+u,format=yuv420p", "-c:v", "libx264",
           "-preset", "ultrafast", "-b:v", rate, "-maxrate", rate, "-bufsize", rate,
           "-g", str(fps), str(seg))
    return seg.stat().st_size


def make_clip(path: Path, *, width: int, height: int, fps: int, seconds: float,
              mbps: float, segment: float = 1.0, noise: int = 12, audio: bool = True,
              target_bytes: int | None = None) -> Path:
    """An H.264(/AAC) mp4 of `seconds` at about `mbps` Mbit/s: one segment encoded, looped.

    The video is looped with `-c copy` (seamless: video-only segments keep constant frame
    timing); the sound is a sine tone encoded for the whole length. With `target_bytes`, the
    segment is encoded once more at a corrected bitrate when the first try lands more than 8%
    off (x264's rate control overshoots on noise).
    """
    if path.exists():
        return path
    seg = path.with_name(path.stem + ".seg.mp4")
    kw = {"width": width, "height": height, "fps": fps, "seconds": segment, "noise": noise}
    got = _segment(seg, mbps=mbps, **kw)
    if target_bytes:
        want = target_bytes * segment / seconds
        if abs(got - want) > 0.08 * want:
            _segment(seg, mbps=mbps * want / got, **kw)
    loops = max(0, round(seconds / segment) - 1)
    args = ["-stream_loop", str(loops), "-i", str(seg)]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
                 "-map", "0:v", "-map", "1:a", "-c:a", "aac", "-b:a", "128k"]
    ffmpeg(*args, "-c:v", "copy", "-t", f"{seconds:.3f}", "-movflags", "+faststart", str(path))
    seg.unlink(missing_ok=True)
    return path


def make_sized_clip(path: Path, target_bytes: int, *, width: int = 1280, height: int = 720,
                    fps: int = 30, seconds: float = 10.0) -> Path:
    """A clip of about `target_bytes` and `seconds` long."""
    mbps = target_bytes * 8 / seconds / 1e6
    return make_clip(path, width=width, height=height, fps=fps, seconds=seconds, mbps=mbps,
                     target_bytes=target_bytes)


def make_image(path: Path, width: int = 1920, height: int = 1080, seed: int = 0) -> Path:
    """A JPEG photo stand-in (a gradient with noise) of roughly 1 MB."""
    if path.exists():
        return path
    noise = Image.frombytes("L", (width, height), os.urandom(width * height)).convert("RGB")
    grad = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    tint = Image.new("RGB", (width, height), ((seed * 70) % 255, 120, 200))
    Image.blend(Image.blend(grad, tint, 0.5), noise, 0.25).save(path, "JPEG", quality=90)
    return path


def make_blob(path: Path, size: int) -> Path:
    """`size` random bytes (an upload does not look inside the file)."""
    if path.exists() and path.stat().st_size == size:
        return path
    with path.open("wb") as out:
        left = size
        while left:
            n = min(left, 8 << 20)
            out.write(os.urandom(n))
            left -= n
    return path
