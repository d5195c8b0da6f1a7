"""Load, CI size: 8 visitors x 2 jobs through gradio_client against the app on the simulator.

The full size (50 x 2) is `python -m bench.visitors`; both run `bench.visitors.run_load`.
"""

from __future__ import annotations

import pytest

from bench.visitors import run_load

pytestmark = pytest.mark.slow  # out of the inner loop (issue #21): eight visitors at once, about 40 s


def test_eight_visitors_two_jobs_each_nothing_lost_or_leaked() -> None:
    report = run_load(8, 2, timeout=120)
    assert report.problems() == []
    assert report.completed + len(report.refused) == 16
    assert report.completed >= 1
    assert report.creates == report.predictions == report.completed  # no job ran twice
    assert report.uploads >= 1 and report.uploads_left == 0  # every upload deleted
    assert report.part_files == 0 and report.runs_kept == report.completed
    assert report.fds_end <= report.fds_start + 40
