"""The simulator's outputs: Kling's sizes per mode and shape, and a first frame with a picture."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kling_ui.media.ffmpeg import ffmpeg_exe
from kling_ui.media.probe import probe_video
from kling_ui.media.render import RenderJob, base_size, output_size, render
from tests.media_factory import make_image, make_video

# A black or faded-in frame has a mean luma near 16 (video range); any real picture is far above.
MIN_FIRST_FRAME_LUMA = 40


def _first_frame_luma(path: Path) -> float:
    raw = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(path), "-frames:v", "1", "-f", "rawvideo",
         "-pix_fmt", "gray", "-"], capture_output=True, check=True).stdout
    assert raw, "no first frame decoded"
    return sum(raw) / len(raw)


@pytest.mark.parametrize(("mode", "aspect", "size"), [
    ("std", "16:9", (1280, 720)), ("pro", "16:9", (1920, 1080)), ("std", "9:16", (720, 1280)),
    ("pro", "9:16", (1080, 1920)), ("std", "1:1", (720, 720)), ("pro", "1:1", (1080, 1080)),
])
def test_output_size_is_klings_720p_and_1080p(mode: str, aspect: str, size: tuple[int, int]) -> None:
    assert output_size(mode, aspect) == size


@pytest.mark.parametrize(("clip", "mode", "size"), [
    ((1280, 720), "std", (1280, 720)), ((1280, 720), "pro", (1920, 1080)),
    ((720, 1280), "pro", (1080, 1920)), ((1440, 1080), "std", (960, 720)),
    ((3840, 1080), "std", (1280, 720)),  # wider than 16:9: capped at the mode's long side
])
def test_a_base_edit_keeps_the_clips_shape(clip: tuple[int, int], mode: str,
                                           size: tuple[int, int]) -> None:
    assert base_size(*clip, mode) == size


@pytest.mark.parametrize(("mode", "size"), [("std", (1280, 720)), ("pro", (1920, 1080))])
def test_text_output_is_the_modes_size_and_starts_on_a_picture(
        tmp_path: Path, mode: str, size: tuple[int, int]) -> None:
    out = render(RenderJob(kind="text", prompt="A crown on a girl", mode=mode, duration=1),
                 tmp_path / "out.mp4")
    info = probe_video(str(out))
    assert (info.width, info.height) == size
    assert info.fps == 24
    assert _first_frame_luma(out) > MIN_FIRST_FRAME_LUMA


def test_frames_output_takes_a_portrait_start_frames_shape(tmp_path: Path) -> None:
    start = make_image(tmp_path / "start.png", (600, 1000))
    out = render(RenderJob(kind="frames", prompt="dance", mode="std", aspect_ratio="16:9",
                           duration=1, images=(start,)), tmp_path / "out.mp4")
    info = probe_video(str(out))
    assert (info.width, info.height) == (720, 1280)  # the 16:9 asked for is ignored, as Kling does
    assert _first_frame_luma(out) > MIN_FIRST_FRAME_LUMA


@pytest.mark.parametrize("kind", ["base", "feature"])
def test_video_outputs_start_on_a_picture_and_follow_the_mode(tmp_path: Path, kind: str) -> None:
    clip = make_video(tmp_path / "clip.mp4", 1, (720, 1280), fps=24, audio=False,
                      pattern="smptebars")
    out = render(RenderJob(kind=kind, prompt="x", mode="pro", aspect_ratio="16:9", duration=1,
                           video=clip, keep_sound=False), tmp_path / "out.mp4")
    info = probe_video(str(out))
    # base keeps the portrait clip's shape at 1080p; feature follows the asked 16:9 at 1080p
    assert (info.width, info.height) == ((1080, 1920) if kind == "base" else (1920, 1080))
    assert _first_frame_luma(out) > MIN_FIRST_FRAME_LUMA


def test_a_chinese_prompt_is_drawn_with_a_face_that_has_its_glyphs(tmp_path: Path) -> None:
    """The simulator's title card drew a Chinese prompt as boxes (Pillow's own face has no CJK);
    a system CJK face is used where there is one (on this box: the ones in CJK_FONTS)."""
    import os

    from kling_ui.media import render

    font = render._font(24, "雪中的狐狸")
    have = [p for p in render.CJK_FONTS if os.path.exists(p)]
    if have:
        assert getattr(font, "path", None) == have[0]
    else:  # no CJK face on this system: Pillow's own, and the card is still drawn
        assert getattr(font, "path", None) not in render.CJK_FONTS
    assert render._font(24, "A fox in the snow").getname() == render._font(24).getname()
    out = render._title_png(tmp_path / "t.png", 640, 360, "雪中的狐狸，慢镜头")
    assert out.stat().st_size > 1000
