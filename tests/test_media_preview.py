"""Previews the browser can play, poster frames, and the badge line under each upload."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from kling_ui.core import rules
from kling_ui.core.models import ImageInfo, VideoInfo
from kling_ui.media.preview import badge, browser_playable, make_poster, make_preview
from kling_ui.media.probe import probe_image, probe_video
from tests.media_factory import make_image, make_video


def _video(**kw: object) -> VideoInfo:
    base: dict[str, object] = dict(path="x.mp4", container="mp4", video_codec="h264",
                                   duration=8.1, width=1920, height=1080, fps=30.0,
                                   bytes=24_000_000, audio_codec="aac")
    base.update(kw)
    return VideoInfo(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(("kw", "playable"), [
    ({}, True), ({"container": "mov"}, True), ({"video_codec": "hevc", "container": "mov"}, False),
    ({"pix_fmt": "yuv420p10le"}, False), ({"container": "matroska"}, False),
    ({"container": "webm", "video_codec": "vp9"}, True), ({"container": "avi",
                                                           "video_codec": "mpeg4"}, False)])
def test_browser_playable(kw: dict[str, object], playable: bool) -> None:
    assert browser_playable(_video(**kw)) is playable


def test_badge_for_a_good_video() -> None:
    info = _video()
    assert badge(info, rules.check_video(info)) == "8.1 s · 1920x1080 · 30 fps · audio · 24.0 MB"


def test_badge_marks_what_fails() -> None:
    info = _video(duration=14.2, fps=20.0, container="matroska", audio_codec=None)
    line = badge(info, rules.check_video(info))
    assert line == "✗ MATROSKA h264 · ✗ 14.2 s · 1920x1080 · ✗ 20 fps · no audio · 24.0 MB"
    vfr = _video(fps=29.5, variable_fps=True)
    assert "⚠ 29.5 fps (variable)" in badge(vfr, rules.check_video(vfr))


def test_badge_for_images() -> None:
    ok = ImageInfo(path="a.png", format="PNG", bytes=1_200_000, width=1024, height=768)
    assert badge(ok, rules.check_image(ok, "x")) == "PNG · 1024x768 · 1.2 MB"
    small = replace(ok, bytes=6_012)
    assert badge(small, rules.check_image(small, "x")) == "PNG · 1024x768 · 6 KB"
    bad = ImageInfo(path="a.gif", format="GIF", bytes=12_000_000, width=200, height=200,
                    animated=True, frames=12)
    assert badge(bad, rules.check_image(bad, "x")) == "✗ GIF (12 frames) · ✗ 200x200 · ✗ 12.0 MB"


@pytest.fixture(scope="module")
def hevc_phone_clip(tmp_path_factory: pytest.TempPathFactory) -> VideoInfo:
    path = tmp_path_factory.mktemp("preview") / "IMG_0001.mov"
    return probe_video(make_video(path, seconds=3, size=(1280, 720), fps=60,
                                  vcodec="libx265", rotate=-90))


def test_preview_of_an_hevc_phone_clip(hevc_phone_clip: VideoInfo, tmp_path: Path) -> None:
    assert not browser_playable(hevc_phone_clip)
    preview = probe_video(make_preview(hevc_phone_clip, str(tmp_path)))
    assert browser_playable(preview)
    assert (preview.width, preview.height) == (360, 640)  # upright, at most 640 px tall
    assert preview.fps == 30 and preview.has_audio
    assert preview.duration == pytest.approx(3.0, abs=0.1)


def test_poster_is_an_upright_jpeg(hevc_phone_clip: VideoInfo, tmp_path: Path) -> None:
    with Image.open(make_poster(hevc_phone_clip, str(tmp_path))) as im:
        assert im.format == "JPEG" and im.size == (720, 1280)


def test_poster_of_a_raw_stream_that_cannot_seek(tmp_path: Path) -> None:
    info = probe_video(make_video(tmp_path / "raw.h264", seconds=3, size=(640, 360)))
    with Image.open(make_poster(info, str(tmp_path))) as im:
        assert im.size == (640, 360)


def test_image_badge_from_a_real_file(tmp_path: Path) -> None:
    info = probe_image(make_image(tmp_path / "a.png", (1024, 768)))
    assert badge(info, rules.check_image(info, "x")).startswith("PNG · 1024x768 · ")
