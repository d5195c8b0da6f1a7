"""What the browser shows for an upload: a playable preview, a poster frame and a badge line.

Browsers play H.264 (yuv420p) in MP4/MOV and VP8/VP9 in WebM; anything else (HEVC .mov from an
iPhone, MKV, AVI, ...) gets a small, fast H.264 preview. Previews are for looking only: what
is uploaded to Kling is the original or the doctor's output (`fix.py`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from ..core.models import ImageInfo, Problem, VideoInfo
from .ffmpeg import run_ffmpeg
from .paths import human_size, out_path

PREVIEW_MAX_HEIGHT = 640
PREVIEW_MAX_SECONDS = 15.0
PREVIEW_MAX_FPS = 30
POSTER_MAX_SIDE = 1280
# The card's preview (issue #12): 360p, and the chosen window first. Decoding 4K60 HEVC runs at
# about real time on two cores, so a short first part (FIRST_PART_SECONDS) plays within a few
# seconds of the upload and the whole window follows.
WINDOW_PREVIEW_HEIGHT = 360
FIRST_PART_SECONDS = 2.0
MARK_ERROR = "✗"
MARK_WARNING = "⚠"


def browser_playable(info: VideoInfo) -> bool:
    """True when a browser's <video> plays the file as it is."""
    if info.container in ("mp4", "mov"):
        return info.video_codec == "h264" and info.pix_fmt in ("yuv420p", "yuvj420p")
    if info.container == "webm":
        return info.video_codec in ("vp8", "vp9")
    return False


def make_preview(info: VideoInfo, out_dir: str, *, start: float = 0.0,
                 length: float = PREVIEW_MAX_SECONDS, max_height: int = PREVIEW_MAX_HEIGHT) -> str:
    """A small H.264 MP4 (<= max_height px tall, <= 30 fps) that any browser plays: `length` s
    from `start` (the first 15 s by default)."""
    out = out_path(out_dir, info.path, "preview", ".mp4")
    # ffmpeg's autorotate runs before this chain, so ih is the displayed height.
    chain = [f"fps={PREVIEW_MAX_FPS}"] if info.fps > PREVIEW_MAX_FPS else []
    chain += [f"scale=-2:'max(2,2*trunc(min({max_height},ih)/2))':flags=bilinear",
              "format=yuv420p"]
    seek = ["-ss", f"{start:.3f}"] if start > 0 else []
    args = ["-y", *seek, "-i", info.path, "-t", f"{length:g}",
            "-map", "0:V:0", "-map", "0:a:0?", "-vf", ",".join(chain),
            "-c:v", "libx264", "-preset", "ultrafast", "-crf", "28", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "96k", "-movflags", "+faststart", "-f", "mp4", out]
    run_ffmpeg(args, what="Making the preview", background=True)
    return out


def make_poster(info: VideoInfo, out_dir: str, *, at: float | None = None,
                dest: str | None = None, max_side: int = POSTER_MAX_SIDE) -> str:
    """A JPEG frame from `at` s (default: about 1 s in, or the middle of a shorter clip), at
    most `max_side` px; `dest` names the file (else a new one in `out_dir`). The seek comes
    before the input, so ffmpeg jumps to the keyframe before it and decodes only from there: a
    fraction of a second even for a 4K HEVC clip."""
    out = dest or out_path(out_dir, info.path, "poster", ".jpg")
    vf = (f"scale='min({max_side},iw)':'min({max_side},ih)'"
          ":force_original_aspect_ratio=decrease:force_divisible_by=2:flags=fast_bilinear")
    when = min(1.0, info.duration / 2) if at is None else max(0.0, min(at, info.duration - 0.05))
    # Raw streams cannot seek, and a seek past a lying duration writes nothing: then frame 0.
    for seek in (["-ss", f"{when:.3f}"], []):
        args = ["-y", *seek, "-i", info.path, "-map", "0:V:0", "-frames:v", "1",
                "-vf", vf, "-q:v", "3", "-update", "1", "-f", "image2", out]
        proc = run_ffmpeg(args, check=not seek, what="Making the poster frame")
        if proc.returncode == 0 and os.path.getsize(out) > 0:
            break
    return out


def _mark(text: str, severity: str | None) -> str:
    if severity is None:
        return text
    return f"{MARK_ERROR if severity == 'error' else MARK_WARNING} {text}"


def _note(parts: dict[str, str | None], part: str, severity: str) -> None:
    """Remember the worst severity seen for one part of the badge."""
    if parts.get(part) != "error":
        parts[part] = severity


def _video_parts(problems: Iterable[Problem]) -> dict[str, str | None]:
    parts: dict[str, str | None] = {}
    for p in problems:
        fix, msg = p.fix, p.message
        if fix == "trim" or (fix is None and " s;" in msg and "at least 3 s" in msg):
            part = "duration"
        elif fix in ("scale", "pad") or (fix is None and " px" in msg):
            part = "size"
        elif fix == "fps":
            part = "fps"
        elif fix == "shrink":
            part = "bytes"
        elif fix == "transcode":
            part = "format"
        else:
            continue
        _note(parts, part, p.severity)
    return parts


def _image_parts(problems: Iterable[Problem]) -> dict[str, str | None]:
    parts: dict[str, str | None] = {}
    names = {"convert": "format", "recompress": "bytes", "upscale": "size", "pad": "size",
             "crop": "size", "rotate": "size"}
    for p in problems:
        if p.fix in names:
            _note(parts, names[p.fix], p.severity)
    return parts


def badge(info: VideoInfo | ImageInfo, problems: Iterable[Problem] = ()) -> str:
    """One line describing an upload, failing parts marked ✗ (error) or ⚠ (warning).

    Video: "8.1 s · 1920x1080 · 30 fps · audio · 24.0 MB" (format shown only when it fails).
    Image: "PNG · 1024x768 · 1.2 MB".
    """
    problems = list(problems)
    if isinstance(info, ImageInfo):
        marks = _image_parts(problems)
        items = [
            _mark(info.format + (f" ({info.frames} frames)" if info.animated else ""),
                  marks.get("format")),
            _mark(f"{info.width}x{info.height}", marks.get("size")),
            _mark(human_size(info.bytes), marks.get("bytes")),
        ]
        return " · ".join(items)
    marks = _video_parts(problems)
    approx = "~" if info.duration_estimated else ""
    fps = f"{info.fps:.2f}".rstrip("0").rstrip(".") + " fps" + (" (variable)" if info.variable_fps
                                                                else "")
    items = [
        _mark(f"{approx}{info.duration:.1f} s", marks.get("duration")),
        _mark(f"{info.width}x{info.height}", marks.get("size")),
        _mark(fps, marks.get("fps")),
        "audio" if info.has_audio else "no audio",
        _mark(human_size(info.bytes), marks.get("bytes")),
    ]
    if "format" in marks:
        items.insert(0, _mark(f"{info.container.upper()} {info.video_codec}", marks["format"]))
    return " · ".join(items)
