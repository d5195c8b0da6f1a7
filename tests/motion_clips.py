"""Clips with known motion for the motion report, splice-back and export tests.

A seeded, richly textured still (smooth colour blobs at three scales) is panned with ffmpeg crop
expressions: the camera's path is known, so the clip's motion is known. Variants are made from it
the way the issue names them: re-encoded at 24 fps with a strong colour grade, reversed, mirrored,
delayed by a second; and a second, unrelated path. The sound is a tone gated on and off at
irregular times, so its loudness envelope can be aligned.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from tests.media_factory import ffmpeg

# Two unrelated camera paths over the texture (x, y of a 640x480 crop of a 1280x960 still).
PATHS = {
    "a": ("320+180*sin(t*1.3)+90*sin(t*3.7+1)+30*sin(t*7.1)", "240+120*sin(t*0.9+1)+60*sin(t*4.3)"),
    "b": ("320+180*sin(t*2.3+2)+90*sin(t*5.1)", "240+120*cos(t*1.7)+60*sin(t*3.3+2)"),
    # a tilt: the camera moves up and down only (flipped upside down, its motion is reversed)
    "tilt": ("320", "240+200*sin(t*1.1)+60*sin(t*3.1+1)"),
}
GATED_TONE = "0.5*sin(2*PI*440*t)*gt(sin(2*PI*t*0.7+3*sin(t*1.1)),0.2)"
X264 = ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")


def texture(folder: Path) -> Path:
    """A 1280x960 PNG of smooth random colour blobs (seeded: the same every run)."""
    path = folder / "texture.png"
    if path.exists():
        return path
    rng = np.random.default_rng(7)
    w, h = 1280, 960
    planes = []
    for _ in range(3):
        plane = np.zeros((h, w), np.float32)
        for step, weight in ((64, 1.0), (16, 0.6), (4, 0.3)):
            small = rng.random((h // step + 1, w // step + 1)).astype(np.float32)
            plane += weight * cv2.resize(small, (w + step, h + step),
                                         interpolation=cv2.INTER_CUBIC)[:h, :w]
        planes.append(plane)
    img = np.stack(planes, -1)
    img = (img - img.min()) / (img.max() - img.min()) * 255
    cv2.imwrite(str(path), img.astype(np.uint8))
    return path


def pan_clip(path: Path, *, which: str = "a", seconds: float = 6, size: tuple[int, int] = (320, 240),
             fps: int = 30, audio: bool = True, x264: tuple[str, ...] = X264) -> Path:
    """A clip panning over the texture along path `which`, with a gated tone."""
    x, y = PATHS[which]
    w, h = size
    args = ["-loop", "1", "-framerate", str(fps), "-t", str(seconds),
            "-i", str(texture(path.parent))]
    if audio:
        args += ["-f", "lavfi", "-i", f"aevalsrc='{GATED_TONE}':d={seconds}"]
    args += ["-vf", f"crop=640:480:x='{x}':y='{y}',scale={w}:{h},setsar=1", *x264]
    args += ["-c:a", "aac", "-shortest"] if audio else []
    ffmpeg(*args, str(path))
    return path


def variant(src: Path, path: Path, kind: str, *, seconds: float = 6) -> Path:
    """`src` graded at 24 fps, reversed, mirrored (hflip), flipped (vflip), delayed by 1 s or
    2.5 s (held first frame), or 1.25x faster (then as long as the speed-up leaves it)."""
    vf, af = {
        "flipped": ("vflip", None),
        "delayed25": ("fps=24,tpad=start_mode=clone:start_duration=2.5", "adelay=2500:all=1"),
        "faster": ("setpts=PTS/1.25,fps=24", "atempo=1.25"),
        "graded": ("fps=24,eq=saturation=2.5:contrast=1.4:gamma=0.7,hue=h=120", None),
        "reversed": ("reverse", "areverse"),
        "mirrored": ("hflip", None),
        "delayed": ("fps=24,tpad=start_mode=clone:start_duration=1", "adelay=1000:all=1"),
    }[kind]
    args = ["-i", str(src), "-vf", vf, *X264, "-c:a", "aac"]
    if af:
        args += ["-af", af]
    if kind in ("delayed", "delayed25"):
        args += ["-t", str(seconds)]  # the same length as the source
    ffmpeg(*args, str(path))
    return path
