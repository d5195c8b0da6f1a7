"""What a run cost, said the same true way everywhere (issue #23: a canceled run's caption said
"$0.56 sim"). Kling O1 is billed per second of output (shared/reference/kling-o1.md, "Prices"):
a run that ended without a video cost nothing; one whose video Replicate made is billed even if
the Studio then failed or was stopped while saving it."""

from __future__ import annotations

from pathlib import Path

import pytest

from kling_ui.library.store import Library, Run, new_run_id
from kling_ui.ui.common import run_cost
from kling_ui.ui.library import _caption
from kling_ui.ui.share_page import facts


def a_run(status: str, *, backend: str = "replicate", output_url: str | None = None,
          prediction_id: str | None = "p1", cost: float = 0.56) -> Run:
    return Run(id=new_run_id(), owner="alice", tab="edit", status=status, created_at=1e9,
               prompt="Put the crown on the girl", estimated_cost=cost, backend=backend,
               prediction_id=prediction_id, output_url=output_url)


@pytest.mark.parametrize(("status", "output_url", "charged"), [
    ("succeeded", None, True),
    ("canceled", None, False),
    ("failed", None, False),
    ("aborted", None, False),
    ("timed out", None, False),
    # Replicate made the video, then the run was stopped or failed while it came down: billed.
    ("canceled", "https://replicate.delivery/x/out.mp4", True),
    ("failed", "https://replicate.delivery/x/out.mp4", True),
    ("processing", None, None),  # not known yet: the estimate stands
    ("lost", None, None),
])
def test_a_run_is_charged_only_for_a_video_made(status, output_url, charged):
    assert a_run(status, output_url=output_url).charged is charged


@pytest.mark.parametrize(("status", "backend", "output_url", "caption", "detail"), [
    ("canceled", "simulator", None, "no charge", "No charge: no video was made"),
    ("canceled", "replicate", None, "no charge", "No charge: no video was made"),
    ("failed", "replicate", None, "no charge", "No charge: no video was made"),
    ("canceled", "replicate", "https://replicate.delivery/x/out.mp4", "≈ $0.56", "$0.56 estimated"),
    ("succeeded", "replicate", None, "≈ $0.56", "$0.56 estimated"),
    ("succeeded", "simulator", None, "$0.56 sim", "$0.56 (simulated: nothing billed)"),
    ("processing", "replicate", None, "≈ $0.56", "$0.56 estimated"),
])
def test_captions_and_details_say_what_the_run_cost(status, backend, output_url, caption, detail):
    run = a_run(status, backend=backend, output_url=output_url)
    line = _caption(run).split("\n")[0]  # the page's language is English outside a request
    assert f" · {caption} · " in line
    assert "$0.56" not in line or caption.startswith(("≈", "$"))
    assert run_cost(run, long=True).startswith(detail)


def test_chinese_says_no_charge_in_chinese():
    assert run_cost(a_run("canceled", backend="simulator"), lang="zh-CN") == "未计费"
    assert run_cost(a_run("canceled"), long=True, lang="zh-CN").startswith("未计费")


def test_the_share_page_says_it_the_same_way():
    rows = dict(facts(a_run("succeeded", backend="simulator"), "en"))
    assert rows["Estimated cost"] == "$0.56 (simulated: nothing billed)"
    rows = dict(facts(a_run("succeeded"), "en"))
    assert rows["Estimated cost"] == "≈ $0.56"


def test_spend_totals_leave_out_runs_that_made_no_video(tmp_path: Path):
    now = 10 * 86400 + 3600.0
    library = Library(tmp_path / "data", clock=lambda: now)
    for run, cost in ((a_run("succeeded"), 0.56), (a_run("canceled"), 1.12),
                      (a_run("failed"), 2.24), (a_run("aborted"), 4.48),
                      (a_run("canceled", output_url="https://replicate.delivery/x/o.mp4"), 0.84),
                      (a_run("processing"), 0.28)):
        library.create(Run(**{**run.__dict__, "estimated_cost": cost, "created_at": now - 60}))
    t = library.totals(owner="alice")
    assert (t.spent_today, t.spent_all) == (1.68, 1.68)  # 0.56 + 0.84 + 0.28
