"""Render the small example media the presets use (owned by the project, no third-party assets).

    python assets/make_examples.py

Writes assets/examples/: crown.png, girl_in_blue.png, landscape.png (1024x576 PNG) and
girl_in_blue.mp4 (5 s, 1280x720, 30 fps, H.264 + AAC tone), each well under 1 MB.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg
from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent / "examples"
SIZE = (1024, 576)


def _gradient(top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    w, h = SIZE
    img = Image.new("RGB", SIZE)
    draw = ImageDraw.Draw(img)
    for y in range(h):
        t = y / (h - 1)
        draw.line([(0, y), (w, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
    return img


def crown() -> Image.Image:
    img = _gradient((40, 24, 70), (90, 40, 110))
    d = ImageDraw.Draw(img)
    cx, base = 512, 400
    points = [(cx - 220, base), (cx - 250, 190), (cx - 130, 300), (cx, 150), (cx + 130, 300),
              (cx + 250, 190), (cx + 220, base)]
    d.polygon(points, fill=(242, 190, 40), outline=(120, 80, 10), width=6)
    d.rectangle([cx - 225, base, cx + 225, base + 50], fill=(220, 160, 30), outline=(120, 80, 10),
                width=6)
    for x, colour in ((cx - 120, (200, 30, 60)), (cx, (30, 110, 220)), (cx + 120, (30, 170, 90))):
        d.ellipse([x - 22, base + 3, x + 22, base + 47], fill=colour, outline=(250, 240, 220), width=3)
    for x, y in ((cx - 250, 190), (cx, 150), (cx + 250, 190)):
        d.ellipse([x - 18, y - 18, x + 18, y + 18], fill=(255, 235, 150))
    return img


def girl_in_blue() -> Image.Image:
    img = _gradient((250, 226, 200), (236, 186, 160))
    d = ImageDraw.Draw(img)
    cx = 512
    d.ellipse([cx - 70, 90, cx + 70, 240], fill=(245, 205, 175), outline=(90, 60, 40), width=4)
    d.pieslice([cx - 90, 70, cx + 90, 250], 180, 360, fill=(70, 40, 25))  # hair
    d.ellipse([cx - 35, 150, cx - 15, 170], fill=(40, 40, 60))
    d.ellipse([cx + 15, 150, cx + 35, 170], fill=(40, 40, 60))
    d.arc([cx - 30, 175, cx + 30, 215], 20, 160, fill=(160, 60, 60), width=4)
    d.polygon([(cx - 60, 250), (cx + 60, 250), (cx + 170, 540), (cx - 170, 540)],
              fill=(40, 90, 200), outline=(20, 50, 130), width=5)  # blue dress
    d.line([(cx - 55, 280), (cx - 150, 400)], fill=(245, 205, 175), width=22)
    d.line([(cx + 55, 280), (cx + 150, 400)], fill=(245, 205, 175), width=22)
    return img


def landscape() -> Image.Image:
    img = _gradient((120, 170, 235), (250, 215, 170))
    d = ImageDraw.Draw(img)
    d.ellipse([700, 90, 820, 210], fill=(255, 220, 120))
    d.polygon([(0, 420), (200, 260), (420, 400), (640, 230), (900, 380), (1024, 300), (1024, 576),
               (0, 576)], fill=(70, 120, 80))
    d.polygon([(0, 500), (300, 400), (620, 480), (1024, 420), (1024, 576), (0, 576)],
              fill=(50, 95, 60))
    d.polygon([(480, 576), (540, 470), (560, 470), (640, 576)], fill=(200, 180, 140))  # path
    return img


def clip(still: Path, out: Path) -> None:
    """A 5 s 1280x720 H.264 clip panning over `still`, with a soft two-tone AAC track."""
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    vf = "scale=1440:810,crop=1280:720:x='160*t/5':y=45,format=yuv420p"
    subprocess.run(
        [ffmpeg, "-y", "-loglevel", "error", "-loop", "1", "-framerate", "30", "-i", str(still),
         "-f", "lavfi", "-i", "sine=frequency=330:sample_rate=44100:duration=5",
         "-t", "5", "-vf", vf, "-r", "30", "-c:v", "libx264", "-preset", "slow", "-crf", "30",
         "-c:a", "aac", "-b:a", "48k", "-shortest", "-movflags", "+faststart", str(out)],
        check=True,
    )


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, make in (("crown", crown), ("girl_in_blue", girl_in_blue), ("landscape", landscape)):
        make().save(OUT / f"{name}.png", optimize=True)
    clip(OUT / "girl_in_blue.png", OUT / "girl_in_blue.mp4")
    for path in sorted(OUT.iterdir()):
        print(f"{path.name}: {path.stat().st_size / 1000:.0f} kB")


if __name__ == "__main__":
    main()
