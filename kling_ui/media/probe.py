"""What an uploaded image or video really is, read from its content and headers, fast.

Images are opened with Pillow without decoding first, so absurd declared sizes and frame counts
are refused before any pixel is allocated; only then is the first frame checked for truncation.
Videos are read with ONE `ffmpeg -i` header read (there is no ffprobe in the imageio-ffmpeg
wheel); only suspicious files (no duration, a header that claims more than the file holds,
decoder errors while ffmpeg read the header) get a second, decode-free or few-frame look.
Every refusal is an `InputError` that says what the file is and what to upload instead.
"""

from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass, field

from PIL import Image, UnidentifiedImageError

from ..core.errors import InputError
from ..core.models import ImageInfo, VideoInfo
from .ffmpeg import run_ffmpeg

try:  # HEIC from iPhones; AVIF is also read by Pillow 11 itself
    from pillow_heif import register_heif_opener
except ImportError:  # pragma: no cover - optional, listed in requirements.txt
    HEIF_SUPPORT = False
else:
    register_heif_opener()
    HEIF_SUPPORT = True

# Decompression bombs: nothing a person uploads as a frame or reference needs more than
# 100 Mpx (a 200 Mpx phone photo decodes to 600 MB). Pillow's own check warns at its
# MAX_IMAGE_PIXELS and refuses at twice that; we align it with our cap so both agree.
MAX_IMAGE_PIXELS = 100_000_000
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
# Animated uploads: we only ever use the first frame, but counting is bounded by this cap.
MAX_IMAGE_FRAMES = 1000
# A header-declared duration is "lying" when the file holds less than this share of the bytes
# its streams' bitrates need (a truncated mp4 whose moov was written first).
TRUNCATED_SHARE = 0.85
# avg fps and tbr (r_frame_rate) further apart than this share mean a variable frame rate.
VFR_TOLERANCE = 0.01
SECOND_LOOK_TIMEOUT = 120.0

# Pillow's `info` keys that carry metadata we strip before upload (PNG text chunks are str values).
_METADATA_KEYS = ("exif", "icc_profile", "xmp", "XML:com.adobe.xmp", "comment", "photoshop")
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")

# ffmpeg demuxer names that hold one still image, not a video.
_IMAGE_DEMUXERS = re.compile(r"^(image2|.*_pipe|gif_pipe|webp_pipe|apng)$")
# ISO-BMFF brands of still images (HEIC, AVIF) that ffmpeg opens like an mp4.
_IMAGE_BRANDS = {"heic", "heix", "mif1", "msf1", "avif", "avis", "heim", "heis"}
_IMAGE_CODECS = {"png", "mjpeg", "webp", "bmp", "tiff", "gif"}
# Elementary streams: no container, so no duration or real timing.
_RAW_DEMUXERS = {"h264": "h264", "hevc": "hevc", "vvc": "vvc", "m4v": "mpeg4", "h263": "h263",
                 "mjpeg": "mjpeg", "rawvideo": "rawvideo", "av1": "av1", "obu": "av1"}
_CONTAINERS = {"avi": "avi", "flv": "flv", "asf": "asf", "mpegts": "mpegts", "mpeg": "mpeg",
               "ogg": "ogg", "gif": "gif", "ivf": "ivf", "mxf": "mxf", "rm": "rm"}
# Lines ffmpeg's decoders print when the data is not what the header says (encrypted, damaged).
_DECODE_ERRORS = re.compile(
    r"error while decoding|concealing|no frame!|non-existing PPS|Invalid NAL|"
    r"missing picture|corrupt|slice type \d+ too large", re.IGNORECASE)


# ---------------------------------------------------------------------------------------------
# What a file that is not what it claims looks like
# ---------------------------------------------------------------------------------------------

def _sniff(path: str) -> str:
    """A few words on what the first bytes look like, for messages about non-media files."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return "unreadable"
    if not head:
        return "empty"
    if head[4:8] == b"ftyp" or head[:4] == b"\x1aE\xdf\xa3" or head[8:12] == b"AVI ":
        return "video"
    if head.startswith(b"%PDF"):
        return "PDF document"
    if head.startswith(b"PK\x03\x04"):
        return "ZIP archive"
    # GIF/PNG magic followed by script or markup is text wearing an image's name.
    body = head[6:] if head[:3] == b"GIF" else head
    if b"\x00" not in body:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = ""
        if text and sum(c.isprintable() or c in "\r\n\t" for c in text) >= 0.95 * len(text):
            lowered = text.lower()
            if "<script" in lowered or "<html" in lowered or "<svg" in lowered:
                return "text (HTML or script)"
            return "text"
    return "unknown"


def _not_image_error(path: str) -> InputError:
    kind = _sniff(path)
    if kind == "empty":
        return InputError("This file is empty. Upload a JPEG or PNG image.")
    if kind == "video":
        return InputError("This file is a video, not an image. Upload it as the reference video, "
                          "or upload a JPEG or PNG image here.")
    if kind.startswith("text"):
        return InputError(f"This file is not an image (it looks like {kind}). "
                          "Upload a JPEG or PNG.")
    if kind in ("PDF document", "ZIP archive"):
        return InputError(f"This file is a {kind}, not an image. Upload a JPEG or PNG.")
    return InputError("This file is not an image Kling or this app can read. Upload a JPEG or PNG.")


# ---------------------------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------------------------

def _gif_frames(path: str, cap: int) -> int:
    """Count GIF frames by walking its blocks, stopping past `cap`; nothing is decoded."""
    with open(path, "rb") as f:
        header = f.read(13)
        if len(header) < 13 or header[:3] != b"GIF":
            return 1
        if header[10] & 0x80:  # global colour table
            f.seek(3 * (2 << (header[10] & 7)), os.SEEK_CUR)
        frames = 0
        while frames <= cap:
            block = f.read(1)
            if block == b"!":  # extension: label, then sub-blocks
                f.read(1)
            elif block == b",":  # image descriptor: 9 bytes, local colour table, LZW size
                frames += 1
                desc = f.read(9)
                if len(desc) < 9:
                    break
                if desc[8] & 0x80:
                    f.seek(3 * (2 << (desc[8] & 7)), os.SEEK_CUR)
                f.read(1)
            else:  # trailer ";", end of file, or garbage: stop counting
                break
            while True:  # sub-blocks: length byte, data, ..., 0
                size = f.read(1)
                if not size or size == b"\x00":
                    break
                f.seek(size[0], os.SEEK_CUR)
    return max(frames, 1)


def _frame_count(im: Image.Image, path: str) -> int:
    if im.format == "GIF":
        return _gif_frames(path, MAX_IMAGE_FRAMES)
    # WebP, APNG and HEIF read the count from a header; TIFF walks its directory chain.
    return int(getattr(im, "n_frames", 1) or 1)


def _has_metadata(im: Image.Image) -> bool:
    info = im.info
    if any(info.get(key) for key in _METADATA_KEYS):
        return True
    return im.format == "PNG" and any(isinstance(v, str) and v for v in info.values())


def _check_complete(path: str, fmt: str) -> None:
    """Raise if the first frame cannot be read to its end (a truncated or damaged upload).

    Relies on Pillow's default ImageFile.LOAD_TRUNCATED_IMAGES = False; nothing here sets it.
    """
    with Image.open(path) as im:
        if fmt == "PNG":
            im.verify()  # walks every chunk and its CRC without inflating pixel data
            return
        if fmt == "JPEG":
            # Decode at 1/8 scale: the entropy-coded data is still read to its end.
            im.draft("RGB", (max(1, im.width // 8), max(1, im.height // 8)))
        im.seek(0)
        im.load()


def _nonempty_size(path: str, wanted: str) -> int:
    """The file's size; InputError when it cannot be read or is empty (upload `wanted`)."""
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise InputError("This file could not be read; upload it again.") from exc
    if size == 0:
        raise InputError(f"This file is empty. Upload {wanted}.")
    return size


def probe_image(path: str) -> ImageInfo:
    """What the image at `path` is, by content. InputError when it cannot or must not be used."""
    size = _nonempty_size(path, "a JPEG or PNG image")
    fmt = "image"
    # Pillow raises for > 2x its limit and warns above it; the warning is an error under tests.
    try:
        with Image.open(path) as im:
            width, height = im.size
            fmt = im.format or "unknown"
            if width * height > MAX_IMAGE_PIXELS:
                raise _bomb_error(width, height)
            frames = _frame_count(im, path)
            if frames > MAX_IMAGE_FRAMES:
                raise InputError(
                    f"This {fmt} animation has more than {MAX_IMAGE_FRAMES} frames; Kling takes "
                    "a still image. Export one frame as PNG or JPEG and upload that.")
            mode = im.mode
            orientation = _orientation(im)
            has_alpha = mode in _ALPHA_MODES or "transparency" in im.info
            has_metadata = _has_metadata(im)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputError(
            "This image declares a size far beyond any real photo (a 'decompression bomb'); "
            "it was not opened. Upload a JPEG or PNG under 100 megapixels.") from exc
    except UnidentifiedImageError as exc:
        raise _not_image_error(path) from exc
    except (SyntaxError, ValueError, struct.error, OSError, EOFError) as exc:
        raise _damaged_error(fmt) from exc
    try:
        _check_complete(path, fmt)
    except (SyntaxError, ValueError, struct.error, OSError, EOFError) as exc:
        raise _damaged_error(fmt) from exc
    swap = orientation in (5, 6, 7, 8)  # EXIF orientations that turn the picture 90 degrees
    return ImageInfo(
        path=path, format=fmt, bytes=size,
        width=height if swap else width, height=width if swap else height,
        stored_width=width, stored_height=height, mode=mode, orientation=orientation,
        has_alpha=has_alpha, animated=frames > 1, frames=frames, has_metadata=has_metadata,
    )


def _bomb_error(width: int, height: int) -> InputError:
    return InputError(
        f"This image declares {width}x{height} px ({width * height / 1e6:.0f} megapixels), more "
        f"than the {MAX_IMAGE_PIXELS // 1_000_000} megapixels we open; it may be a "
        "'decompression bomb'. Upload a smaller JPEG or PNG.")


def _damaged_error(fmt: str) -> InputError:
    return InputError(
        f"This {fmt} file is incomplete or damaged (it may have been cut off while uploading or "
        "copying). Upload the original again, or export it again as JPEG or PNG.")


def _orientation(im: Image.Image) -> int:
    """The EXIF orientation tag, without decoding pixels (PNG's getexif() loads the image)."""
    if im.format == "PNG":
        raw = im.info.get("exif")
        if not raw:
            return 1
        exif = Image.Exif()
        exif.load(raw)
    else:
        exif = im.getexif()
    value = exif.get(0x0112, 1)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


# ---------------------------------------------------------------------------------------------
# Videos
# ---------------------------------------------------------------------------------------------

@dataclass
class _Header:
    """What one `ffmpeg -i` read says, before any judgement."""

    demuxer: str = ""
    brand: str = ""
    duration: float | None = None
    video: list[str] = field(default_factory=list)  # the stream line after "Video: "
    video_block: list[str] = field(default_factory=list)  # its indented lines (side data, tags)
    audio: list[str] = field(default_factory=list)
    pre_errors: list[str] = field(default_factory=list)  # decoder complaints before "Input #0"
    open_error: str = ""


_INPUT_RE = re.compile(r"^Input #0, (.+?), from '")
_DURATION_RE = re.compile(r"^\s+Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_STREAM_RE = re.compile(r"^\s+Stream #0:\d+\S*: (Video|Audio|Subtitle|Data|Attachment): (.*)$")
_BRAND_RE = re.compile(r"^\s+major_brand\s*: (.*)$")


def _parse_header(stderr: str) -> _Header:
    head = _Header()
    in_input = False
    current: list[str] | None = None
    for line in stderr.splitlines():
        if not in_input:
            m = _INPUT_RE.match(line)
            if m:
                in_input = True
                head.demuxer = m.group(1)
            elif _DECODE_ERRORS.search(line):
                head.pre_errors.append(line)
            elif "Error opening input" in line or "Invalid data found" in line or (
                    "moov atom not found" in line):
                head.open_error = head.open_error or line
            continue
        if not line.startswith(" "):
            break  # end of the Input #0 section
        if (m := _BRAND_RE.match(line)) and not head.brand:
            head.brand = m.group(1).strip()
        elif m := _DURATION_RE.match(line):
            h, mi, s = m.groups()
            head.duration = int(h) * 3600 + int(mi) * 60 + float(s)
        elif m := _STREAM_RE.match(line):
            kind, rest = m.groups()
            current = None
            if kind == "Video" and not head.video and "(attached pic)" not in rest:
                head.video = _split_top(rest)
                current = head.video_block
            elif kind == "Audio" and not head.audio:
                head.audio = _split_top(rest)
        elif current is not None:
            current.append(line.strip())
    return head


def _split_top(text: str) -> list[str]:
    """Split ffmpeg's stream description at commas outside (), [] (pix_fmt has inner commas)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts


def _rate(parts: list[str], unit: str) -> float:
    for part in parts:
        m = re.match(rf"^([\d.]+)(k?) {unit}\b", part)
        if m:
            return float(m.group(1)) * (1000 if m.group(2) else 1)
    return 0.0


def _rotation(block: list[str]) -> int:
    """Clockwise degrees a player turns the picture (the phone's `rotate` tag convention)."""
    for line in block:
        m = re.search(r"rotation of (-?[\d.]+) degrees", line, re.IGNORECASE)
        if m:  # the display matrix angle is counter-clockwise
            return round(-float(m.group(1))) % 360
        m = re.match(r"rotate\s*: (-?\d+)", line)
        if m:
            return int(m.group(1)) % 360
    return 0


def _container(head: _Header, path: str) -> str:
    names = head.demuxer.split(",")
    if "mov" in names or "mp4" in names:
        brand = head.brand.strip().lower()
        if brand.startswith("qt") or not brand:
            return "mov"  # QuickTime files carry "qt  " or, when old, no ftyp at all
        if brand.startswith("3g"):
            return "3gp"
        if brand in ("mj2", "mjp2"):
            return "mj2"
        return "mp4"
    if "matroska" in names or "webm" in names:
        with open(path, "rb") as f:  # the EBML DocType sits in the first bytes
            return "webm" if b"webm" in f.read(64) else "matroska"
    for name in names:
        if name in _RAW_DEMUXERS:
            return name
        if name in _CONTAINERS:
            return _CONTAINERS[name]
    return names[0] if names else "unknown"


def _stream_kbps(parts: list[str]) -> float:
    for part in parts:
        m = re.match(r"^(\d+) kb/s\b", part)
        if m:
            return float(m.group(1))
    return 0.0


def _second_look(path: str) -> tuple[float, int]:
    """Read every video packet without decoding: (last timestamp in s, packet count).

    Stream copy to the null muxer reads the file once with flat memory; nothing is decoded.
    """
    proc = run_ffmpeg(["-i", path, "-map", "0:V:0", "-c", "copy", "-f", "null", "-"],
                      check=False, timeout=SECOND_LOOK_TIMEOUT, what="Reading the video")
    frames, seconds = 0, 0.0
    for m in re.finditer(r"frame=\s*(\d+)", proc.stderr):
        frames = int(m.group(1))
    for m in re.finditer(r"time=(\d+):(\d\d):(\d\d(?:\.\d+)?)", proc.stderr):
        h, mi, s = m.groups()
        seconds = int(h) * 3600 + int(mi) * 60 + float(s)
    return seconds, frames


def _decoded_rate(path: str) -> float:
    """The frame rate ffmpeg will really use for a raw stream (from the codec's own timing
    info, which the header read does not apply): decode two frames and read the output line."""
    proc = run_ffmpeg(["-i", path, "-map", "0:V:0", "-frames:v", "2", "-f", "null", "-"],
                      check=False, timeout=SECOND_LOOK_TIMEOUT, what="Reading the video")
    rate = 0.0
    for line in proc.stderr.splitlines():
        if "Video: wrapped_avframe" in line:
            rate = _rate(_split_top(line.split("Video: ", 1)[1]), "fps")
    return rate


def _decodes(path: str) -> bool:
    """Decode a few frames; False when the decoder only produces errors (encrypted, damaged)."""
    proc = run_ffmpeg(["-v", "error", "-i", path, "-map", "0:V:0", "-frames:v", "8",
                       "-f", "null", "-"], check=False, timeout=SECOND_LOOK_TIMEOUT,
                      what="Reading the video")
    bad = len(_DECODE_ERRORS.findall(proc.stderr))
    return proc.returncode == 0 and bad < 3


def probe_video(path: str) -> VideoInfo:
    """What the video at `path` holds, from one header read. InputError when it is unusable."""
    size = _nonempty_size(path, "an MP4 or MOV video")
    proc = run_ffmpeg(["-i", path], check=False, what="Reading the video")
    head = _parse_header(proc.stderr)
    if not head.demuxer:
        raise _not_video_error(path, head)
    if (not head.video or ", none," in proc.stderr) and _sniff(path).startswith("text"):
        raise _not_video_error(path, head)
    if (_IMAGE_DEMUXERS.match(head.demuxer) or head.brand.strip().lower() in _IMAGE_BRANDS
            or (head.video and head.video[0].split()[0] in _IMAGE_CODECS
                and head.duration is None)):
        raise InputError("This file is a still image, not a video. Upload it as an image, or "
                         "upload an MP4 or MOV clip here.")
    if not head.video:
        what = "only sound" if head.audio else "no video"
        raise InputError(f"This file has {what}, no video picture. Upload a clip with video "
                         "(MP4 or MOV).")
    codec = head.video[0].split()[0]
    if codec == "none":
        raise InputError("This video uses a format that cannot be decoded. Export it again as "
                         "H.264 MP4 and upload that.")
    container = _container(head, path)
    width = height = 0
    pix_fmt = ""
    for part in head.video[1:]:
        if m := re.match(r"^(\d+)x(\d+)\b", part):
            width, height = int(m.group(1)), int(m.group(2))
        elif not pix_fmt and (m := re.match(r"^([a-z][a-z0-9_]*)(\(.*\))?$", part)):
            pix_fmt = m.group(1)
    if width == 0 or height == 0:
        raise InputError("This video's picture size cannot be read; the file is probably "
                         "damaged. Export it again as MP4 and upload that.")
    fps, tbr = _rate(head.video, "fps"), _rate(head.video, "tbr")
    rotation = _rotation(head.video_block)
    audio_codec = head.audio[0].split()[0] if head.audio else None
    raw = container in _RAW_DEMUXERS
    variable = bool(not raw and fps and tbr and abs(fps - tbr) > VFR_TOLERANCE * tbr
                    and abs(tbr - 2 * fps) > VFR_TOLERANCE * tbr)  # 2x is an interlaced field rate
    fps = fps or tbr

    if head.pre_errors and not _decodes(path):
        raise InputError("This video cannot be decoded: it may be protected (DRM/encrypted) or "
                         "damaged. Export it again from your phone or editor as MP4 and upload "
                         "that.")
    duration = head.duration
    estimated = False
    stream_bits = (_stream_kbps(head.video) + (_stream_kbps(head.audio) if head.audio else 0))
    lying = bool(duration and stream_bits and
                 size * 8 < TRUNCATED_SHARE * stream_bits * 1000 * duration)
    if duration is None or duration <= 0 or lying:
        seconds, frames = _second_look(path)
        if raw:  # no timestamps at all: count frames at the rate the decoder will use
            fps = _decoded_rate(path) or fps
        if raw or seconds <= 0:
            seconds = frames / fps if fps else 0.0
        if seconds <= 0:
            raise InputError("This video holds no readable frames; it is probably damaged or "
                             "incomplete. Upload the original file again.")
        duration, estimated = seconds, True
    turned = rotation in (90, 270)
    return VideoInfo(
        path=path, container=container, video_codec=codec, duration=round(duration, 3),
        width=height if turned else width, height=width if turned else height,
        fps=round(fps, 3), bytes=size, audio_codec=audio_codec, rotation=rotation,
        variable_fps=variable, pix_fmt=pix_fmt or "unknown", duration_estimated=estimated,
    )


def _not_video_error(path: str, head: _Header) -> InputError:
    kind = _sniff(path)
    if kind.startswith("text"):
        return InputError(f"This file is not a video (it looks like {kind}). "
                          "Upload an MP4 or MOV clip.")
    if "moov atom not found" in head.open_error:
        return InputError("This video is incomplete: its index is missing, so it was probably cut "
                          "off while uploading or copying. Upload the original file again.")
    return InputError("This file is not a video this app can read. Upload an MP4 or MOV clip.")
