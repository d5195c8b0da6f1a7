"""What the page is sent: a watcher's status only when it changes (the page counts the seconds
itself), and tab switches through the hidden goto box. Every message costs the page's main thread
(see kling_ui.ui.common.Changes); bench/page_busy.py measures the result in a browser."""

from __future__ import annotations

import re

from kling_ui.core.models import Progress
from kling_ui.ui import common
from kling_ui.ui.common import Changes, goto_tab, progress_html


def test_a_live_status_carries_its_seconds_for_the_page_to_count():
    running = progress_html(Progress(stage="processing", status="processing"), 12.34)
    assert 'data-elapsed="12.3"' in running and "· 12 s" in running
    done = progress_html(Progress(stage="done", status="succeeded"), 40.0, state="done")
    assert "data-elapsed" not in done and "· 40 s" in done  # a finished run's time stands


def test_the_same_status_a_second_later_is_not_sent_again():
    changes = Changes()
    p = Progress(stage="processing", status="processing", fraction=0.2)
    assert changes.new(progress_html(p, 1.0))  # the first is always sent
    assert not changes.new(progress_html(p, 2.0))  # only the seconds moved
    assert not changes.new(progress_html(p, 9.6))
    moved = Progress(stage="processing", status="processing", fraction=0.4)
    assert changes.new(progress_html(moved, 10.1))  # 20% -> 40%
    assert changes.new(progress_html(moved, 10.6, state="canceling"))  # Cancel pressed


def test_a_heartbeat_resends_an_unchanged_status(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(common.time, "monotonic", lambda: clock[0])
    changes = Changes(heartbeat=30.0)
    html = progress_html(None, 0.0)
    assert changes.new(html)
    clock[0] += 29.0
    assert not changes.new(html)
    clock[0] += 1.5
    assert changes.new(html)  # re-syncs the page's count now and then


def test_signatures_may_mix_html_and_values():
    changes = Changes()
    assert changes.new("<b>2 takes</b>", ("take", 1, "running"))
    assert not changes.new("<b>2 takes</b>", ("take", 1, "running"))
    assert changes.new("<b>2 takes</b>", ("take", 1, "done"))


def test_every_goto_is_a_change_even_to_the_same_tab():
    first, second = goto_tab("feature"), goto_tab("feature")
    assert first != second
    assert all(re.fullmatch(r"feature#[0-9a-f]{8}", v) for v in (first, second))
    assert 'aria-controls="tab-' in common.GOTO_JS  # the tab's button, as a person clicks it
