"""probe_image / probe_video: what a file really is, and refusals a user can act on."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from kling_ui.core import rules
from kling_ui.core.errors import InputError
from kling_ui.media.probe import HEIF_SUPPORT, MAX_IMAGE_FRAMES, probe_image, probe_video
from tests.media_factory import exif_orientation, make_image, make_video


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


# --- images ----------------------------------------------------------------------------------

def test_exif_rotated_jpeg_reports_displayed_size(tmp_path: Path) -> None:
    path = make_image(tmp_path / "phone.jpg", (800, 600), "JPEG", exif=exif_orientation(6))
    info = probe_image(path)
    assert (info.format, info.width, info.height) == ("JPEG", 600, 800)
    assert (info.stored_width, info.stored_height, info.orientation) == (800, 600, 6)
    assert info.has_metadata


def test_format_is_read_from_content_not_extension(tmp_path: Path) -> None:
    path = make_image(tmp_path / "really-a-webp.png", (640, 480), "WEBP")
    info = probe_image(path)
    assert info.format == "WEBP"
    assert [p.fix for p in rules.check_image(info, "start_image")] == ["convert"]


@pytest.mark.parametrize(("mode", "fmt", "ext"), [
    ("CMYK", "JPEG", "jpg"), ("I;16", "PNG", "png"), ("P", "PNG", "png")])
def test_colour_modes(tmp_path: Path, mode: str, fmt: str, ext: str) -> None:
    info = probe_image(make_image(tmp_path / f"m.{ext}", (400, 300), fmt, mode))
    assert info.mode == mode
    assert any(p.fix == "convert" for p in rules.check_image(info, "x"))


def test_palette_with_transparency_has_alpha(tmp_path: Path) -> None:
    path = make_image(tmp_path / "pal.png", (400, 300), "PNG", "P", transparency=0)
    info = probe_image(path)
    assert info.mode == "P" and info.has_alpha


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animation_frames_are_counted(tmp_path: Path, fmt: str) -> None:
    frames = [Image.effect_noise((320, 320), 20 + 10 * i).convert("RGB") for i in range(6)]
    path = tmp_path / f"anim.{fmt.lower()}"
    frames[0].save(path, fmt, save_all=True, append_images=frames[1:], duration=80)
    info = probe_image(str(path))
    assert info.animated and info.frames == 6


def test_gif_with_too_many_frames_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "long.gif"
    frames = [Image.new("L", (8, 8), i % 250) for i in range(MAX_IMAGE_FRAMES + 5)]
    frames[0].save(path, save_all=True, append_images=frames[1:])
    with pytest.raises(InputError, match=f"more than {MAX_IMAGE_FRAMES} frames"):
        probe_image(str(path))


def test_png_declaring_ten_gigapixels_is_refused_before_decoding(tmp_path: Path) -> None:
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    path = tmp_path / "bomb.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
                     + _png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) + _png_chunk(b"IEND", b""))
    with pytest.raises(InputError, match="decompression bomb"):
        probe_image(str(path))


def test_image_just_over_our_cap_is_refused(tmp_path: Path) -> None:
    ihdr = struct.pack(">IIBBBBB", 12_000, 9_000, 8, 2, 0, 0, 0)  # 108 Mpx
    path = tmp_path / "huge.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IEND", b""))
    with pytest.raises(InputError, match="100 megapixels"):
        probe_image(str(path))


def test_text_named_png(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("meeting notes: buy milk\n")
    with pytest.raises(InputError, match=r"not an image \(it looks like text\)\. Upload a JPEG"):
        probe_image(str(path))


def test_gif_header_followed_by_script(tmp_path: Path) -> None:
    path = tmp_path / "evil.gif"
    path.write_bytes(b"GIF89a<script>alert(document.cookie)</script>\n")
    with pytest.raises(InputError, match="not an image .*HTML or script"):
        probe_image(str(path))


@pytest.mark.parametrize(("fmt", "ext"), [("PNG", "png"), ("JPEG", "jpg")])
def test_truncated_image(tmp_path: Path, fmt: str, ext: str) -> None:
    full = Path(make_image(tmp_path / f"full.{ext}", (800, 600), fmt, noise=True))
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(InputError, match="incomplete or damaged"):
        probe_image(str(cut))


def test_video_uploaded_as_image(tmp_path: Path) -> None:
    path = make_video(tmp_path / "clip.mp4", seconds=1, size=(320, 240), audio=False)
    with pytest.raises(InputError, match="video, not an image"):
        probe_image(path)


def test_tiff_and_webp(tmp_path: Path) -> None:
    assert probe_image(make_image(tmp_path / "a.tiff", fmt="TIFF")).format == "TIFF"
    assert probe_image(make_image(tmp_path / "a.webp", fmt="WEBP")).format == "WEBP"


@pytest.mark.skipif(not HEIF_SUPPORT, reason="pillow_heif not installed")
def test_heic(tmp_path: Path) -> None:
    path = make_image(tmp_path / "iphone.heic", (640, 480), "HEIF")
    info = probe_image(path)
    assert (info.format, info.width, info.height) == ("HEIF", 640, 480)


# --- videos ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("probe-media")


def test_plain_mp4(media: Path) -> None:
    info = probe_video(make_video(media / "plain.mp4", seconds=3))
    assert (info.container, info.video_codec, info.audio_codec) == ("mp4", "h264", "aac")
    assert (info.width, info.height, info.fps, info.pix_fmt) == (1280, 720, 30.0, "yuv420p")
    assert info.duration == pytest.approx(3.0, abs=0.05)
    assert not info.duration_estimated and not info.variable_fps
    assert rules.check_video(info) == []


def test_rotated_phone_clip_swaps_displayed_size(media: Path) -> None:
    # ffmpeg's display matrix is counter-clockwise; phones store "rotate=90" as -90 here.
    info = probe_video(make_video(media / "phone.mov", seconds=3, rotate=-90))
    assert info.container == "mov"
    assert (info.width, info.height, info.rotation) == (720, 1280, 90)


def test_vfr_clip_is_flagged(media: Path) -> None:
    info = probe_video(make_video(media / "vfr.mp4", seconds=4, audio=False, vfr=True))
    assert info.variable_fps
    assert info.fps < 30


def test_webm_and_hevc_mov(media: Path) -> None:
    webm = probe_video(make_video(media / "a.webm", seconds=3, size=(320, 240)))
    assert (webm.container, webm.video_codec, webm.audio_codec) == ("webm", "vp9", "opus")
    mov = probe_video(make_video(media / "h.mov", seconds=3, size=(320, 240),
                                 vcodec="libx265", audio=False))
    assert (mov.container, mov.video_codec) == ("mov", "hevc")


def test_raw_h264_has_no_duration_and_gets_an_estimate(media: Path) -> None:
    info = probe_video(make_video(media / "raw.h264", seconds=4, size=(640, 360)))
    assert info.container == "h264" and info.duration_estimated
    assert info.duration == pytest.approx(4.0, abs=0.1)
    assert info.fps == 30


def test_mkv_without_duration(media: Path) -> None:
    src = make_video(media / "src.mp4", seconds=3, size=(640, 360), audio=False)
    path = media / "live.mkv"
    import subprocess

    from kling_ui.media.ffmpeg import ffmpeg_exe
    with open(path, "wb") as out:  # a pipe cannot seek back, so no duration is written
        subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", src, "-c", "copy",
                        "-f", "matroska", "-"], stdout=out, check=True)
    info = probe_video(str(path))
    assert info.container == "matroska" and info.duration_estimated
    assert info.duration == pytest.approx(3.0, abs=0.1)


def test_truncated_mp4_whose_header_claims_more(media: Path) -> None:
    full = Path(make_video(media / "fs.mp4", seconds=6, extra=("-movflags", "+faststart")))
    cut = media / "cut.mp4"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    info = probe_video(str(cut))
    assert info.duration_estimated
    assert 2.0 < info.duration < 4.5  # the header still says 6 s


def test_truncated_mp4_without_index(media: Path) -> None:
    full = Path(make_video(media / "end.mp4", seconds=3))  # moov written at the end
    cut = media / "cut-end.mp4"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(InputError, match="incomplete"):
        probe_video(str(cut))


def test_audio_only_mp4(media: Path) -> None:
    from tests.media_factory import ffmpeg

    path = media / "song.mp4"
    ffmpeg("-f", "lavfi", "-i", "sine=duration=3", "-c:a", "aac", str(path))
    with pytest.raises(InputError, match="only sound"):
        probe_video(str(path))


def test_text_and_image_are_not_videos(tmp_path: Path) -> None:
    text = tmp_path / "x.mp4"
    text.write_text("this is not a video at all\n" * 3)
    with pytest.raises(InputError, match="not a video .*text"):
        probe_video(str(text))
    with pytest.raises(InputError, match="still image"):
        probe_video(make_image(tmp_path / "still.png"))


def test_encrypted_mp4_is_refused(media: Path) -> None:
    from tests.media_factory import ffmpeg

    src = make_video(media / "clear.mp4", seconds=3, size=(640, 360))
    path = media / "drm.mp4"
    ffmpeg("-i", src, "-c", "copy", "-encryption_scheme", "cenc-aes-ctr",
           "-encryption_key", "76a6c65c5ea762046bd749a2e632ccbb",
           "-encryption_kid", "a7e61c373e219033c21091fa607bf3b8", str(path))
    with pytest.raises(InputError, match="cannot be decoded.*encrypted"):
        probe_video(str(path))


def test_one_pixel_video_probes_but_fails_rules(media: Path) -> None:
    info = probe_video(make_video(media / "dot.mp4", seconds=3, size=(1, 1), audio=False,
                                  pix_fmt="yuv444p"))
    assert (info.width, info.height) == (1, 1)
    assert any("too small" in p.message for p in rules.check_video(info))
