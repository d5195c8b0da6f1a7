"""The input doctor: applies the remedies the rules core names, writing new files in `out_dir`.

Images ("rotate", "convert", "recompress", "upscale", "pad"/"crop"): Pillow, first frame only,
8-bit sRGB out, metadata stripped. Videos ("trim", "transcode", "scale", "fps", "shrink"): one
ffmpeg run, a stream copy when only a cut is needed, otherwise H.264/AAC MP4. The original file
is never modified, and every output is probed again and must pass the rules before it is
returned, so a fix can never hand Kling something it rejects.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps

from ..core import rules
from ..core.errors import InputError, MediaError
from ..core.models import Fix, ImageInfo, VideoInfo
from .ffmpeg import run_ffmpeg_progress
from .paths import human_size, out_path
from .probe import probe_image, probe_video

# --- images -----------------------------------------------------------------------------------
# Formats whose content is photographic and lossy already: re-saved as JPEG, not as a huge PNG.
_PHOTO_FORMATS = ("JPEG", "MPO", "HEIF", "AVIF")
JPEG_QUALITY = 92
# Quality steps tried, then 0.8x downscales, until a file is under rules.IMAGE_MAX_BYTES.
_SHRINK_QUALITIES = (90, 85, 80)
_SHRINK_SCALE = 0.8
PAD_COLOR = (0, 0, 0)  # letterbox bars
FLATTEN_COLOR = (255, 255, 255)  # transparency under a JPEG

# --- videos -----------------------------------------------------------------------------------
WINDOW_MIN = rules.VIDEO_MIN_SECONDS
WINDOW_MAX = rules.WINDOW_MAX_SECONDS  # the default and longest window we cut (rules allow up to 10.05 s as given)
ACCEPTED_PIX_FMTS = ("yuv420p", "yuvj420p")  # 8-bit 4:2:0: what Kling and every browser decode
COPY_AUDIO = ("aac", "mp3")  # audio an mp4 carries and browsers play; anything else becomes AAC
# When a clip must shrink we aim at Kling's pro output size (1080p) rather than the 2160 limit:
# more pixels cost upload and encode time and Kling renders at 1080p anyway [kling-o1.md].
TARGET_SHORT_SIDE = 1080
# Output budget: stay well under Replicate's 100 MB upload limit (rules.UPLOAD_MAX_BYTES).
OUTPUT_BUDGET_BYTES = int(rules.UPLOAD_MAX_BYTES * 0.9)
COPY_SLACK = 0.5  # s: a copied cut may start this much earlier than asked; more is re-encoded
COPY_MAX_SHARE = 0.9  # a copied window estimated above this share of the limit is re-encoded
AUDIO_BITRATE = 128_000
CRF = 21
# x264 presets. veryfast is a good size/quality trade for ordinary clips. Decoding 4K above
# 30 fps alone takes ~80% of real time on 2 cores (measured: 4K60 H.264 at 71 Mb/s, 1.6 CPU-s
# per second of clip), so heavy sources get ultrafast: larger files (still far under the budget)
# and a 10 s 4K60 -> 1080p60 run stays near real time.
PRESET = "veryfast"
PRESET_HEAVY = "ultrafast"
HEAVY_PIXEL_RATE = 3840 * 2160 * 31  # source pixels per second above which decoding dominates


# =============================================================================================
# Images
# =============================================================================================

def _to_srgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    """Convert from the embedded ICC profile to sRGB, so stripping it keeps the colours."""
    if not icc or im.mode not in ("RGB", "RGBA", "CMYK"):
        return im
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        dst = ImageCms.createProfile("sRGB")
        out_mode = "RGBA" if im.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(im, src, dst, outputMode=out_mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return im  # a broken profile: plain conversion below is the best we can do
    return converted if converted is not None else im


def _to_8bit(im: Image.Image) -> Image.Image:
    """8-bit L, RGB or RGBA from any Pillow mode; 16-bit and float greys are rescaled, not clipped."""
    mode = im.mode
    if mode in ("L", "RGB", "RGBA"):
        return im
    if mode.startswith("I") or mode == "F":
        grey = im.convert("F") if mode == "F" else im.convert("I")
        hi = grey.getextrema()[1]
        if not isinstance(hi, (int, float)):  # pragma: no cover - single-band modes only
            hi = 255
        scale = 255.0 if mode == "F" and hi <= 1.0 else (
            1 / 257 if hi > 255 and (mode.startswith("I;16") or hi <= 65535) else (
                255 / hi if hi > 255 else 1.0))
        return grey.point(lambda v: v * scale).convert("L")
    if mode in ("LA", "La", "PA", "RGBa") or (mode == "P" and "transparency" in im.info):
        return im.convert("RGBA")
    if mode == "1":
        return im.convert("L")
    return im.convert("RGB")  # P, CMYK, YCbCr, LAB, HSV


def _flatten(im: Image.Image) -> Image.Image:
    if im.mode != "RGBA":
        return im
    base = Image.new("RGB", im.size, FLATTEN_COLOR)
    base.paste(im, mask=im.getchannel("A"))
    return base


def _encode(im: Image.Image, fmt: str, quality: int = JPEG_QUALITY) -> bytes:
    # Pillow writes some of `im.info` back on save (a JPEG's comment, EXIF, ICC): start from a
    # copy with none of it, so no metadata (or script hidden in it) survives the fix.
    im = im.copy()
    im.info = {}
    buf = io.BytesIO()
    if fmt == "JPEG":
        _flatten(im).save(buf, "JPEG", quality=quality, optimize=True)
    else:
        im.save(buf, "PNG", compress_level=6)
    return buf.getvalue()


def _aspect(im: Image.Image, how: str) -> tuple[Image.Image, str]:
    """Pad or centre-crop into 1:2.5..2.5:1; returns the image and its new size ("" if kept)."""
    w, h = im.size
    lo, hi = 1 / rules.IMAGE_MAX_ASPECT, rules.IMAGE_MAX_ASPECT
    if lo <= w / h <= hi:
        return im, ""
    wide = w / h > hi
    if how == "crop":
        nw, nh = (math.floor(h * hi), h) if wide else (w, math.floor(w * hi))
        left, top = (w - nw) // 2, (h - nh) // 2
        return im.crop((left, top, left + nw, top + nh)), f"{nw}x{nh}"
    nw, nh = (w, math.ceil(w / hi)) if wide else (math.ceil(h / hi), h)
    fill: tuple[int, ...] | int
    fill = PAD_COLOR + (255,) if im.mode == "RGBA" else (0 if im.mode == "L" else PAD_COLOR)
    canvas = Image.new(im.mode, (nw, nh), fill)
    canvas.paste(im, ((nw - w) // 2, (nh - h) // 2))
    return canvas, f"{nw}x{nh}"


def fix_image(
    info: ImageInfo, out_dir: str, *, aspect_fix: str = "pad", field: str = "image"
) -> tuple[str, list[Fix]]:
    """Write a copy of the image that Kling accepts; return its path and what was changed.

    `aspect_fix` is "pad" (black bars) or "crop" (centre) for images outside 1:2.5..2.5:1.
    When nothing needs fixing the original path is returned with no fixes.
    """
    if aspect_fix not in ("pad", "crop"):
        raise ValueError(f"aspect_fix must be 'pad' or 'crop', not {aspect_fix!r}")
    if not rules.check_image(info, field) and not info.has_metadata:
        return info.path, []
    fixes: list[Fix] = []
    try:
        with Image.open(info.path) as src:
            src.seek(0)
            icc = src.info.get("icc_profile")
            if info.orientation not in (0, 1):
                im = ImageOps.exif_transpose(src)
                fixes.append(Fix(field, "rotate", "Turned the picture upright (it was stored "
                                 f"rotated, EXIF orientation {info.orientation})."))
            else:
                src.load()
                im = src.copy()
    except (OSError, ValueError, SyntaxError) as exc:
        raise InputError(f"This {info.format} image could not be read to fix it. Export it again "
                         "as JPEG or PNG and upload that.") from exc
    if info.animated:
        fixes.append(Fix(field, "convert", f"Used the first of {info.frames} animation frames."))
    im = _to_srgb(im, icc)
    im = _to_8bit(im)
    if info.mode not in ("RGB", "RGBA", "L"):
        fixes.append(Fix(field, "convert", f"Converted {info.mode} colour to 8-bit {im.mode}."))

    before = f"{im.width}x{im.height}"
    im, new_size = _aspect(im, aspect_fix)
    if new_size:
        ratio = f"{rules.IMAGE_MAX_ASPECT:g}:1" if im.width >= im.height else (
            f"1:{rules.IMAGE_MAX_ASPECT:g}")
        if aspect_fix == "pad":
            fixes.append(Fix(field, "pad", f"Padded {before} to {new_size} with black bars "
                             f"to reach {ratio}."))
        else:
            fixes.append(Fix(field, "crop", f"Cropped the centre {new_size} of {before} "
                             f"to reach {ratio}."))

    short = min(im.size)
    if short < rules.IMAGE_MIN_SIDE:
        k = rules.IMAGE_MIN_SIDE / short
        size = (max(rules.IMAGE_MIN_SIDE, math.ceil(im.width * k)),
                max(rules.IMAGE_MIN_SIDE, math.ceil(im.height * k)))
        fixes.append(Fix(field, "upscale", f"Upscaled {im.width}x{im.height} to "
                         f"{size[0]}x{size[1]} (each side must be at least "
                         f"{rules.IMAGE_MIN_SIDE} px; it may look soft)."))
        im = im.resize(size, Image.Resampling.LANCZOS)

    fmt = "JPEG" if info.format in _PHOTO_FORMATS and im.mode != "RGBA" else "PNG"
    if info.format != fmt:
        fixes.append(Fix(field, "convert", f"Converted {info.format} to {fmt}."))
    # An oversized PNG would come out about as big again: go straight to recompressing it.
    oversized_png = fmt == "PNG" and info.format == "PNG" and info.bytes > rules.IMAGE_MAX_BYTES
    data = b"" if oversized_png else _encode(im, fmt)
    if oversized_png or len(data) > rules.IMAGE_MAX_BYTES:
        data, fmt, im, how = _shrink(im, fmt, len(data) or info.bytes)
        fixes.append(Fix(field, "recompress", f"Recompressed {human_size(info.bytes)} to "
                         f"{human_size(len(data))} ({how}); Kling accepts up to 10 MB."))
    if info.has_metadata:
        fixes.append(Fix(field, "strip", "Removed metadata (EXIF camera and location data, "
                         "colour profile, text) before upload."))

    path = out_path(out_dir, info.path, "fixed", ".jpg" if fmt == "JPEG" else ".png")
    with open(path, "wb") as f:
        f.write(data)
    out = probe_image(path)
    left = [p for p in rules.check_image(out, field) if p.is_error]
    if left:  # pragma: no cover - a bug in this module, not in the upload
        raise MediaError(f"The fixed image still has problems: {left[0].message}")
    return path, fixes


def _shrink(im: Image.Image, fmt: str, size: int) -> tuple[bytes, str, Image.Image, str]:
    """Recompress (PNG -> JPEG, lower quality), then downscale, until under the byte limit."""
    notes = []
    if fmt == "PNG":
        notes.append("as JPEG" + (", transparency flattened onto white" if im.mode == "RGBA"
                                  else ""))
    for quality in _SHRINK_QUALITIES:
        data = _encode(im, "JPEG", quality)
        if len(data) <= rules.IMAGE_MAX_BYTES:
            return data, "JPEG", im, ", ".join(notes + [f"quality {quality}"])
    while min(im.size) * _SHRINK_SCALE >= rules.IMAGE_MIN_SIDE:
        im = im.resize((round(im.width * _SHRINK_SCALE), round(im.height * _SHRINK_SCALE)),
                       Image.Resampling.LANCZOS)
        data = _encode(im, "JPEG", _SHRINK_QUALITIES[-1])
        if len(data) <= rules.IMAGE_MAX_BYTES:
            return data, "JPEG", im, ", ".join(
                notes + [f"quality {_SHRINK_QUALITIES[-1]}", f"downscaled to {im.width}x{im.height}"])
    raise InputError(f"This image is still over 10 MB ({human_size(size)}) after recompressing. "
                     "Upload a smaller JPEG or PNG.")


# =============================================================================================
# Videos
# =============================================================================================

@dataclass(frozen=True)
class VideoFixPlan:
    """What `fix_video` will do to one clip; pure data, so it can be shown before any work.

    `width`/`height` are the output picture (as displayed), `pad_width`/`pad_height` the frame
    after black bars (equal to width/height when no pad is needed). `fps` is None when the
    source rate is kept. `actions` are the rules' fix codes this plan applies.
    """

    start: float
    length: float
    trim: bool
    copy: bool
    width: int
    height: int
    pad_width: int
    pad_height: int
    fps: float | None
    audio: str | None  # "copy", "aac" or None (no sound)
    actions: tuple[str, ...]
    steps: tuple[str, ...]

    @property
    def end(self) -> float:
        return self.start + self.length

    @property
    def needed(self) -> bool:
        return bool(self.actions)


def _even(x: float) -> int:
    return max(2, int(round(x / 2)) * 2)


def _geometry(w: int, h: int) -> tuple[int, int, int, int]:
    """Output (width, height, pad_width, pad_height): each side within 720..2160, shape kept."""
    lo, hi = rules.VIDEO_MIN_SIDE, rules.VIDEO_MAX_SIDE
    short, long_ = min(w, h), max(w, h)
    if short >= lo and long_ <= hi:
        s = 1.0
    elif long_ > hi and long_ * TARGET_SHORT_SIDE / short <= hi:
        s = TARGET_SHORT_SIDE / short  # e.g. 3840x2160 -> 1920x1080
    elif long_ > hi:
        s = hi / long_
    else:  # too small: upscale the short side to the minimum, unless the long side overflows
        s = min(lo / short, hi / long_)
    tw, th = _even(w * s), _even(h * s)
    if min(tw, th) >= lo - 1:  # rounding aside, the shape fits without bars
        tw, th = (max(tw, lo), th) if tw <= th else (tw, max(th, lo))
        tw, th = min(tw, hi), min(th, hi)
        return tw, th, tw, th
    return tw, th, max(tw, lo), max(th, lo)


def plan_video_fix(
    info: VideoInfo, *, start: float = 0.0, length: float | None = None
) -> VideoFixPlan:
    """Decide how to make `info` acceptable to Kling, for the window `start` .. `start+length`.

    `length` defaults to the whole clip when it is short enough, else 10 s; it is clamped to
    3..10 s and to the clip. InputError when no fix can help (under 3 s, no real picture).
    """
    if info.width < 2 or info.height < 2:
        raise InputError(f"This video is {info.width}x{info.height} px, too small to be a real "
                         "video; it cannot be fixed. Use another clip.")
    dur = info.duration
    if dur < WINDOW_MIN:
        raise InputError(f"This video is {dur:.2f} s; Kling needs at least {WINDOW_MIN:g} s and a "
                         "shorter clip cannot be fixed without inventing frames. Use a longer clip.")
    start, end = rules.trim_window(dur, start, length)  # what the checks and the cost show
    length = end - start
    trim = start > 0.01 or length < dur - 0.01

    actions: list[str] = []
    steps: list[str] = []
    if trim:
        actions.append("trim")
        steps.append(f"Cut {start:.1f}-{start + length:.1f} s of {dur:.1f} s")
    reencode_why = []
    if info.container not in rules.VIDEO_CONTAINERS or info.video_codec not in rules.VIDEO_CODECS:
        reencode_why.append(f"{info.container}/{info.video_codec} is not MP4/MOV H.264/HEVC")
    if info.pix_fmt not in ACCEPTED_PIX_FMTS:
        reencode_why.append(f"{info.pix_fmt} pixels are not 8-bit 4:2:0")
    if reencode_why:
        actions.append("transcode")
        steps.append("Re-encode to H.264/AAC MP4 (" + "; ".join(reencode_why) + ")")

    w, h, pw, ph = _geometry(info.width, info.height)
    if (w, h) != (info.width, info.height):
        actions.append("scale")
        steps.append(f"Scale {info.width}x{info.height} to {w}x{h}")
    if (pw, ph) != (w, h):
        actions.append("pad")
        steps.append(f"Pad to {pw}x{ph} with black bars (the shape is too long for "
                     f"{rules.VIDEO_MIN_SIDE}-{rules.VIDEO_MAX_SIDE} px sides)")

    fps: float | None = None
    if info.variable_fps or not (rules.VIDEO_MIN_FPS <= info.fps <= rules.VIDEO_MAX_FPS):
        fps = float(min(max(round(info.fps or 30), rules.VIDEO_MIN_FPS), rules.VIDEO_MAX_FPS))
        actions.append("fps")
        what = f"variable ~{info.fps:.1f} fps" if info.variable_fps else f"{info.fps:g} fps"
        steps.append(f"Convert {what} to a constant {fps:g} fps")

    est = info.bytes * length / dur if dur else info.bytes
    if est >= COPY_MAX_SHARE * rules.UPLOAD_MAX_BYTES:
        actions.append("shrink")
        steps.append(f"Re-encode smaller (about {human_size(int(est))} for this window; uploads must "
                     "be under 100 MB)")

    copy = not (set(actions) - {"trim"})
    if copy and info.rotation:
        steps.append(f"Keep the rotation tag ({info.rotation} degrees)")
    if not copy and info.rotation:
        steps.append(f"Turn the picture upright (rotation {info.rotation} degrees)")
    audio: str | None = None
    if info.audio_codec is not None:
        audio = "copy" if info.audio_codec in COPY_AUDIO else "aac"
        if audio == "aac":
            steps.append(f"Encode the sound ({info.audio_codec}) as AAC")
    if copy and trim:
        steps.append("Stream copy: no quality loss" + (
            "; the cut starts at the keyframe at or before the start" if start > 0.01 else ""))
    return VideoFixPlan(
        start=round(start, 3), length=round(length, 3), trim=trim, copy=copy,
        width=w, height=h, pad_width=pw, pad_height=ph, fps=fps, audio=audio,
        actions=tuple(actions), steps=tuple(steps),
    )


def _filters(info: VideoInfo, plan: VideoFixPlan) -> str:
    chain: list[str] = []
    scale = ""
    if (plan.width, plan.height) != (info.width, info.height):
        down = plan.width * plan.height < info.width * info.height
        # bilinear is antialiased in swscale when shrinking and cheaper than bicubic on 4K
        scale = f"scale={plan.width}:{plan.height}:flags={'bilinear' if down else 'bicubic'}"
    fps = f"fps={plan.fps:g}" if plan.fps else ""
    # Drop frames before scaling (120 -> 60 halves the work); duplicate after it.
    first_fps = bool(fps and plan.fps and info.fps > plan.fps)
    chain += [f for f in ((fps, scale) if first_fps else (scale, fps)) if f]
    if (plan.pad_width, plan.pad_height) != (plan.width, plan.height):
        chain.append(f"pad={plan.pad_width}:{plan.pad_height}:(ow-iw)/2:(oh-ih)/2:black")
    chain += ["setsar=1", "format=yuv420p"]
    return ",".join(chain)


def _ffmpeg_args(info: VideoInfo, plan: VideoFixPlan, out: str, copy: bool) -> list[str]:
    args = ["-y"]
    if plan.start > 0:
        args += ["-ss", f"{plan.start:.3f}"]
    args += ["-i", info.path, "-t", f"{plan.length:.3f}",
             "-map", "0:V:0", "-map", "0:a:0?", "-map_metadata", "-1", "-map_chapters", "-1"]
    if copy:
        args += ["-c:v", "copy", "-avoid_negative_ts", "make_zero"]
        if info.video_codec == "hevc":
            args += ["-tag:v", "hvc1"]  # what Apple players and Kling's pipeline expect
    else:
        # Size the VBV so the whole window cannot exceed the budget: maxrate * (length + 1 s
        # buffer) plus the sound stays under OUTPUT_BUDGET_BYTES.
        maxrate = int(OUTPUT_BUDGET_BYTES * 8 / (plan.length + 1) - AUDIO_BITRATE)
        heavy = info.width * info.height * info.fps > HEAVY_PIXEL_RATE
        args += ["-vf", _filters(info, plan), "-c:v", "libx264",
                 "-preset", PRESET_HEAVY if heavy else PRESET,
                 "-crf", str(CRF), "-maxrate", str(maxrate), "-bufsize", str(maxrate),
                 "-profile:v", "high", "-pix_fmt", "yuv420p",
                 # constant frame rate out, whatever the gaps in the source's timestamps
                 "-fps_mode", "cfr"]
    if plan.audio == "copy" or (plan.audio and info.audio_codec in COPY_AUDIO):
        args += ["-c:a", "copy"]  # AAC/MP3 sound needs no re-encode even when the picture does
    elif plan.audio:
        args += ["-c:a", "copy"]
        args += ["-c:a", "aac", "-b:a", str(AUDIO_BITRATE)]
    args += ["-movflags", "+faststart", "-f", "mp4", out]
    return args


def fix_video(
    info: VideoInfo,
    out_dir: str,
    *,
    start: float = 0.0,
    length: float | None = None,
    on_progress: Callable[[float], None] | None = None,
    field: str = "reference_video",
) -> tuple[str, list[Fix]]:
    """Write an MP4 Kling accepts for the chosen window; return its path and what was changed.

    When nothing needs fixing the original path is returned with no fixes. `on_progress`
    receives fractions 0..1 while ffmpeg works.
    """
    plan = plan_video_fix(info, start=start, length=length)
    if not plan.needed and not rules.check_video(info, field):
        return info.path, []
    out = out_path(out_dir, info.path, "fixed", ".mp4")
    copied = plan.copy
    # A stream copy takes a blink; its progress is not reported, so the bar never runs backwards
    # when the copy has to be redone by re-encoding.
    run_ffmpeg_progress(_ffmpeg_args(info, plan, out, copied), duration=plan.length,
                        on_progress=None if copied else on_progress, what="Fixing the video")
    result = probe_video(out)
    if copied and (result.duration > plan.length + COPY_SLACK
                   or [p for p in rules.check_video(result, field) if p.is_error]):
        # A copied cut starts at the keyframe at or before `start`; when that is far from
        # what the user picked (or leaves the clip over 10 s), cut again exactly by re-encoding.
        copied = False
        run_ffmpeg_progress(_ffmpeg_args(info, plan, out, copied), duration=plan.length,
                            on_progress=on_progress, what="Fixing the video")
        result = probe_video(out)
    left = [p for p in rules.check_video(result, field) if p.is_error]
    if left:
        raise MediaError(f"The fixed video still has a problem: {left[0].message}")
    if copied and on_progress is not None:
        on_progress(1.0)
    return out, _video_fixes(info, plan, result, copied, field)


def _video_fixes(
    info: VideoInfo, plan: VideoFixPlan, out: VideoInfo, copied: bool, field: str
) -> list[Fix]:
    fixes: list[Fix] = []
    if plan.trim:
        how = "re-encoded, exact cut" if not copied else (
            "stream copy, no quality loss; approximate: it starts at the keyframe at or before "
            f"{plan.start:.1f} s" if plan.start > 0.01 else "stream copy, no quality loss")
        fixes.append(Fix(field, "trim", f"Trimmed {plan.start:.1f}-{plan.end:.1f} s of "
                         f"{info.duration:.1f} s ({how}); the result is {out.duration:.1f} s."))
    if not copied:
        fixes.append(Fix(field, "transcode", f"Re-encoded {info.container.upper()} / "
                         f"{info.video_codec} ({info.pix_fmt}) to H.264 MP4 (yuv420p)."))
    if "scale" in plan.actions:
        fixes.append(Fix(field, "scale", f"Scaled {info.width}x{info.height} to "
                         f"{plan.width}x{plan.height}, keeping its shape."))
    if "pad" in plan.actions:
        fixes.append(Fix(field, "pad", f"Added black bars to {plan.pad_width}x{plan.pad_height} "
                         f"(each side must be {rules.VIDEO_MIN_SIDE}-{rules.VIDEO_MAX_SIDE} px)."))
    if not copied and info.rotation:
        fixes.append(Fix(field, "rotate", f"Turned the picture upright (it was stored rotated "
                         f"{info.rotation} degrees)."))
    if plan.fps:
        what = (f"variable frame rate (about {info.fps:.1f} fps)" if info.variable_fps
                else f"{info.fps:g} fps")
        fixes.append(Fix(field, "fps", f"Converted {what} to a constant {plan.fps:g} fps."))
    if "shrink" in plan.actions or (not copied and info.bytes >= rules.UPLOAD_MAX_BYTES):
        fixes.append(Fix(field, "shrink", f"Re-encoded {human_size(info.bytes)} to {human_size(out.bytes)} "
                         "(uploads must be under 100 MB)."))
    if plan.audio == "aac":
        fixes.append(Fix(field, "transcode", f"Converted the {info.audio_codec} sound to AAC."))
    return fixes
