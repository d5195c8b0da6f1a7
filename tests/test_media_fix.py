"""The input doctor: every fixed file re-probes clean under the rules, originals untouched."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PIL import Image

from kling_ui.core import rules
from kling_ui.core.errors import InputError
from kling_ui.core.models import VideoInfo
from kling_ui.media.fix import fix_image, fix_video, plan_video_fix
from kling_ui.media.probe import HEIF_SUPPORT, probe_image, probe_video
from tests.media_factory import exif_orientation, make_image, make_video


def _digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _clean_image(path: str) -> None:
    info = probe_image(path)
    assert rules.check_image(info, "x") == [], rules.check_image(info, "x")
    assert not info.has_metadata


def _fixed(tmp_path: Path, src: str, **kw: str) -> tuple[str, list[str], list[str]]:
    before = _digest(src)
    out, fixes = fix_image(probe_image(src), str(tmp_path / "out"), **kw)
    assert _digest(src) == before, "the original must never change"
    assert Path(out).parent == tmp_path / "out"
    _clean_image(out)
    return out, [f.action for f in fixes], [f.detail for f in fixes]


# --- images ----------------------------------------------------------------------------------

def test_good_image_is_returned_as_is(tmp_path: Path) -> None:
    src = make_image(tmp_path / "ok.png", (800, 600))
    assert fix_image(probe_image(src), str(tmp_path / "out")) == (src, [])


def test_exif_rotation_is_baked_in_and_metadata_stripped(tmp_path: Path) -> None:
    src = make_image(tmp_path / "phone.jpg", (800, 600), "JPEG", exif=exif_orientation(6))
    out, actions, details = _fixed(tmp_path, src)
    with Image.open(out) as im:
        assert im.size == (600, 800) and im.format == "JPEG"
        assert im.getexif().get(0x0112) is None
    assert actions == ["rotate", "strip"]
    assert "upright" in details[0]


@pytest.mark.parametrize(("mode", "fmt", "ext", "out_mode"), [
    ("CMYK", "JPEG", "jpg", "RGB"), ("I;16", "PNG", "png", "L")])
def test_colour_is_converted_to_8_bit(tmp_path: Path, mode: str, fmt: str, ext: str,
                                      out_mode: str) -> None:
    src = make_image(tmp_path / f"m.{ext}", (400, 300), fmt, mode)
    out, actions, details = _fixed(tmp_path, src)
    with Image.open(out) as im:
        assert im.mode == out_mode
        lo, hi = im.convert("L").getextrema()
        assert hi > 200 and lo < 60  # 16-bit greys are rescaled, not clipped to white
    assert f"Converted {mode} colour to 8-bit {out_mode}." in details


def test_palette_with_transparency_stays_png_with_alpha(tmp_path: Path) -> None:
    src = make_image(tmp_path / "pal.png", (400, 300), "PNG", "P", transparency=0)
    out, actions, _ = _fixed(tmp_path, src)
    with Image.open(out) as im:
        assert im.format == "PNG" and im.mode == "RGBA"
    assert actions == ["convert"]


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animation_becomes_its_first_frame(tmp_path: Path, fmt: str) -> None:
    frames = [Image.new("RGB", (320, 320), (40 * i, 200, 0)) for i in range(4)]
    src = tmp_path / f"anim.{fmt.lower()}"
    frames[0].save(src, fmt, save_all=True, append_images=frames[1:], duration=80, lossless=True)
    out, actions, details = _fixed(tmp_path, str(src))
    assert Path(out).suffix == ".png"
    assert "Used the first of 4 animation frames." in details
    assert f"Converted {fmt} to PNG." in details
    with Image.open(out) as im:
        assert im.convert("RGB").getpixel((5, 5))[:2] == pytest.approx((0, 200), abs=8)


@pytest.mark.parametrize(("fmt", "suffix"), [("TIFF", ".png"), ("WEBP", ".png")])
def test_other_formats_are_converted(tmp_path: Path, fmt: str, suffix: str) -> None:
    src = make_image(tmp_path / f"a.{fmt.lower()}", (640, 480), fmt)
    out, actions, details = _fixed(tmp_path, src)
    assert Path(out).suffix == suffix and f"Converted {fmt} to PNG." in details


@pytest.mark.skipif(not HEIF_SUPPORT, reason="pillow_heif not installed")
def test_heic_becomes_jpeg(tmp_path: Path) -> None:
    src = make_image(tmp_path / "iphone.heic", (640, 480), "HEIF")
    out, _, details = _fixed(tmp_path, src)
    assert Path(out).suffix == ".jpg" and "Converted HEIF to JPEG." in details


def test_oversize_png_is_recompressed_under_10_mb(tmp_path: Path) -> None:
    src = make_image(tmp_path / "noise.png", (2400, 1800), "PNG", noise=True)
    assert Path(src).stat().st_size > rules.IMAGE_MAX_BYTES
    out, actions, details = _fixed(tmp_path, src)
    assert Path(out).stat().st_size <= rules.IMAGE_MAX_BYTES
    assert "recompress" in actions and "Kling accepts up to 10 MB" in details[-1]


def test_tiny_image_is_upscaled(tmp_path: Path) -> None:
    out, actions, details = _fixed(tmp_path, make_image(tmp_path / "t.png", (200, 200)))
    assert Image.open(out).size == (300, 300)
    assert actions == ["upscale"] and "may look soft" in details[0]


@pytest.mark.parametrize(("how", "size"), [("pad", (900, 360)), ("crop", (750, 300))])
def test_wide_image_is_padded_or_cropped(tmp_path: Path, how: str, size: tuple[int, int]) -> None:
    src = make_image(tmp_path / "wide.png", (900, 300))
    out, actions, _ = _fixed(tmp_path, src, aspect_fix=how)
    assert Image.open(out).size == size
    assert actions == [how]


# --- video plans (pure) ------------------------------------------------------------------------

def _info(**kw: object) -> VideoInfo:
    base: dict[str, object] = dict(path="x.mp4", container="mp4", video_codec="h264",
                                   duration=8.0, width=1920, height=1080, fps=30.0,
                                   bytes=20_000_000, audio_codec="aac")
    base.update(kw)
    return VideoInfo(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(("kw", "actions", "copy"), [
    ({}, (), True),
    ({"duration": 30.0}, ("trim",), True),
    ({"container": "matroska"}, ("transcode",), False),
    ({"pix_fmt": "yuv420p10le", "video_codec": "hevc"}, ("transcode",), False),
    ({"fps": 120.0}, ("fps",), False),
    ({"fps": 20.1, "variable_fps": True}, ("fps",), False),
    ({"width": 3840, "height": 2160}, ("scale",), False),
    ({"width": 640, "height": 360}, ("scale",), False),
    ({"width": 4000, "height": 800}, ("scale", "pad"), False),
    ({"bytes": 150_000_000}, ("shrink",), False),
])
def test_plan(kw: dict[str, object], actions: tuple[str, ...], copy: bool) -> None:
    plan = plan_video_fix(_info(**kw))
    assert plan.actions == actions and plan.copy is copy


def test_plan_window_is_clamped() -> None:
    info = _info(duration=30.0)
    assert (plan_video_fix(info).start, plan_video_fix(info).length) == (0.0, 10.0)
    assert plan_video_fix(info, start=28.0).start == 27.0  # at least 3 s left
    assert plan_video_fix(info, start=5.0, length=1.0).length == 3.0
    assert plan_video_fix(info, length=25.0).length == 10.0


@pytest.mark.parametrize(("kw", "geometry"), [
    ({"width": 3840, "height": 2160}, (1920, 1080, 1920, 1080)),
    ({"width": 2160, "height": 3840, "rotation": 90}, (1080, 1920, 1080, 1920)),
    ({"width": 640, "height": 360}, (1280, 720, 1280, 720)),
    ({"width": 4000, "height": 800}, (2160, 432, 2160, 720)),
])
def test_plan_sizes(kw: dict[str, object], geometry: tuple[int, int, int, int]) -> None:
    plan = plan_video_fix(_info(**kw))
    assert (plan.width, plan.height, plan.pad_width, plan.pad_height) == geometry


@pytest.mark.parametrize(("kw", "message"), [
    ({"duration": 2.0}, "at least 3 s"), ({"width": 1, "height": 1}, "too small")])
def test_unfixable(kw: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        plan_video_fix(_info(**kw))


# --- videos (real ffmpeg runs) ---------------------------------------------------------------

@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fix-media")


def _fix_clean(path: str, out_dir: Path, **kw: float) -> tuple[VideoInfo, VideoInfo, list[str]]:
    src = probe_video(path)
    before = _digest(path)
    fractions: list[float] = []
    out, fixes = fix_video(src, str(out_dir), on_progress=fractions.append, **kw)
    assert _digest(path) == before and out != path
    result = probe_video(out)
    assert result.container == "mp4"
    assert [p for p in rules.check_video(result) if p.is_error] == []
    assert fractions and fractions[-1] == 1.0 and fractions == sorted(fractions)
    return src, result, [f"{f.action}: {f.detail}" for f in fixes]


def test_long_clip_is_cut_to_10_s_by_stream_copy(media: Path) -> None:
    src = make_video(media / "long.mp4", seconds=30, size=(1280, 720), fps=24, pattern="smptebars",
                     extra=("-x264-params", "keyint=48:min-keyint=48:scenecut=0"))  # 2 s GOPs
    _, out, fixes = _fix_clean(src, media / "out")
    assert out.duration == pytest.approx(10.0, abs=0.1)
    assert fixes == ["trim: Trimmed 0.0-10.0 s of 30.0 s (stream copy, no quality loss); "
                     f"the result is {out.duration:.1f} s."]


def test_later_window_copied_when_a_keyframe_is_close_else_cut_exactly(media: Path) -> None:
    src = str(media / "long.mp4")  # made by the test above: keyframes every 2 s
    _, near, fixes = _fix_clean(src, media / "out", start=12.2, length=5.0)
    assert near.duration == pytest.approx(5.2, abs=0.1)  # starts at the 12.0 s keyframe
    assert "approximate: it starts at the keyframe at or before 12.2 s" in fixes[0]
    _, far, fixes = _fix_clean(src, media / "out", start=13.9, length=5.0)
    assert far.duration == pytest.approx(5.0, abs=0.1)
    assert "re-encoded, exact cut" in fixes[0]


def test_120_fps_becomes_60(media: Path) -> None:
    src = make_video(media / "fast.mp4", seconds=3, fps=120, audio=False,
                     pattern="smptebars")
    _, out, fixes = _fix_clean(src, media / "out")
    assert out.fps == 60 and out.duration == pytest.approx(3.0, abs=0.1)
    assert "fps: Converted 120 fps to a constant 60 fps." in fixes


def test_15_fps_small_3gp_becomes_24_fps_720p(media: Path) -> None:
    src = make_video(media / "old.mp4", seconds=3, size=(320, 240), fps=15, vcodec="mpeg4")
    _, out, fixes = _fix_clean(src, media / "out")
    assert (out.fps, out.width, out.height, out.video_codec) == (24, 960, 720, "h264")
    assert out.has_audio


def test_4k_is_scaled_to_1080p(media: Path) -> None:
    src = make_video(media / "4k.mp4", seconds=3, size=(3840, 2160), fps=24, audio=False,
                     pattern="smptebars")
    _, out, fixes = _fix_clean(src, media / "out")
    assert (out.width, out.height) == (1920, 1080)
    assert "scale: Scaled 3840x2160 to 1920x1080, keeping its shape." in fixes


def test_rotated_phone_hevc_mov_is_turned_upright(media: Path) -> None:
    src = make_video(media / "phone.mov", seconds=3, size=(1280, 720), vcodec="libx265",
                     pix_fmt="yuv420p10le", rotate=-90, pattern="smptebars")
    info, out, fixes = _fix_clean(src, media / "out")
    assert info.pix_fmt == "yuv420p10le"
    assert (out.width, out.height, out.rotation, out.pix_fmt) == (720, 1280, 0, "yuv420p")
    assert any(f.startswith("rotate: Turned the picture upright") for f in fixes)


def test_vfr_webm_and_raw_stream(media: Path) -> None:
    for name, kw in (("vfr.mp4", {"vfr": True, "audio": False}), ("a.webm", {}),
                     ("raw.h264", {})):
        src = make_video(media / name, seconds=3, size=(1280, 720), pattern="smptebars",
                         **kw)  # type: ignore[arg-type]
        info, out, _ = _fix_clean(src, media / "out")
        assert not out.variable_fps and out.video_codec == "h264"
        assert out.duration == pytest.approx(info.duration, abs=0.15)
        assert out.has_audio == info.has_audio


def test_short_clip_cannot_be_fixed(media: Path) -> None:
    src = make_video(media / "short.mp4", seconds=2, audio=False)
    with pytest.raises(InputError, match="at least 3 s"):
        fix_video(probe_video(src), str(media / "out"))
