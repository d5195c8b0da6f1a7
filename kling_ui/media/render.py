"""The simulator's outputs: real, small mp4 files rendered locally from a prediction's inputs.

Each mode gets a look a person can tell apart at a glance (kling-o1.md, "Modes"):

- text:       a title card with the prompt, slowly zooming in;
- frames:     the start frame pushed in (zoompan), cross-fading (xfade) to the end frame if any;
- references: the reference images as a slideshow;
- feature:    the reference video restyled (hue cycle), looped or cut to `duration`;
- base:       the reference video restyled (edges + colour), keeping its own length.

Every output is stamped "SIMULATED · Kling O1 Studio". Text is drawn with Pillow into PNG
overlays because ffmpeg's drawtext needs fonts the bundled binary may not find.

Sizes follow Kling's (kling-o1.md: std = 720p, pro = 1080p; a start frame decides the shape, a
base edit keeps the clip's), so the app is tried on what it will really get. To keep a render to
seconds on 2 shared cores, the slow filters (zoompan, edge detection) run on fewer frames or fewer
pixels than the output has: camera moves are computed at ANIM_FPS and each frame repeated to
24 fps (x264 stores a repeated frame in a few bytes), video looks are computed at 720p and scaled
up, and x264 runs `ultrafast` at a high CRF. Every output begins on a real picture (no fade from
black), so posters and History/Library tiles taken from its start show something.
This module is the only place the simulator starts ffmpeg (through `ffmpeg.run_ffmpeg`).
"""

from __future__ import annotations

import os
import tempfile
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from ..core.errors import MediaError
from .ffmpeg import run_ffmpeg
from .probe import probe_video

STAMP_TEXT = "SIMULATED · Kling O1 Studio"
FPS = 24  # Kling's output is always 24 fps (kling-o1.md)
# Long x short side per quality, as Kling renders them (kling-o1.md: std = 720p, pro = 1080p).
SIZES = {"std": (1280, 720), "pro": (1920, 1080)}
# Camera moves (zoompan) are computed at this rate and repeated up to FPS: a third of the work.
ANIM_FPS = 8
# Simulated pictures are flat colours and text: CRF 30 keeps a 1080p 5 s file near 1 MB.
CRF = 30
WORK_SHORT = 720  # video looks are computed at this short side, then scaled up to the mode's
# (at 540 the edges of a base edit thin out and its motion report scores 0.60, not 0.84)
_ANIM_STEP = FPS // ANIM_FPS  # zoom per animated frame, so the move keeps its speed at ANIM_FPS
# Generous: 1080p renders share 2 cores with everything else; a stuck ffmpeg still gets stopped.
RENDER_TIMEOUT = 300.0
XFADE_SECONDS = 1.0


@dataclass(frozen=True)
class RenderJob:
    """What to render: the simulator's reading of one kling-o1 input."""

    kind: str  # "text", "frames", "references", "feature", "base"
    prompt: str
    mode: str = "pro"
    aspect_ratio: str = "16:9"
    duration: int = 5
    images: Sequence[str] = field(default_factory=tuple)  # start, end or references, local paths
    video: str | None = None
    keep_sound: bool = True
    # Kling 3.0 Omni (issue #25): a storyboard's shots as (prompt, seconds), and native sound.
    shots: Sequence[tuple[str, int]] = field(default_factory=tuple)
    audio: bool = False


def output_size(mode: str, aspect_ratio: str) -> tuple[int, int]:
    """Width and height of the output for a quality mode and aspect ratio (both even)."""
    long, short = SIZES.get(mode, SIZES["pro"])
    if aspect_ratio == "9:16":
        return short, long
    if aspect_ratio == "1:1":
        return short, short
    return long, short


def nearest_aspect(width: int, height: int) -> str:
    """The kling aspect ratio closest to an image's shape (a start frame decides the output's)."""
    ratio = width / height if height else 1.0
    choices = {"16:9": 16 / 9, "9:16": 9 / 16, "1:1": 1.0}
    return min(choices, key=lambda k: abs(choices[k] - ratio))


# Faces with Chinese glyphs where a system has them (Debian's fonts-wqy-microhei and Noto CJK,
# macOS, Windows): Pillow's own face has none, and a Chinese prompt came out as boxes.
CJK_FONTS = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
             "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
             "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
             "/System/Library/Fonts/PingFang.ttc", "C:\\Windows\\Fonts\\msyh.ttc")


def _wide(c: str) -> bool:
    """A CJK character (and beyond): Pillow's own face lacks it, and it is a whole em wide."""
    return ord(c) > 0x2E7F


def _font(size: int, text: str = "") -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if any(map(_wide, text)):  # a face that has the glyphs
        for path in CJK_FONTS:
            try:
                return ImageFont.truetype(path, size)
            except OSError:
                continue
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # pragma: no cover - Pillow without FreeType
        return ImageFont.load_default()


def _stamp_png(path: Path, width: int) -> Path:
    """A translucent badge with the stamp text, sized to the output's width."""
    size = max(14, width // 40)
    font = _font(size)
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    left, top, right, bottom = (int(v) for v in probe.textbbox((0, 0), STAMP_TEXT, font=font))
    pad = size // 2
    img = Image.new("RGBA", (right - left + 2 * pad, bottom - top + 2 * pad), (0, 0, 0, 150))
    ImageDraw.Draw(img).text((pad - left, pad - top), STAMP_TEXT, font=font, fill=(255, 220, 60, 255))
    img.save(path)
    return path


def _title_png(path: Path, width: int, height: int, prompt: str) -> Path:
    """A title card: dark gradient, the prompt wrapped to fit, a small heading."""
    img = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(img)
    for y in range(height):
        shade = int(90 + 90 * y / height)  # light enough that a poster of frame 0 reads as picture
        draw.line([(0, y), (width, y)], fill=(shade // 2, shade // 3, shade))
    size = max(16, min(width, height) // 16)
    text = prompt.strip() or "(empty prompt)"
    font = _font(size, text)
    wide = sum(map(_wide, text)) > len(text) // 3
    chars = max(10, int(width / (size * (1.05 if wide else 0.55))))
    lines = textwrap.wrap(text, chars)[: max(1, (height // (size + 8)) - 3)]
    draw.text((size, size), "Text to video", font=_font(size // 2 + 4), fill=(160, 170, 255))
    y = size * 3
    for line in lines:
        draw.text((size, y), line, font=font, fill=(240, 240, 240))
        y += size + 8
    img.save(path)
    return path


def _fit(width: int, height: int) -> str:
    """Scale to cover the output and centre-crop, so any input fills the frame."""
    return (
        f"scale={width}:{height}:force_original_aspect_ratio=increase,"
        f"crop={width}:{height},setsar=1"
    )


def _encode_args(out: Path, *, audio: bool) -> list[str]:
    args = ["-c:v", "libx264", "-preset", "ultrafast", "-crf", str(CRF), "-pix_fmt", "yuv420p",
            "-r", str(FPS)]
    args += ["-c:a", "aac", "-b:a", "96k"] if audio else ["-an"]
    return [*args, "-movflags", "+faststart", "-y", str(out)]


def _stamp_chain(last: str, stamp_index: int) -> str:
    return f"[{last}][{stamp_index}:v]overlay=W-w-12:H-h-12:format=auto,format=yuv420p[out]"


def render(job: RenderJob, out_path: str | os.PathLike[str]) -> Path:
    """Render `job` to `out_path` (an mp4); MediaError if ffmpeg fails or writes nothing."""
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kling-render-") as tmp_name:
        tmp = Path(tmp_name)
        args = _build_args(job, tmp, out)
        run_ffmpeg(args, timeout=RENDER_TIMEOUT, what=f"Rendering the simulated {job.kind} video",
                   background=True)
        if not out.is_file() or out.stat().st_size == 0:
            raise MediaError(f"Rendering the simulated {job.kind} video produced no file.")
        if job.shots or job.audio:
            _shots_and_sound(job, out, tmp)
    return out


def _shot_png(path: Path, width: int, n: int, total: int, prompt: str) -> Path:
    """A banner naming the shot: "Shot 2/3 · a fox runs ..." (its prompt, cut to one line)."""
    size = max(16, width // 36)
    font = _font(size)
    text = f"Shot {n}/{total} · " + " ".join(prompt.split())
    text = text if len(text) <= 70 else text[:69] + "…"
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    left, top, right, bottom = (int(v) for v in probe.textbbox((0, 0), text, font=font))
    pad = size // 2
    img = Image.new("RGBA", (min(width - 24, right - left + 2 * pad), bottom - top + 2 * pad),
                    (20, 20, 40, 190))
    ImageDraw.Draw(img).text((pad - left, pad - top), text, font=font, fill=(255, 255, 255, 255))
    img.save(path)
    return path


def _shots_and_sound(job: RenderJob, out: Path, tmp: Path) -> None:
    """A second pass for a storyboard and native sound: each shot gets its own colour and a
    banner with its prompt, cut hard at its start (so a person sees the shot change), and the
    sound is a tone whose pitch steps up with each shot."""
    info = probe_video(str(out))
    bounds, at = [], 0
    for _prompt, seconds in job.shots:
        bounds.append((at, at + int(seconds)))
        at += int(seconds)
    inputs = ["-i", str(out)]
    chain, last = [], "0:v"
    if bounds:
        steps = "+".join(f"gte(t\\,{a})" for a, _b in bounds[1:]) or "0"
        chain.append(f"[0:v]hue=H='2*PI*0.3*({steps})'[h]")
        last = "h"
        for i, ((a, b), (prompt, _s)) in enumerate(zip(bounds, job.shots, strict=True), 1):
            banner = _shot_png(tmp / f"shot{i}.png", info.width, i, len(bounds), prompt)
            inputs += ["-i", str(banner)]
            chain.append(f"[{last}][{i}:v]overlay=12:H-h-12:enable='between(t,{a},{b - 0.001})'[s{i}]")
            last = f"s{i}"
    chain.append(f"[{last}]format=yuv420p[out]")
    audio: list[str] = []
    if job.audio:
        pitch = "+".join(f"110*gte(t\\,{a})" for a, _b in bounds[1:]) or "0"
        inputs += ["-f", "lavfi", "-t", f"{info.duration:.3f}", "-i",
                   f"aevalsrc='0.2*sin(2*PI*(440+{pitch})*t)':s=44100"]
        audio = ["-map", f"{inputs.count('-i') - 1}:a"]
    elif info.has_audio:
        audio = ["-map", "0:a"]
    done = tmp / "shots.mp4"
    run_ffmpeg([*inputs, "-filter_complex", ";".join(chain), "-map", "[out]", *audio,
                *_encode_args(done, audio=bool(audio))],
               timeout=RENDER_TIMEOUT, what="Rendering the simulated shots", background=True)
    os.replace(done, out)


def _image_aspect(path: str) -> str:
    with Image.open(path) as img:
        return nearest_aspect(*img.size)


def _build_args(job: RenderJob, tmp: Path, out: Path) -> list[str]:
    if job.kind in ("feature", "base"):
        return _video_args(job, tmp, out)
    duration = max(1, int(job.duration))
    aspect = _image_aspect(job.images[0]) if job.kind == "frames" and job.images else job.aspect_ratio
    width, height = output_size(job.mode, aspect)
    stamp = _stamp_png(tmp / "stamp.png", width)
    frames = duration * FPS
    if job.kind == "text" or not job.images:
        card = _title_png(tmp / "title.png", width, height, job.prompt)
        inputs = ["-loop", "1", "-framerate", str(ANIM_FPS), "-t", str(duration), "-i", str(card)]
        graph = (
            f"[0:v]zoompan=z='min(1+on*{0.0015 * _ANIM_STEP},1.3)':x='iw/2-(iw/zoom/2)'"
            f":y='ih/2-(ih/zoom/2)':d=1:s={width}x{height}:fps={ANIM_FPS},fps={FPS}[v]"
        )
        return [*inputs, "-i", str(stamp), "-filter_complex", graph + ";" + _stamp_chain("v", 1),
                "-map", "[out]", "-frames:v", str(frames), *_encode_args(out, audio=False)]
    if job.kind == "frames":
        return _frames_args(job, width, height, duration, stamp, out)
    return _slideshow_args(job, width, height, duration, stamp, out)


def _frames_args(
    job: RenderJob, width: int, height: int, duration: int, stamp: Path, out: Path
) -> list[str]:
    """Push in on the start frame; with an end frame, cross-fade into it for the last second."""
    images = list(job.images[:2])
    inputs: list[str] = []
    parts: list[str] = []
    seg = duration if len(images) == 1 else (duration + XFADE_SECONDS) / 2
    for i, path in enumerate(images):
        inputs += ["-loop", "1", "-framerate", str(ANIM_FPS), "-t", f"{seg:.3f}", "-i", path]
        parts.append(
            f"[{i}:v]{_fit(width, height)},zoompan=z='min(1+on*{0.002 * _ANIM_STEP},1.4)'"
            f":x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':d=1:s={width}x{height}:fps={ANIM_FPS},"
            f"fps={FPS},format=yuv420p[s{i}]"
        )
    last = "s0"
    if len(images) == 2:
        offset = seg - XFADE_SECONDS
        parts.append(f"[s0][s1]xfade=transition=fade:duration={XFADE_SECONDS}:offset={offset:.3f}[x]")
        last = "x"
    n = len(images)
    graph = ";".join([*parts, _stamp_chain(last, n)])
    return [*inputs, "-i", str(stamp), "-filter_complex", graph, "-map", "[out]",
            "-frames:v", str(duration * FPS), *_encode_args(out, audio=False)]


def _slideshow_args(
    job: RenderJob, width: int, height: int, duration: int, stamp: Path, out: Path
) -> list[str]:
    """Each reference image for an equal share of the duration, concatenated."""
    images = list(job.images)
    each = duration / len(images)
    inputs: list[str] = []
    parts: list[str] = []
    for i, path in enumerate(images):
        inputs += ["-loop", "1", "-framerate", str(FPS), "-t", f"{each:.3f}", "-i", path]
        parts.append(f"[{i}:v]{_fit(width, height)},fps={FPS},format=yuv420p[s{i}]")
    joined = "".join(f"[s{i}]" for i in range(len(images)))
    parts.append(f"{joined}concat=n={len(images)}:v=1:a=0[v]")
    graph = ";".join([*parts, _stamp_chain("v", len(images))])
    return [*inputs, "-i", str(stamp), "-filter_complex", graph, "-map", "[out]",
            "-frames:v", str(duration * FPS), *_encode_args(out, audio=False)]


def _even(v: float) -> int:
    return max(2, int(round(v / 2)) * 2)


def base_size(width: int, height: int, mode: str) -> tuple[int, int]:
    """A base edit keeps the clip's shape: its short side becomes the mode's (720/1080), the long
    side follows (even), capped at the mode's long side (a very wide clip is centre-cropped)."""
    long, short = SIZES.get(mode, SIZES["pro"])
    if width >= height:
        return min(_even(width * short / height), long), short
    return short, min(_even(height * short / width), long)


def _work_size(width: int, height: int) -> tuple[int, int]:
    """Where a video's look is computed: at most WORK_SHORT px on the short side (then scaled up;
    edge detection and hue at 1080p cost about 2x more for a picture nobody inspects closely)."""
    scale = min(1.0, WORK_SHORT / min(width, height))
    return _even(width * scale), _even(height * scale)


def _video_args(job: RenderJob, tmp: Path, out: Path) -> list[str]:
    """Restyle the reference video: feature loops/cuts to `duration`, base keeps its length."""
    if not job.video:
        raise MediaError("The simulated video render needs a reference video.")
    if job.kind == "feature":
        width, height = output_size(job.mode, job.aspect_ratio)
        stamp = _stamp_png(tmp / "stamp.png", width)
        inputs = ["-stream_loop", "-1", "-i", job.video]
        work_w, work_h = _work_size(width, height)
        look = f"{_fit(work_w, work_h)},hue=h=t*40:s=1.4,scale={width}:{height}:flags=fast_bilinear"
        limit = ["-t", str(max(1, int(job.duration)))]
    else:
        # A base edit keeps the input's shape and length.
        info = probe_video(job.video)
        width, height = base_size(info.width, info.height, job.mode)
        stamp = _stamp_png(tmp / "stamp.png", max(width, height))
        work_w, work_h = _work_size(width, height)
        inputs = ["-i", job.video]
        look = (
            f"{_fit(work_w, work_h)},edgedetect=mode=colormix:high=0.2,eq=saturation=1.6,"
            f"scale={width}:{height}:flags=fast_bilinear"
        )
        limit = []
    graph = f"[0:v]{look},fps={FPS},format=yuv420p[v];" + _stamp_chain("v", 1)
    audio = ["-map", "0:a?"] if job.keep_sound else []
    return [*inputs, "-i", str(stamp), "-filter_complex", graph, "-map", "[out]", *audio,
            *limit, *_encode_args(out, audio=job.keep_sound)]
