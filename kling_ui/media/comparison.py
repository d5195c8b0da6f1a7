"""Comparison exports: one MP4 of original and output a person can forward, and a stills sheet.

Layouts (issue #13):
- `side_by_side`: original left, output right, each fitted into the output's frame (letterboxed)
  at the output's own resolution up to 1080p a panel (issue #24: two 1080p clips give a
  3840x1080 side by side, not a 960x540 one);
- `stacked`: original above the output (for portrait clips);
- `wipe`: one frame, the original left of a line that sweeps back and forth, the output right.

Both halves are labelled ("Original", "Kling O1") with Pillow-drawn PNG overlays (the bundled
ffmpeg's drawtext may have no font). `start` is where the output's window begins in the original
(a 7-12 s edit of a 20 s clip is compared with 7-12 s, not 0-5 s). The export lasts as long as
the output; a shorter original
holds its last frame, and an image original (a start frame) is shown as a still. Sound comes
from the output, the original, or nowhere.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from ..core.errors import InputError, MediaError
from ..core.models import ImageInfo, VideoInfo
from .ffmpeg import pipe_ffmpeg, run_ffmpeg

LAYOUTS = ("side_by_side", "wipe", "stacked")
AUDIO_CHOICES = ("output", "original", "none")
LABELS = ("Original", "Kling O1")
MAX_SIDE = 1080  # px: each panel's short side is at most this (1080p panels, not more)
FPS = 24  # Kling's output rate (kling-o1.md)
WIPE_PERIOD = 4.0  # s for the wipe line to sweep across and back
EXPORT_TIMEOUT = 600.0
STILLS = 4  # moments on the stills sheet
STILL_WIDTH = 320


def box_size(output: VideoInfo) -> tuple[int, int]:
    """Each half's size: the output's shape, short side at most MAX_SIDE, even sides."""
    w, h = output.width, output.height
    scale = min(1.0, MAX_SIDE / min(w, h))
    return max(2, int(w * scale) // 2 * 2), max(2, int(h * scale) // 2 * 2)


def export_size(output: VideoInfo, layout: str) -> tuple[int, int]:
    w, h = box_size(output)
    return {"side_by_side": (2 * w, h), "stacked": (w, 2 * h)}.get(layout, (w, h))


def check_export(original: VideoInfo | ImageInfo, output: VideoInfo, layout: str,
                 audio: str, start: float = 0.0) -> None:
    if layout not in LAYOUTS:
        raise InputError(f"layout must be one of {', '.join(LAYOUTS)} (got {layout!r}).")
    if audio not in AUDIO_CHOICES:
        raise InputError(f"audio must be one of {', '.join(AUDIO_CHOICES)} (got {audio!r}).")
    if audio == "output" and not output.has_audio:
        raise InputError("The output has no sound; choose audio='original' or 'none'.")
    if not start >= 0:  # also refuses NaN
        raise InputError(f"The start ({start:g} s) must be 0 or more.")
    if isinstance(original, VideoInfo) and start >= original.duration - 0.1:
        raise InputError(f"The start ({start:.1f} s) is outside the original, which is "
                         f"{original.duration:.1f} s long. Give where the output's window "
                         "begins in it.")
    if audio == "original" and not (isinstance(original, VideoInfo) and original.has_audio):
        raise InputError("The original has no sound; choose audio='output' or 'none'.")


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # pragma: no cover - Pillow without FreeType
        return ImageFont.load_default()


def label_png(path: Path, text: str, height: int) -> Path:
    """A translucent dark badge with white text, sized for a frame `height` px tall."""
    size = max(12, height // 20)
    font = _font(size)
    left, top, right, bottom = (int(v) for v in
                                ImageDraw.Draw(Image.new("RGBA", (1, 1))).textbbox(
                                    (0, 0), text, font=font))
    pad = size // 2
    img = Image.new("RGBA", (right - left + 2 * pad, bottom - top + 2 * pad), (0, 0, 0, 160))
    ImageDraw.Draw(img).text((pad - left, pad - top), text, font=font, fill=(255, 255, 255, 255))
    img.save(path)
    return path


def export_args(original: VideoInfo | ImageInfo, output: VideoInfo, out: str, *, layout: str,
                audio: str, labels: tuple[Path, Path], start: float = 0.0) -> list[str]:
    """The ffmpeg arguments for one export (pure apart from the label files it names)."""
    w, h = box_size(output)
    dur = output.duration
    fit = (f"scale={w}:{h}:force_original_aspect_ratio=decrease,"
           f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,format=yuv420p")
    if isinstance(original, VideoInfo):
        a_in = [*(["-ss", f"{start:.3f}"] if start > 0 else []), "-i", original.path]
    else:  # a start frame: a still for the whole export
        a_in = ["-loop", "1", "-framerate", str(FPS), "-t", f"{dur:.3f}", "-i", original.path]
    graph = [
        f"[0:v]fps={FPS},{fit},tpad=stop_mode=clone:stop_duration={dur:.3f},"
        f"trim=duration={dur:.3f},setpts=PTS-STARTPTS[a]",
        f"[1:v]fps={FPS},{fit},setpts=PTS-STARTPTS[b]",
    ]
    if layout == "side_by_side":
        graph += ["[a][2:v]overlay=10:10[al]", "[b][3:v]overlay=10:10[bl]",
                  "[al][bl]hstack=inputs=2,format=yuv420p[v]"]
    elif layout == "stacked":
        graph += ["[a][2:v]overlay=10:10[al]", "[b][3:v]overlay=10:10[bl]",
                  "[al][bl]vstack=inputs=2,format=yuv420p[v]"]
    else:
        # A moving mask, not a per-pixel expression (blend's expressions run 10x slower): a
        # white|black strip twice the width, cropped at a per-frame x, is the original's alpha.
        pos = f"(0.5+0.42*sin(2*PI*t/{WIPE_PERIOD}))"
        graph += [
            f"color=c=white:s={2 * w}x{h}:r={FPS}:d={dur:.3f},"
            f"drawbox=x={w}:y=0:w={w}:h={h}:color=black:t=fill,"
            f"crop={w}:{h}:x='{w}*(1-{pos})':y=0,format=gray[mask]",
            "[a][mask]alphamerge[am]",
            "[b][am]overlay=0:0[w1]",
            f"color=c=white:s=4x{h}:r={FPS}:d={dur:.3f}[line]",
            f"[w1][line]overlay=x='{w}*{pos}-2':y=0[w2]",
            "[w2][2:v]overlay=10:10[wl]", "[wl][3:v]overlay=W-w-10:10,format=yuv420p[v]",
        ]
    maps = ["-map", "[v]"]
    if audio != "none":
        k = 1 if audio == "output" else 0
        graph.append(f"[{k}:a:0]apad,atrim=duration={dur:.3f}[au]")
        maps += ["-map", "[au]", "-c:a", "aac", "-b:a", "160k"]
    else:
        maps += ["-an"]
    return [*a_in, "-i", output.path, "-i", str(labels[0]), "-i", str(labels[1]),
            "-filter_complex", ";".join(graph), *maps,
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "21", "-pix_fmt", "yuv420p",
            "-t", f"{dur:.3f}", "-movflags", "+faststart", "-y", out]


def export_comparison(original: VideoInfo | ImageInfo, output: VideoInfo, out: str, *,
                      layout: str = "side_by_side", audio: str = "output",
                      start: float = 0.0) -> str:
    """Write the comparison MP4 to `out`, the original from `start` s; InputError for bad
    options, MediaError on failure."""
    check_export(original, output, layout, audio, start)
    _, h = box_size(output)
    tmp = Path(out).with_suffix("")
    labels = (label_png(Path(f"{tmp}-label-a.png"), LABELS[0], h),
              label_png(Path(f"{tmp}-label-b.png"), LABELS[1], h))
    try:
        run_ffmpeg(export_args(original, output, out, layout=layout, audio=audio, labels=labels,
                               start=start),
                   timeout=EXPORT_TIMEOUT, what="Exporting the comparison", background=True)
    finally:
        for p in labels:
            p.unlink(missing_ok=True)
    if not Path(out).is_file() or Path(out).stat().st_size == 0:
        raise MediaError("Exporting the comparison produced no file.")
    return out


def _frame_at(path: str, t: float | None, width: int) -> Image.Image:
    """One frame (at `t` s, or the image itself) scaled to `width`, as RGB."""
    seek = ["-ss", f"{t:.3f}"] if t else []
    data = pipe_ffmpeg([*seek, "-i", path, "-frames:v", "1", "-vf", f"scale={width}:-2",
                        "-f", "image2pipe", "-c:v", "png", "pipe:1"],
                       timeout=60, what="Reading a still for the sheet")
    if not data:
        raise MediaError("Reading a still for the sheet produced no frame.")
    return Image.open(io.BytesIO(data)).convert("RGB")


def stills_sheet(original: VideoInfo | ImageInfo, output: VideoInfo, out: str,
                 *, moments: int = STILLS, start: float = 0.0) -> str:
    """A PNG grid: before (top row) and after (bottom row) at `moments` times of the output."""
    times = [output.duration * (i + 0.5) / moments for i in range(moments)]
    if isinstance(original, VideoInfo):
        before = [_frame_at(original.path, min(start + t, original.duration - 0.05), STILL_WIDTH)
                  for t in times]
    else:  # a still: the same picture at every moment
        before = [_frame_at(original.path, None, STILL_WIDTH)] * moments
    rows = [before, [_frame_at(output.path, t, STILL_WIDTH) for t in times]]
    cell_h = max(im.height for row in rows for im in row)
    head, side, gap = 28, 96, 6
    sheet = Image.new("RGB", (side + moments * (STILL_WIDTH + gap), head + 2 * (cell_h + gap)),
                      (24, 24, 32))
    draw = ImageDraw.Draw(sheet)
    font = _font(16)
    for j, t in enumerate(times):
        draw.text((side + j * (STILL_WIDTH + gap) + 4, 6), f"{t:.1f} s", font=font,
                  fill=(220, 220, 230))
    for i, (label, row) in enumerate(zip(LABELS, rows, strict=True)):
        y = head + i * (cell_h + gap)
        draw.text((8, y + cell_h // 2 - 8), label, font=font, fill=(255, 255, 255))
        for j, im in enumerate(row):
            sheet.paste(im, (side + j * (STILL_WIDTH + gap), y))
    sheet.save(out, "PNG")
    return out
