"""Test media made on the spot: images with Pillow, short clips with the bundled ffmpeg.

Other test modules import these; keep them small and fast (ultrafast, lavfi test sources).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from kling_ui.media.ffmpeg import ffmpeg_exe

# Codecs picked by extension when the caller does not say (audio None: no sound track).
_AUDIO_BY_EXT = {".webm": "libopus", ".avi": "pcm_s16le", ".h264": None, ".hevc": None}
_VCODEC_BY_EXT = {".webm": "libvpx-vp9", ".avi": "mpeg4"}


def make_image(
    path: str | os.PathLike[str],
    size: tuple[int, int] = (800, 600),
    fmt: str = "PNG",
    mode: str = "RGB",
    *,
    noise: bool = False,
    **save_kw: object,
) -> str:
    """Save a gradient (or incompressible noise) image of `size` in `mode` as `fmt`."""
    w, h = size
    if noise:
        im = Image.frombytes("RGB", size, os.urandom(w * h * 3))
    else:
        gradient = Image.linear_gradient("L").resize(size)
        im = Image.merge("RGB", (gradient, gradient.transpose(Image.Transpose.ROTATE_90)
                                 .resize(size), Image.new("L", size, 128)))
    if mode == "I;16":
        im = im.convert("L").point(lambda v: v * 257, "I").convert("I;16")
    elif mode != im.mode:
        im = im.convert(mode)
    im.save(path, fmt, **save_kw)  # type: ignore[arg-type]
    return str(path)


def exif_orientation(value: int) -> bytes:
    """EXIF bytes holding only an orientation tag (6 = stored turned 90 degrees)."""
    exif = Image.Exif()
    exif[0x0112] = value
    return exif.tobytes()


# One folder per test run, shared by its xdist workers (conftest.py sets it before they start):
# the suite made the same clips again and again (a 20 s 720p pan took 22 s of a core each time).
MEDIA_CACHE_ENV = "KLING_TEST_MEDIA_CACHE"


def _media_key(args: Sequence[str]) -> str:
    """The command's arguments, each input file by its bytes, the output by its extension."""
    digest = hashlib.sha256(ffmpeg_exe().encode())
    for arg in args[:-1]:
        digest.update(b"\0" + arg.encode())
        if os.path.isfile(arg):
            with open(arg, "rb") as fh:
                digest.update(hashlib.file_digest(fh, "sha256").digest())
    digest.update(b"\0" + os.path.splitext(args[-1])[1].encode())
    return digest.hexdigest()


def ffmpeg(*args: str) -> None:
    """Run the bundled ffmpeg; the last argument is the output. A command run before in this
    test run (same arguments, same input bytes) copies its output instead of encoding again."""
    folder = os.environ.get(MEDIA_CACHE_ENV)
    out = args[-1] if args else ""
    entry = (Path(folder) / (_media_key(args) + os.path.splitext(out)[1])
             if folder and os.path.isdir(folder) and not out.startswith(("-", "pipe:")) else None)
    if entry is not None and entry.is_file():
        shutil.copyfile(entry, out)
        return
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args],
                   check=True, capture_output=True)
    if entry is not None and os.path.isfile(out):
        part = entry.with_name(f"{entry.name}.{os.getpid()}.part")
        shutil.copyfile(out, part)
        os.replace(part, entry)


def make_video(
    path: str | os.PathLike[str],
    seconds: float = 4,
    size: tuple[int, int] = (1280, 720),
    fps: float = 30,
    vcodec: str | None = None,
    audio: bool = True,
    *,
    rotate: int | None = None,
    pix_fmt: str = "yuv420p",
    vfr: bool = False,
    pattern: str = "testsrc2",
    extra: Sequence[str] = (),
) -> str:
    """Render a test-pattern clip; the container follows the extension.

    `pattern` is a lavfi source: "testsrc2" moves; "smptebars" is static and far cheaper for
    big or fast clips. `rotate` adds display rotation metadata (counter-clockwise degrees, like ffmpeg's
    -display_rotation) by a stream-copy remux; `vfr` plays the second half at half the rate.
    """
    path = str(path)
    ext = os.path.splitext(path)[1].lower()
    vcodec = vcodec or _VCODEC_BY_EXT.get(ext, "libx264")
    acodec = _AUDIO_BY_EXT.get(ext, "aac") if audio else None
    w, h = size
    src = f"{pattern}=s={max(w, 2)}x{max(h, 2)}:r={fps}:d={seconds}"
    if w < 2 or h < 2:  # the sources cannot draw below 2x2
        src += f",scale={w}:{h}"
    if vfr:  # first half at fps, second half at fps/2: average and nominal rates differ
        half = int(seconds * fps / 2)
        src += f",setpts='if(lt(N,{half}),N/{fps},{half}/{fps}+(N-{half})*2/{fps})/TB'"
    args = ["-f", "lavfi", "-i", src]
    if acodec:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    args += ["-c:v", vcodec, "-pix_fmt", pix_fmt]
    if vcodec in ("libx264", "libx265"):
        args += ["-preset", "ultrafast"]
    elif vcodec.startswith("libvpx"):
        args += ["-deadline", "realtime", "-cpu-used", "8", "-b:v", "1M"]
    if vcodec == "libx265":
        args += ["-tag:v", "hvc1", "-x265-params", "log-level=error"]
    if vfr:
        args += ["-fps_mode", "passthrough"]
    if acodec:
        args += ["-c:a", acodec, "-shortest"]
    target = path + ".tmp" + ext if rotate is not None else path
    ffmpeg(*args, *extra, target)
    if rotate is not None:
        ffmpeg("-display_rotation:v:0", str(rotate), "-i", target, "-c", "copy", path)
        os.remove(target)
    return path
