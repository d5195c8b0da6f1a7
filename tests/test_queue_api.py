"""Queue position through the named API and the library (issue #15): a gradio_client caller whose
run waits for the Studio's one slot sees "1 ahead of you" / "Next in line" in job.status(), the
library lists the waiting run as queued, and Cancel takes a waiting run out of the line without
any request to Replicate.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from gradio_client import Client

from kling_ui.core.errors import PredictionError
from kling_ui.core.models import Tab
from kling_ui.runs.pool import CANCELED_IN_LINE
from kling_ui.runs.service import JobSpec
from tests.ui_fixtures import LaunchedApp, launched_app

SIM_SECONDS = 8.0  # wide enough to see each place in line on a busy box


@pytest.fixture(scope="module")
def app() -> Iterator[LaunchedApp]:
    with launched_app(sim_seconds=SIM_SECONDS, concurrency=1, queue_size=8) as launched:
        yield launched


def _descs(job: Any) -> list[str]:
    data = job.status().progress_data or []
    return [unit.desc or "" for unit in data]


@pytest.mark.slow  # out of the inner loop (issue #21): tens of seconds
def test_an_api_caller_sees_its_place_in_line_then_its_result(app: LaunchedApp) -> None:
    client = Client(app.url, verbose=False)
    jobs = [client.submit(prompt=f"line {i}: a calm sea at dawn", aspect_ratio="1:1", duration=5,
                          mode="std", api_name="/text_to_video") for i in range(3)]
    seen: dict[int, set[str]] = {0: set(), 1: set(), 2: set()}
    queued_rows: set[str] = set()
    deadline = time.monotonic() + 120
    while not all(j.done() for j in jobs) and time.monotonic() < deadline:
        for i, job in enumerate(jobs):
            seen[i].update(d for d in _descs(job) if d)
        queued_rows |= {r.id for r in app.studio.library.runs(status="queued")}
        time.sleep(0.2)
    results = [j.result(timeout=60) for j in jobs]
    assert [r[1]["status"] for r in results] == ["succeeded"] * 3
    # Which call the server takes first is its own affair: one waited behind two, then behind
    # one; the two that waited were each next in line at some point.
    said = set().union(*seen.values())
    assert any(d.startswith("1 ahead of you") for d in said), seen
    assert sum(any(d.startswith("Next in line") for d in s) for s in seen.values()) >= 2, seen
    # After the wait, the same status follows the run itself.
    assert any(d.startswith(("Generating", "Starting", "Uploading", "Checking")) for d in said)
    assert len(queued_rows) >= 2  # the library said "queued" while they waited
    for run_id in queued_rows:
        row = app.studio.library.get(run_id)
        assert row is not None and row.status == "succeeded"


@pytest.mark.slow  # out of the inner loop (issue #21): tens of seconds
def test_cancel_while_waiting_leaves_the_line_and_never_reaches_replicate(app: LaunchedApp) -> None:
    studio = app.studio
    spec = JobSpec(tab=Tab.TEXT, prompt="a lighthouse in fog", aspect_ratio="1:1", quality="std")
    studio.simulator_url()
    before = set(studio._sim.state.predictions)
    first = studio.start(spec, visitor_token=None, visitor_id="t", owner="queue-test")
    second = studio.start(spec, visitor_token=None, visitor_id="t", owner="queue-test")
    third = studio.start(spec, visitor_token=None, visitor_id="t", owner="queue-test")
    assert second.waiting and third.waiting
    assert studio.library.get(second.run_id).status == "queued"  # type: ignore[union-attr]
    assert studio.cancel_run(second.run_id)
    assert second.future is not None
    with pytest.raises(PredictionError, match="waited in line"):
        second.future.result(30)
    row = studio.library.get(second.run_id)
    assert row is not None and row.status == "canceled" and row.error == CANCELED_IN_LINE
    assert studio.runner.pool.position(third) in (0, None)  # moved up (or, on a slow box, began)
    for handle in (first, third):
        assert handle.future is not None
        assert handle.future.result(120).status == "succeeded"
    made = set(studio._sim.state.predictions) - before
    ran = {studio.library.get(h.run_id).prediction_id for h in (first, third)}  # type: ignore[union-attr]
    assert made == ran  # one prediction each; none for the canceled run


def test_a_run_refused_by_its_checks_leaves_no_queued_row(app: LaunchedApp) -> None:
    studio = app.studio
    bad = JobSpec(tab=Tab.TEXT, prompt="", aspect_ratio="1:1", quality="std")
    handle = studio.start(bad, visitor_token=None, visitor_id="t", owner="queue-bad")
    assert handle.future is not None
    with pytest.raises(Exception):  # noqa: B017 - an InputError, shown on the page as it is
        handle.future.result(60)
    assert studio.library.get(handle.run_id) is None
