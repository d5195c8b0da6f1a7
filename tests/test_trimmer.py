"""The trimmer (issue #12): the filmstrip maker, the one definition of the cut window, the
window-aware checks and their green text, the cost of the window, and the component's values."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from kling_ui.core import rules
from kling_ui.core.jobs import JobSpec, Preflight
from kling_ui.core.models import Tab, VideoInfo
from kling_ui.media.filmstrip import make_filmstrip, strip_times
from kling_ui.media.fix import plan_video_fix
from kling_ui.media.probe import probe_video
from kling_ui.runs.service import Studio
from kling_ui.ui.common import card_html, player_html, preflight_html
from kling_ui.ui.trimmer import trimmer_value, window_from_event
from tests.media_factory import make_video
from tests.ui_fixtures import test_settings


def _video(duration: float = 12.0, **kw: object) -> VideoInfo:
    base: dict[str, object] = dict(path="x.mp4", container="mp4", video_codec="h264",
                                   duration=duration, width=1280, height=720, fps=30.0,
                                   bytes=11_000_000, audio_codec="aac")
    base.update(kw)
    return VideoInfo(**base)  # type: ignore[arg-type]


# -- the filmstrip ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def clip12(tmp_path_factory: pytest.TempPathFactory) -> str:
    return make_video(tmp_path_factory.mktemp("strip") / "c12.mp4", seconds=12,
                      size=(1280, 720), fps=30)


def test_filmstrip_has_a_frame_per_segment_at_its_time(clip12: str, tmp_path: Path) -> None:
    info = probe_video(clip12)
    strip = make_filmstrip(info, str(tmp_path), count=12, height=90)
    assert len(strip.frames) == len(strip.times) == 12
    # the first frame of each 1 s segment: 0, 1, 2 ... 11 s (30 fps: exact to a frame)
    assert list(strip.times) == pytest.approx([float(i) for i in range(12)], abs=1 / 30 + 1e-3)
    assert strip.duration == pytest.approx(12.0, abs=0.05)
    for path in strip.frames:
        assert Path(path).parent.parent == tmp_path  # a folder of its own, in out_dir
        with Image.open(path) as im:
            assert im.format == "JPEG" and im.size == (160, 90)  # 16:9 kept, 90 px tall


def test_filmstrip_count_and_times_follow_the_request(clip12: str, tmp_path: Path) -> None:
    strip = make_filmstrip(probe_video(clip12), str(tmp_path), count=16, height=60)
    assert len(strip.frames) == 16
    assert list(strip.times) == pytest.approx(list(strip_times(12.0, 16)), abs=1 / 30 + 1e-3)
    assert all(a < b for a, b in zip(strip.times, strip.times[1:], strict=False))
    with Image.open(strip.frames[0]) as im:
        assert im.size[1] == 60


def test_filmstrip_of_a_portrait_clip_keeps_its_shape(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "tall.mp4", seconds=4, size=(720, 1280), fps=24, audio=False)
    strip = make_filmstrip(probe_video(clip), str(tmp_path / "out"), count=4, height=90)
    assert len(strip.frames) == 4
    with Image.open(strip.frames[-1]) as im:
        assert im.size == (50, 90)


def test_strip_times() -> None:
    assert strip_times(12.0, 4) == (0.0, 3.0, 6.0, 9.0)
    assert strip_times(0.0, 4) == ()


# -- the window --------------------------------------------------------------------------------

@pytest.mark.parametrize(("duration", "start", "length", "window"), [
    (12.0, 1.0, 5.0, (1.0, 6.0)),
    (12.0, 0.0, None, (0.0, 10.0)),       # no length: the first 10 s
    (12.0, 11.0, 5.0, (9.0, 12.0)),       # too late: the last 3 s
    (12.0, 2.0, 1.0, (2.0, 5.0)),         # under 3 s: 3 s
    (30.0, 4.0, 25.0, (4.0, 14.0)),       # over 10 s: 10 s
    (8.0, 0.0, None, (0.0, 8.0)),         # a short clip: all of it
    (8.0, -3.0, 4.0, (0.0, 4.0)),
])
def test_trim_window(duration: float, start: float, length: float | None,
                     window: tuple[float, float]) -> None:
    assert rules.trim_window(duration, start, length) == pytest.approx(window)
    # the doctor cuts exactly this window
    plan = plan_video_fix(_video(duration), start=start, length=length)
    assert (plan.start, plan.start + plan.length) == pytest.approx(window)


def test_a_long_clip_with_a_window_passes_and_says_where_it_is_cut() -> None:
    info = _video(12.0)
    assert [p.message for p in rules.check_video(info)] == [
        "is 12.0 s; Kling accepts 3-10 s. Pick a window with the trim slider."]
    assert rules.check_video(info, window=(1.0, 5.0)) == []
    assert rules.window_note(info, (1.0, 5.0)) == (
        "will be cut to 1.0-6.0 s (5.0 s of 12.0 s) before upload.")
    assert rules.window_note(info, None) is None
    assert rules.window_note(_video(8.0), (0.0, None)) is None  # nothing is cut
    assert rules.window_note(_video(8.0), (2.0, None)) == (
        "will be cut to 2.0-8.0 s (6.0 s of 8.0 s) before upload.")
    # other problems stay: the window does not make a 60 fps+ clip acceptable
    fast = _video(12.0, fps=120.0)
    assert [p.fix for p in rules.check_video(fast, window=(1.0, 5.0))] == ["fps"]
    short = _video(2.0)
    assert rules.check_video(short, window=(0.0, None))[0].message.startswith("is 2.00 s")


def test_the_checks_show_the_window_in_green() -> None:
    pre = Preflight(problems=(), tokens=(), cost_usd=0.84, cost_text="", prompt="x",
                    notes=(("reference_video", rules.window_note(_video(), (1.0, 5.0)) or ""),))
    html = preflight_html(pre, "x")
    assert ('<p class="kling-ok">✓ <b>The clip</b> will be cut to 1.0-6.0 s (5.0 s of '
            "12.0 s) before upload.</p>") in html
    assert "kling-err" not in html


@pytest.mark.anyio
async def test_preflight_follows_the_window(clip12: str, tmp_path: Path) -> None:
    studio = Studio(test_settings(), data_dir=str(tmp_path / "data"))
    try:
        spec = JobSpec(Tab.EDIT, "<<<video_1>>> at night", reference_video=clip12,
                       quality="pro", video_start=1.0, video_length=5.0)
        pre = await studio.preflight(spec)
        assert pre.ok, pre.problems
        assert pre.notes == (("reference_video",
                              "will be cut to 1.0-6.0 s (5.0 s of 12.0 s) before upload."),)
        assert "5 s ×" in pre.cost_text  # Edit: the output follows the window's length
        whole = await studio.preflight(replace(spec, video_start=0.0, video_length=None))
        assert whole.ok and "10 s ×" in whole.cost_text
        assert whole.notes[0][1].startswith("will be cut to 0.0-10.0 s")
        raw = await studio.preflight(replace(spec, auto_fix=False))  # nothing cut: red
        assert [p.message for p in raw.errors][0].startswith("is 12.0 s; Kling accepts 3-10 s")
        assert raw.notes == ()
        strip = await studio.filmstrip(clip12)
        assert strip is await studio.filmstrip(clip12)  # made once per file
    finally:
        await studio.aclose()


# -- the component's values --------------------------------------------------------------------

def test_window_from_event_takes_only_a_window() -> None:
    assert window_from_event({"start": 1.04, "length": 4.96}) == (1.0, 5.0)
    assert window_from_event({"start": -2, "length": 30}) == (0.0, 10.0)
    assert window_from_event({"start": 11.0, "length": 5.0}, duration=12.0) == (9.0, 3.0)
    for bad in (None, "1,5", {"start": 1}, {"start": "x", "length": 3},
                {"start": float("nan"), "length": 3}, {"start": 1, "length": float("inf")}):
        assert window_from_event(bad) is None


def test_trimmer_value_is_the_cut_window(clip12: str, tmp_path: Path) -> None:
    strip = make_filmstrip(probe_video(clip12), str(tmp_path), count=3)
    value = trimmer_value(12.0, 2.5, 20.0, strip)
    assert (value["start"], value["end"], value["duration"]) == (2.5, 12.0, 12.0)
    assert (value["min"], value["max"]) == (3, 10)
    assert [f["t"] for f in value["frames"]] == list(strip.times)
    assert all(f["url"].startswith("gradio_api/file=") for f in value["frames"])
    assert trimmer_value(12.0, 0.0, None)["frames"] == []


def test_a_playable_clip_loops_its_window_and_the_card_is_green() -> None:
    from kling_ui.core.jobs import UploadCheck

    check = UploadCheck(path="/tmp/c.mp4", info=_video(), problems=(), badge="12.0 s",
                        preview_path="/tmp/c.mp4")
    html = player_html(check, window=(1.0, 6.0))
    assert 'src="gradio_api/file=/tmp/c.mp4#t=1.00,6.00"' in html
    assert 'data-loop-start="1.00" data-loop-end="6.00"' in html
    assert player_html(check) == ""  # no window: Gradio's own player shows the clip
    card = card_html("<<<video_1>>>", "video", check, good="will be cut to 1.0-6.0 s")
    assert '<p class="kling-ok">✓ will be cut to 1.0-6.0 s</p>' in card
