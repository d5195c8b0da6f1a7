"""The motion report on clips whose motion is known (tests/motion_clips.py)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kling_ui.core.errors import InputError
from kling_ui.media import motion, motion_plot
from kling_ui.media.probe import probe_video
from tests.motion_clips import pan_clip, variant

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("motion")
    a = pan_clip(d / "a.mp4", which="a")
    out = {"a": a, "other": pan_clip(d / "b.mp4", which="b")}
    for kind in ("graded", "reversed", "mirrored", "delayed", "delayed25", "faster"):
        out[kind] = variant(a, d / f"{kind}.mp4", kind)
    out["tilt"] = pan_clip(d / "tilt.mp4", which="tilt")
    out["tilt_flipped"] = variant(out["tilt"], d / "tilt_flipped.mp4", "flipped")
    return out


def report(clips: dict[str, Path], name: str, **kw: float) -> motion.MotionReport:
    return motion.measure_motion(probe_video(str(clips["a"])), probe_video(str(clips[name])), **kw)


def test_graded_24fps_copy_keeps_the_motion(clips: dict[str, Path]) -> None:
    r = report(clips, "graded")
    assert r.score >= 0.85
    assert abs(r.offset_s) < 0.05
    assert r.drift == []
    assert r.frames_original == r.frames_output == 144  # 6 s at 24 fps
    assert r.duration_original == pytest.approx(6.0, abs=0.05)
    assert r.audio_offset_s == pytest.approx(0.0, abs=0.05)
    assert r.speed_ratio == pytest.approx(1.0, abs=0.15)


@pytest.mark.parametrize("name", ["reversed", "mirrored", "other"])
def test_reversed_mirrored_or_unrelated_motion_scores_low(clips: dict[str, Path],
                                                         name: str) -> None:
    r = report(clips, name)
    assert r.score <= 0.4
    assert r.drift, "disagreeing motion shows drift spans"
    assert sum(b - a for a, b in r.drift) >= 2.0


def test_one_second_delay_is_found(clips: dict[str, Path]) -> None:
    r = report(clips, "delayed")
    assert r.offset_s == pytest.approx(1.0, abs=0.1)
    assert r.audio_offset_s == pytest.approx(1.0, abs=0.1)
    assert r.score >= 0.85  # once aligned, the motion is the original's


def test_a_delay_past_the_search_range_is_not_found(clips: dict[str, Path]) -> None:
    """2.5 s is outside the +-2 s search (issue #24): no confident number, a plain sentence."""
    r = report(clips, "delayed25")
    assert r.offset_s is None
    assert r.audio_offset_s is None
    figs = r.figures()
    assert figs["offset_s"] is None and figs["audio_offset_s"] is None
    assert "not found" in figs["offset_note"] and "1.8 s" in figs["offset_note"]
    assert "not found" in figs["audio_note"]
    assert "offset" in motion.verdict(figs).lower()


def test_a_flipped_tilt_still_scores_low(clips: dict[str, Path]) -> None:
    r = motion.measure_motion(probe_video(str(clips["tilt"])),
                              probe_video(str(clips["tilt_flipped"])))
    assert r.score <= 0.3
    assert motion.verdict(r.figures()).startswith("motion not kept")


def test_a_faster_clip_reads_as_kept_and_faster_with_no_offset(clips: dict[str, Path]) -> None:
    r = report(clips, "faster")
    assert r.speed_ratio == pytest.approx(1.25, abs=0.04)
    assert r.offset_s == 0.0  # the speed explains the timing: no spurious shift
    assert r.score >= 0.8
    assert re.fullmatch(r"motion kept, 1\.2[4-6]x faster", motion.verdict(r.figures()))
    assert motion.verdict(report(clips, "graded").figures()) == "motion kept"
    delayed = motion.verdict(report(clips, "delayed").figures())
    assert delayed.startswith("motion kept") and "1.00 s later" in delayed


def test_less_motion_at_the_same_pace_is_not_called_slower(clips: dict[str, Path]) -> None:
    """A try as a user read "motion kept, 1.24x slower" beside two equal durations: an edit that
    moves 0.8x as much per frame is not slower. Only a fitted pace is one."""
    figs = {"score": 0.9, "offset_s": 0.0, "speed_ratio": 0.81, "speed_fitted": False}
    assert motion.verdict(figs) == "motion kept"
    assert motion.verdict({**figs, "speed_fitted": True}) == "motion kept, 1.23x slower"
    # A library row saved before the key reads as it did then.
    assert motion.verdict({k: v for k, v in figs.items() if k != "speed_fitted"}).endswith("slower")
    from kling_ui.ui.finish import score_markdown
    shown = score_markdown({**figs, "drift": [], "frames_original": 120, "frames_output": 120,
                            "duration_original": 5.0, "duration_output": 5.0})
    assert "motion per frame: 0.81x the original's" in shown and "speed" not in shown
    assert report(clips, "faster").figures()["speed_fitted"] is True
    assert report(clips, "graded").figures()["speed_fitted"] is False


def test_window_of_a_longer_original(clips: dict[str, Path]) -> None:
    """The output compared with the part of the original it came from: start 2 s, 3 s long."""
    cut = clips["a"].with_name("cut.mp4")
    from tests.media_factory import ffmpeg

    ffmpeg("-ss", "2", "-t", "3", "-i", str(clips["graded"]), "-c:v", "libx264", "-preset",
           "ultrafast", "-c:a", "aac", str(cut))
    right = motion.measure_motion(probe_video(str(clips["a"])), probe_video(str(cut)), start=2.0)
    wrong = motion.measure_motion(probe_video(str(clips["a"])), probe_video(str(cut)), start=0.0)
    assert right.score >= 0.85 and abs(right.offset_s) < 0.1
    assert right.duration_original == pytest.approx(3.0, abs=0.05)
    assert wrong.score < right.score - 0.3


def test_windows_that_cannot_be_compared_are_refused(clips: dict[str, Path]) -> None:
    a, g = probe_video(str(clips["a"])), probe_video(str(clips["graded"]))
    with pytest.raises(InputError, match="outside the original"):
        motion.measure_motion(a, g, start=5.5)
    with pytest.raises(InputError, match="cannot be aligned"):
        motion.measure_motion(a, g, length=1.5)
    with pytest.raises(InputError, match="0 or more"):
        motion.measure_motion(a, g, start=-1)


def test_plot_is_a_png_with_both_curves(clips: dict[str, Path], tmp_path: Path) -> None:
    r = report(clips, "mirrored")
    path = motion_plot.plot_report(r, str(tmp_path / "plot.png"))
    with Image.open(path) as im:
        assert im.format == "PNG" and im.width >= 500
        pixels = np.asarray(im.convert("RGB")).reshape(-1, 3).astype(int)
    blue = ((abs(pixels - (64, 89, 173))).sum(axis=1) < 40).sum()
    orange = ((abs(pixels - (224, 122, 31))).sum(axis=1) < 40).sum()
    red_shade = ((abs(pixels - (249, 209, 209))).sum(axis=1) < 30).sum()
    assert blue > 200 and orange > 200 and red_shade > 1000


def test_a_scene_cut_spike_is_marked_not_scaled_to(clips: dict[str, Path],
                                                   tmp_path: Path) -> None:
    """One cut (a +-200 %/s flow spike) must not set the y-axis (issue #24): the scale follows
    the ordinary motion, the spike's pair is marked as a cut, and the SVG carries a viewBox."""
    r = report(clips, "graded")
    plain = motion_plot.robust_scale(r.curve_original, r.curve_output)
    spiked = r.curve_output.copy()
    spiked[70] = (8.0, -8.0)  # this pan is fast (~1 frame/s): a cut jumps far past it
    assert motion_plot.robust_scale(r.curve_original, spiked) == pytest.approx(plain, rel=0.1)
    assert plain < 300  # % of the frame per second: the spike's 800 is off the chart
    assert motion_plot.cuts(spiked, plain) == [70]
    assert motion_plot.cuts(r.curve_output, plain) == []
    cut = dataclasses.replace(r, curve_output=spiked)
    png = motion_plot.plot_report(cut, str(tmp_path / "cut.png"))
    svg = Path(png).with_suffix(".svg").read_text()
    assert "viewBox" in svg and "<text" not in svg  # scales; no words (the page writes them)


def test_figures_are_json_ready(clips: dict[str, Path]) -> None:
    figs = report(clips, "graded").figures()
    assert set(figs) >= {"score", "offset_s", "drift", "frames_original", "frames_output",
                         "duration_original", "duration_output", "audio_offset_s"}
    import json

    assert json.loads(json.dumps(figs)) == figs


# -- the pure core, on made-up vector series ----------------------------------------------------

def test_best_lag_finds_a_shift_and_ignores_a_steady_pan() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(size=(100, 4)).astype(np.float32)
    b = np.vstack([np.zeros((10, 4), np.float32), a[:-10]])
    assert motion.best_lag(a, b, 20) == 10
    steady = np.ones((100, 4), np.float32)
    assert motion.best_lag(steady, steady, 20) == 0


def test_still_clips_agree_and_still_against_moving_does_not() -> None:
    still = np.zeros((60, 32), np.float32)
    moving = np.full((60, 32), 0.2, np.float32)
    assert motion.compare_vectors(still, still).score == 1.0
    assert motion.compare_vectors(moving, still).score == 0.0
    assert motion.compare_vectors(moving, -moving).score == 0.0
