"""The finishing service without Gradio: clear refusals, the motion step after a run, windows."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from kling_ui.core.errors import InputError
from kling_ui.core.models import Tab
from kling_ui.finishing.results import Finisher, trimmed_window
from kling_ui.runs.service import JobResult, JobSpec
from tests.media_factory import make_image, make_video
from tests.motion_clips import pan_clip, variant

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("finishing")
    a = pan_clip(d / "a.mp4", seconds=4)
    return {
        "a": a,
        "graded": variant(a, d / "graded.mp4", "graded", seconds=4),
        "long": Path(make_video(d / "long.mp4", seconds=12, size=(320, 240), fps=24)),
        "short": Path(make_video(d / "short.mp4", seconds=0.5, size=(320, 240), fps=24)),
        "image": Path(make_image(d / "frame.png", size=(400, 300))),
        "text": d / "notes.mp4",
    }


def result(original: Path, output: Path, *, kind: str = "video", duration: float = 4.0,
           spec: JobSpec | None = None) -> JobResult:
    return JobResult(
        output_path=str(output), original_path=str(original), prediction_id="p1",
        status="succeeded", predict_time=1.0, estimated_cost_usd=0.5, input_sent={},
        output_facts={"kind": "video"}, original_facts={"kind": kind, "duration": duration},
        spec=spec)


def test_a_run_with_a_video_original_gets_its_motion_in_the_summary(clips: dict[str, Path]
                                                                    ) -> None:
    done = asyncio.run(Finisher(clips["a"].parent).with_motion(result(clips["a"],
                                                                      clips["graded"])))
    motion = done.summary()["motion"]
    assert motion["score"] >= 0.85 and motion["frames_output"] == 96
    assert Path(done.extra["motion_plot"]).is_file()
    assert Path(done.extra["motion_plot"]).parent == clips["graded"].parent  # beside the output


def test_a_new_shot_gets_no_motion_score(clips: dict[str, Path]) -> None:
    """Next shot / Video reference make a new shot: "motion kept" means nothing there (#24)."""
    for tab, compared in ((Tab.FEATURE, False), (Tab.EDIT, True)):
        spec = JobSpec(tab=tab, prompt="x", reference_video=str(clips["a"]))
        done = asyncio.run(Finisher(clips["a"].parent).with_motion(
            result(clips["a"], clips["graded"], spec=spec)))
        assert ("motion" in done.summary()) is compared


def test_a_report_that_cannot_be_made_is_a_warning_not_a_failed_run(clips: dict[str, Path]
                                                                     ) -> None:
    done = asyncio.run(Finisher(clips["a"].parent).with_motion(result(clips["a"],
                                                                      clips["short"])))
    assert "motion" not in done.summary()
    assert any(w.startswith("motion report: The output is 0.50 s long") for w in done.warnings)


def test_an_image_original_gets_no_motion_report(clips: dict[str, Path]) -> None:
    before = result(clips["image"], clips["graded"], kind="image")
    assert asyncio.run(Finisher(clips["a"].parent).with_motion(before)) == before


def test_trimmed_window_is_the_part_sent_of_the_upload(clips: dict[str, Path]) -> None:
    spec = JobSpec(tab=Tab.EDIT, prompt="x", reference_video=str(clips["long"]), video_start=3.5,
                   video_length=4.0)
    trimmed = result(clips["a"], clips["graded"], spec=spec)
    assert asyncio.run(trimmed_window(trimmed)) == (str(clips["long"]), 3.5, 4.0)
    whole = replace(trimmed, spec=replace(spec, reference_video=str(clips["a"]), video_start=0))
    assert asyncio.run(trimmed_window(whole)) is None


def test_bad_files_and_values_are_named_in_the_message(clips: dict[str, Path]) -> None:
    clips["text"].write_text("not a video at all\n")
    fin = Finisher(clips["a"].parent)
    with pytest.raises(InputError, match=r"^edited: "):
        asyncio.run(fin.splice_back(str(clips["long"]), str(clips["text"]), start=1))
    with pytest.raises(InputError, match=r"^original: the file is gone"):
        asyncio.run(fin.motion_report(str(clips["a"].with_name("gone.mp4")), str(clips["a"])))
    with pytest.raises(InputError, match="start must be a number of seconds"):
        asyncio.run(fin.splice_back(str(clips["long"]), str(clips["a"]), start="soon"))
    with pytest.raises(InputError, match="layout must be one of"):
        asyncio.run(fin.compare_export(str(clips["a"]), str(clips["graded"]), layout="grid"))
    with pytest.raises(InputError, match=r"^output: "):
        asyncio.run(fin.compare_export(str(clips["a"]), str(clips["image"])))
    assert not list(clips["a"].parent.glob("finish/*.mp4"))  # nothing half-made left behind
