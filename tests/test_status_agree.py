"""A run's status says one thing at a time (issue #23): the stage heading and the detail line
under it always agree, from the first update to the last, live and as the library's row shows it
after a reload. The issue saw "Downloading the output" over "Measuring the motion".

The expected stage of each detail line is written out here, by hand, as a person reads it; the
code's own table (core.models.STEP_STAGES) is not the oracle.
"""

from __future__ import annotations

import html
import re

import pytest
from sim_fixtures import make_clip, make_png

from kling_ui.core.config import Secret, Settings
from kling_ui.core.jobs import JobSpec
from kling_ui.core.models import Progress, Tab
from kling_ui.library.store import new_run_id
from kling_ui.runs.service import Studio
from kling_ui.ui.common import progress_html, run_progress_html

pytestmark = pytest.mark.anyio

ORDER = ("queued", "checking", "fixing", "uploading", "starting", "processing", "downloading",
         "finishing", "done")
# The heading each stage shows (English page).
HEADING = {"checking": "Checking inputs", "fixing": "Fixing inputs", "uploading": "Uploading inputs",
           "starting": "Starting", "processing": "Generating", "downloading": "Downloading the output",
           "finishing": "Finishing", "done": "Done"}
# The Studio's own detail lines (by their start) and the stage a person expects over them.
DETAIL_STAGE = (
    ("Checking inputs", "checking"),
    ("Fixing the video", "fixing"),
    ("Fixing the start frame", "fixing"),
    # A fix waiting its turn behind other video work on this machine (hosting.bounds.MediaPool).
    ("Waiting for the machine", "fixing"),
    ("Uploading inputs", "uploading"),
    ("Creating the prediction", "starting"),
    ("Checking the output", "finishing"),
    ("Measuring the motion", "finishing"),
    ("Done", "done"),
)


def expected_stage(detail: str) -> str | None:
    return next((stage for start, stage in DETAIL_STAGE if detail.startswith(start)), None)


def shown(page: str) -> tuple[str, str]:
    """(heading, detail) as the status box shows them."""
    head = re.search(r'<b class="kling-status-msg">(.*?)</b>', page, re.S)
    detail = re.search(r'<pre class="kling-log"[^>]*>(.*?)</pre>', page, re.S)
    return (html.unescape(head.group(1)) if head else "",
            html.unescape(detail.group(1)) if detail else "")


def agrees(head: str, detail: str) -> str | None:
    """Why this heading and detail disagree, or None."""
    want = expected_stage(detail)
    if want is not None:
        return None if head == HEADING[want] else f"{head!r} over {detail!r}"
    if detail:  # the model's own log: only while Replicate generates
        ok = head.startswith("Replicate:") or head in (HEADING["starting"], HEADING["processing"])
        return None if ok else f"{head!r} over the model's line {detail!r}"
    return None


SIM_OPTIONS = {"model_seconds": 0.6}  # the `sim` fixture (conftest.py) with these timings


@pytest.fixture
def studio(sim, tmp_path):
    base_url, _ = sim
    settings = Settings(token=Secret("r8_" "HostKeyForTests00000000000000"), base_url=base_url,
                        backend="replicate", backend_forced=True, sim_seconds=0.6)
    return Studio(settings, data_dir=str(tmp_path / "data"))


async def walk(studio: Studio, spec: JobSpec) -> tuple[list[Progress], list[str]]:
    """Run `spec`; every update, and what is wrong with each (live and from the row)."""
    run_id = new_run_id()
    seen: list[Progress] = []
    wrong: list[str] = []

    def on_progress(p: Progress) -> None:
        seen.append(p)
        live = progress_html(p, p.elapsed)
        why = agrees(*shown(live))
        if why:
            wrong.append(f"live: {why}")
        want = expected_stage(p.log_line)
        if want is not None and p.stage != want:
            wrong.append(f"stage {p.stage!r} with {p.log_line!r}")
        row = studio.library.get(run_id)
        if row is not None and row.in_flight:
            why = agrees(*shown(run_progress_html(row)))
            if why:
                wrong.append(f"row ({row.status}): {why}")

    result = await studio.run(spec, visitor_token=None, visitor_id="v1", run_id=run_id,
                              on_progress=on_progress)
    assert result.status == "succeeded"
    return seen, wrong


def check_order(seen: list[Progress]) -> list[str]:
    """Stages only move forward, and "done" is said once, last."""
    wrong = []
    at = 0
    for i, p in enumerate(seen):
        n = ORDER.index(p.stage)
        if n < at:
            wrong.append(f"{seen[i - 1].stage} -> {p.stage} ({p.log_line!r})")
        if p.stage == "done" and i != len(seen) - 1:
            wrong.append(f"done before the end (then {seen[i + 1].stage})")
        at = max(at, n)
    if seen[-1].stage != "done":
        wrong.append(f"ends at {seen[-1].stage}")
    return wrong


@pytest.mark.slow  # three runs on the simulator, one with a fix and a motion report: ~10 s
async def test_stage_and_detail_agree_through_whole_runs(studio, tmp_path):
    clip = str(make_clip(tmp_path / "clip.mp4", seconds=4.0, size=(640, 360)))
    image = str(make_png(tmp_path / "crown.png", (640, 480)))
    runs = {
        "text": JobSpec(Tab.TEXT, "A red fox in snow", duration=5),
        # A window of the clip: the doctor trims it ("Fixing the video"); an edit gets a motion
        # report after the download ("Measuring the motion").
        "edit": JobSpec(Tab.EDIT, "Put the crown from <<<image_1>>> on <<<video_1>>>",
                        reference_images=(image,), reference_video=clip, video_start=0.5,
                        video_length=3.0),
        "frames": JobSpec(Tab.FRAMES, "<<<image_1>>> waves", start_image=image),
    }
    problems: dict[str, list[str]] = {}
    lines: dict[str, list[str]] = {}
    for name, spec in runs.items():
        seen, wrong = await walk(studio, spec)
        problems[name] = wrong + check_order(seen)
        lines[name] = [p.log_line for p in seen]
    # The walk saw the steps it is about.
    assert "Measuring the motion" in lines["edit"]
    assert any(line.startswith("Fixing the video") for line in lines["edit"])
    assert "Checking the output" in lines["text"]
    assert problems == {"text": [], "edit": [], "frames": []}


@pytest.mark.parametrize(("stage", "line"), [
    ("downloading", "Measuring the motion"),
    ("downloading", "Checking the output"),
    ("processing", "Creating the prediction"),
    ("done", "Uploading inputs"),
])
def test_a_detail_line_brings_its_own_stage(stage, line):
    """Whatever stage its maker passed, a Studio detail line is shown under its own."""
    head, detail = shown(progress_html(Progress(stage=stage, log_line=line), 3.0))
    assert detail in ("", line)
    assert head == HEADING[expected_stage(line) or stage]


def test_the_heading_is_not_said_twice():
    """A detail that says what the heading says is not repeated under it."""
    head, detail = shown(progress_html(Progress(stage="checking", log_line="Checking inputs"), 1.0))
    assert (head, detail) == ("Checking inputs", "")


def test_a_held_create_that_reads_starting_while_it_generates_says_processing():
    """Replicate answers a held create whose wait ran out with "starting", even while the model
    already logs its frames: the heading and the status row say processing, once."""
    p = Progress(stage="starting", status="starting", log_line="Generating frames 40%",
                 fraction=0.4, prediction_id="p1")
    page = progress_html(p, 6.0)
    head, detail = shown(page)
    assert (head, detail) == ("Replicate: processing · 40%", "Generating frames 40%")
    assert "<code>starting</code>" not in page
    # Before any frame it is starting, as Replicate says.
    head, _ = shown(progress_html(Progress(stage="starting", status="starting"), 1.0))
    assert head == "Replicate: starting"


def test_each_stage_and_status_has_one_english_name():
    """The English names the API and the library use are the page's own (one voice)."""
    from kling_ui.i18n import EN
    from kling_ui.ui.common import _STATUS_KEYS, RUN_STATUS_TEXT, STAGE_LABELS

    assert {s: EN[f"stage.{s}"] for s in STAGE_LABELS} == STAGE_LABELS
    assert {s: EN[_STATUS_KEYS[s]] for s in RUN_STATUS_TEXT} == RUN_STATUS_TEXT
