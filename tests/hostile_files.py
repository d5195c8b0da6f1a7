"""Hostile and odd uploads, made on the spot with Pillow, the bundled ffmpeg, or inline bytes.

Each `FileCase` says how to make the file and what the app must do with it:
- "accept": sent as it is (it already meets Kling's rules);
- "fix":    the input doctor rewrites it, and what is sent meets the rules;
- "refuse": refused before anything reaches Replicate, with a message matching `message`;
- "any":    any of the three (odd files whose right answer depends on what the header says),
            as long as nothing crashes, hangs, or reaches Replicate unfit.

Where the bundled ffmpeg cannot make the real thing, the closest honest stand-in is made and
its `note` says so.
"""

from __future__ import annotations

import io
import random
import struct
import subprocess
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
from PIL import Image, PngImagePlugin

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
VIDEO_SIZE = "720x720"  # the smallest frame Kling takes on both sides: quick to make and fix
SECONDS = 3.5


@dataclass(frozen=True)
class FileCase:
    name: str
    kind: str  # "image" or "video"
    make: Callable[[Path], Path]  # given a folder, returns the file made in it
    expect: str  # "accept", "fix", "refuse", "any"
    message: str = ""  # regex a refusal must match
    note: str = ""


# -- helpers -----------------------------------------------------------------------------------

def ffmpeg(*args: str, timeout: float = 120) -> None:
    proc = subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *args],
                          capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed: {' '.join(args)}\n{proc.stderr[-800:]}")


def testsrc(seconds: float = SECONDS, size: str = VIDEO_SIZE, rate: int = 24) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}"]


def tone(seconds: float = SECONDS) -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]


def x264(*extra: str) -> list[str]:
    return ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", *extra]


def picture(size: tuple[int, int] = (640, 480), mode: str = "RGB") -> Image.Image:
    img = Image.new("RGB", size, (40, 90, 200))
    for x in range(0, size[0], 40):
        img.paste((250, 220, 30), (x, 0, x + 12, size[1]))
    return img.convert(mode) if mode != "RGB" else img


def _file(name: str, fn: Callable[[Path], None]) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        fn(path)
        return path

    return make


# -- images ------------------------------------------------------------------------------------

def _exif_rotated(path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown portrait
    picture((640, 400)).save(path, "JPEG", exif=exif.tobytes())


def _animated(fmt: str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        frames = [picture((480, 360)).rotate(a) for a in (0, 10, 20, 30)]
        kw = {"loop": 0, "duration": 100}
        frames[0].save(path, fmt, save_all=True, append_images=frames[1:], **kw)

    return make


def _palette_alpha(path: Path) -> None:
    img = picture((500, 400)).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    img.info["transparency"] = 0
    img.save(path, "PNG", transparency=0)


def _png_16bit(path: Path) -> None:
    img = Image.new("I;16", (500, 400))
    img.putdata([(x * 131) % 65535 for x in range(500 * 400)])
    img.save(path, "PNG")


def _heic(path: Path) -> None:
    import pillow_heif

    pillow_heif.from_pillow(picture((640, 480))).save(str(path), quality=80)


def _truncated(fmt: str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        buf = io.BytesIO()
        rnd = random.Random(3)
        Image.frombytes("RGB", (640, 480), rnd.randbytes(640 * 480 * 3)).save(buf, fmt)
        path.write_bytes(buf.getvalue()[: len(buf.getvalue()) * 6 // 10])

    return make


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _bomb_by_size(path: Path) -> None:
    """A valid-looking PNG that declares 30000x30000 px (900 Mpx) with a few bytes of data."""
    ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)
                     + _png_chunk(b"IEND", b""))


def _bomb_by_frames(path: Path) -> None:
    """A 400x400 GIF with 5000 tiny 1x1 frames: cheap to send, costly to decode in full."""
    out = bytearray(b"GIF89a" + struct.pack("<HHBBB", 400, 400, 0x80, 0, 0))
    out += b"\x00\x00\x00\xff\xff\xff"  # 2-colour global table
    out += b"!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    frame = (b"!\xf9\x04\x00\x01\x00\x00\x00"  # graphic control: 10 ms
             + b"," + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00")
    out += frame * 5000 + b";"
    path.write_bytes(bytes(out))


def _metadata_script_png(path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Description", "<script>alert('png')</script>")
    info.add_text("Comment", "<img src=x onerror=alert(1)>")
    picture((640, 480)).save(path, "PNG", pnginfo=info)


def _metadata_script_jpeg(path: Path) -> None:
    exif = Image.Exif()
    exif[0x010E] = "<script>alert('exif')</script>"  # ImageDescription
    exif[0x013B] = "<svg onload=alert(2)>"  # Artist
    picture((640, 480)).save(path, "JPEG", exif=exif.tobytes(),
                             comment=b"<script>alert('comment')</script>")


IMAGE_CASES = [
    FileCase("EXIF-rotated JPEG", "image", _file("rotated.jpg", _exif_rotated), "fix"),
    FileCase("CMYK JPEG", "image", _file("cmyk.jpg", lambda p: picture(mode="CMYK").save(p, "JPEG")),
             "fix"),
    FileCase("16-bit PNG", "image", _file("deep.png", _png_16bit), "fix"),
    FileCase("palette PNG with transparency", "image", _file("palette.png", _palette_alpha), "fix"),
    FileCase("animated GIF", "image", _file("anim.gif", _animated("GIF")), "fix"),
    FileCase("animated WebP", "image", _file("anim.webp", _animated("WEBP")), "fix"),
    FileCase("APNG", "image", _file("anim.png", _animated("PNG")), "fix"),
    FileCase("TIFF", "image", _file("photo.tiff", lambda p: picture().save(p, "TIFF")), "fix"),
    FileCase("HEIC", "image", _file("photo.heic", _heic), "fix"),
    FileCase("AVIF", "image", _file("photo.avif", lambda p: picture().save(p, "AVIF")), "fix"),
    FileCase("truncated JPEG", "image", _file("trunc_jpeg.jpg", _truncated("JPEG")), "refuse",
             r"incomplete or damaged"),
    FileCase("truncated PNG", "image", _file("trunc_png.png", _truncated("PNG")), "refuse",
             r"incomplete or damaged"),
    FileCase("decompression bomb by declared size", "image", _file("bomb.png", _bomb_by_size),
             "refuse", r"decompression bomb|megapixels"),
    FileCase("decompression bomb by frame count", "image", _file("frames.gif", _bomb_by_frames),
             "refuse", r"more than 1000 frames"),
    FileCase("text file named .png", "image",
             _file("notes.png", lambda p: p.write_text("shopping list: eggs, milk\n")),
             "refuse", r"not an image"),
    FileCase("GIF header then script", "image",
             _file("polyglot.gif", lambda p: p.write_bytes(
                 b"GIF89a<script>fetch('/x?c='+document.cookie)</script>\n")),
             "refuse", r"not an image"),
    FileCase("SVG named .jpg", "image",
             _file("vector.jpg", lambda p: p.write_text(
                 '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>')),
             "refuse", r"not an image"),
    FileCase("PNG with script in its text chunks", "image",
             _file("meta.png", _metadata_script_png), "any"),
    FileCase("JPEG with script in EXIF and comment", "image",
             _file("meta.jpg", _metadata_script_jpeg), "any"),
]
SCRIPT_MARKERS = (b"<script", b"onerror=", b"onload=")


# -- videos ------------------------------------------------------------------------------------

def _vid(name: str, *args: str) -> Callable[[Path], Path]:
    return _file(name, lambda p: ffmpeg(*args, str(p)))


def _rotated_mov(path: Path) -> None:
    flat = path.with_suffix(".flat.mp4")
    ffmpeg(*testsrc(size="1280x720"), *tone(), *x264(), "-c:a", "aac", "-shortest", str(flat))
    # A phone stores landscape pixels and a display matrix that turns them upright.
    ffmpeg("-display_rotation", "-90", "-i", str(flat), "-c", "copy", "-f", "mov", str(path))
    flat.unlink()


def _vfr(path: Path) -> None:
    ffmpeg(*testsrc(4.0, rate=30), "-vf", "select='lt(t\\,2)+not(eq(mod(n\\,3)\\,2))'",
           "-fps_mode", "vfr", *x264(), str(path))


def _encrypted(path: Path) -> None:
    ffmpeg(*testsrc(), *x264(), "-encryption_scheme", "cenc-aes-ctr",
           "-encryption_key", "76a6c65c5ea762046bd749a2e632ccbb",
           "-encryption_kid", "a7e61c373e219033c21091fa607bf3b8", str(path))


def _claims_an_hour(path: Path) -> None:
    """A 3.5 s mp4 whose movie, track and media headers all claim 3600 s."""
    src = path.with_suffix(".src.mp4")
    ffmpeg(*testsrc(), *x264(), "-movflags", "+faststart", str(src))
    data = bytearray(src.read_bytes())
    src.unlink()
    for box, dur_at, scale_at in ((b"mvhd", 16, 12), (b"mdhd", 16, 12), (b"tkhd", 20, None)):
        start = 0
        while (i := data.find(box, start)) != -1:
            start = i + 4
            body = i + 4
            if data[body] != 0:  # only version-0 boxes (32-bit fields)
                continue
            if scale_at is not None:
                scale = struct.unpack_from(">I", data, body + scale_at)[0]
            else:  # tkhd counts in the movie timescale (mvhd's)
                mv = data.find(b"mvhd")
                scale = struct.unpack_from(">I", data, mv + 4 + 12)[0]
            struct.pack_into(">I", data, body + dur_at, scale * 3600)
    path.write_bytes(bytes(data))


def _no_duration_mkv(path: Path) -> None:
    """Matroska written to a pipe: no seek back, so no Duration element and no cues."""
    proc = subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", *testsrc(), *x264(),
                           "-f", "matroska", "-"], capture_output=True, timeout=120, check=True)
    path.write_bytes(proc.stdout)


def _truncated_mp4(faststart: bool) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        src = path.with_suffix(".src.mp4")
        flags = ["-movflags", "+faststart"] if faststart else []
        ffmpeg(*testsrc(4.0), *tone(4.0), *x264(), "-c:a", "aac", "-shortest", *flags, str(src))
        data = src.read_bytes()
        src.unlink()
        path.write_bytes(data[: len(data) // 2])

    return make


def _thirty_seconds(path: Path) -> None:
    ffmpeg(*testsrc(30.0, size="720x720", rate=24), *tone(30.0), *x264("-g", "48"),
           "-c:a", "aac", "-shortest", str(path))


VIDEO_CASES = [
    FileCase("H.264 MP4 without audio", "video", _vid("silent.mp4", *testsrc(), *x264()), "accept"),
    FileCase("audio only (.mp4 name)", "video",
             _vid("sound.mp4", *tone(), "-c:a", "aac"), "refuse", r"only sound"),
    FileCase("variable frame rate", "video", _file("vfr.mp4", _vfr), "any"),
    FileCase("rotated phone .mov", "video", _file("phone.mov", _rotated_mov), "accept"),
    FileCase("WebM VP9", "video", _vid("clip.webm", *testsrc(), "-c:v", "libvpx-vp9",
                                       "-deadline", "realtime", "-cpu-used", "8", "-b:v", "1M"),
             "fix"),
    FileCase("MKV H.264", "video", _vid("clip.mkv", *testsrc(), *x264()), "fix"),
    FileCase("AVI MPEG-4 Part 2", "video", _vid("clip.avi", *testsrc(), "-c:v", "mpeg4"), "fix"),
    FileCase("3GP H.263", "video", _vid("clip.3gp", *testsrc(size="704x576"), "-c:v", "h263"),
             "fix"),
    FileCase("MOV MJPEG", "video", _vid("mjpeg.mov", *testsrc(), "-c:v", "mjpeg", "-q:v", "5"),
             "fix"),
    FileCase("MP4 MPEG-4 Part 2", "video", _vid("part2.mp4", *testsrc(), "-c:v", "mpeg4"), "fix"),
    FileCase("HEVC MP4", "video", _vid("hevc.mp4", *testsrc(), "-c:v", "libx265", "-preset",
                                       "ultrafast", "-tag:v", "hvc1", "-x265-params",
                                       "log-level=error"), "accept"),
    FileCase("VVC MP4", "video", _vid("vvc.mp4", *testsrc(3.2, size="256x256"), "-c:v", "libvvenc",
                                      "-preset", "faster", "-qp", "45"), "fix",
             note="256x256 so the H.266 encoder takes seconds, not minutes; it is scaled too"),
    FileCase("encrypted MP4 (CENC)", "video", _file("drm.mp4", _encrypted), "refuse",
             r"cannot be decoded|protected|DRM|encrypted",
             note="CENC AES-CTR as ffmpeg's mov muxer writes it; real DRM (Widevine/FairPlay) "
                  "encrypts the same way, only its key exchange differs"),
    FileCase("1x1 video", "video", _vid("dot.mp4", "-f", "lavfi", "-i", f"color=c=red:size=1x1:rate=24:duration={SECONDS}",
                                        "-c:v", "libx264",
                                        "-preset", "ultrafast", "-pix_fmt", "yuv444p"),
             "refuse", r"too small|1x1"),
    FileCase("video under 1 s", "video", _vid("blink.mp4", *testsrc(0.6), *x264()), "refuse",
             r"at least 3 s"),
    FileCase("30 s video", "video", _file("long.mp4", _thirty_seconds), "fix"),
    FileCase("header that claims an hour", "video", _file("hour.mp4", _claims_an_hour), "any"),
    FileCase("MKV without duration", "video", _file("piped.mkv", _no_duration_mkv), "fix"),
    FileCase("raw H.264 stream named .mp4", "video",
             _vid("raw.mp4", *testsrc(), *x264(), "-f", "h264"), "any"),
    FileCase("truncated MP4 (index at the end)", "video", _file("trunc_moov_end.mp4", _truncated_mp4(False)),
             "refuse", r"incomplete|damaged|cut off"),
    FileCase("truncated MP4 (index first)", "video",
             _file("faststart_cut.mp4", _truncated_mp4(True)), "any"),
    FileCase("text file named .mp4", "video",
             _file("notes.mp4", lambda p: p.write_text("<html><script>alert(1)</script></html>")),
             "refuse", r"not a video"),
    FileCase("PNG named .mp4", "video",
             _file("still.mp4", lambda p: picture((800, 800)).save(p, "PNG")),
             "refuse", r"still image"),
]

ALL_CASES = IMAGE_CASES + VIDEO_CASES
