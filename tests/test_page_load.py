"""What the page does as it opens (issue #23, "close to Gradio's own floor"): only the first
view's work. Read from the page's own config, no browser: which events the load starts and
what they fill. (Gradio 6's frontend also walks every component against every dependency as it
starts, so a listener the page can do without is load time saved: bench figure 16.)"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Iterator
from typing import Any

import pytest

from kling_ui.runs.service import Studio
from kling_ui.ui.page import build_ui
from tests.ui_fixtures import test_settings


@pytest.fixture(scope="module")
def config() -> Iterator[dict[str, Any]]:
    settings = test_settings()
    studio = Studio(settings)
    try:
        yield build_ui(settings, studio).get_config_file()
    finally:
        with contextlib.suppress(Exception):
            asyncio.run(studio.aclose())


def _elem(config: dict[str, Any], elem_id: str) -> int:
    return next(c["id"] for c in config["components"] if c["props"].get("elem_id") == elem_id)


def _at_load(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The dependencies the page's load starts: the load listeners and what they chain to."""
    deps = config["dependencies"]
    started = [d for d in deps if any(event == "load" for _, event in d["targets"])]
    ids = {d["id"] for d in started}
    grew = True
    while grew:
        more = [d for d in deps if d["id"] not in ids and d.get("trigger_after") in ids]
        ids |= {d["id"] for d in more}
        started += more
        grew = bool(more)
    return started


def test_the_library_grid_is_filled_when_the_library_is_opened_not_at_load(
        config: dict[str, Any]) -> None:
    gallery = _elem(config, "kling-library-gallery")
    assert not [d for d in _at_load(config) if gallery in d["outputs"]]
    library = _elem(config, "tab-library")
    opened = [d for d in config["dependencies"] if [library, "select"] in
              [list(t) for t in d["targets"]]]
    assert any(gallery in d["outputs"] for d in opened)


def test_the_load_fills_the_meter_in_its_own_answer(config: dict[str, Any]) -> None:
    # One event at load for the banner, the first tab's last run and the host's meter.
    meter = _elem(config, "kling-quota-html")
    fills = [d for d in _at_load(config) if meter in d["outputs"]]
    assert len(fills) == 1
    assert fills[0]["trigger_after"] is None


# What may show Gradio's own tracker (its spinner and "processing | 3.1/9.0s"): the explicit
# actions that take a while and have no progress of their own (fixing a clip or an image,
# splicing, exporting, joining a sequence, a zip). Everything else is instant or shows the
# Studio's own status, where the tracker only flashed (issue #23: no Gradio timing counter).
TRACKED = re.compile(r"-fix-|-splice$|-export$|^kling-sequence-join$|^kling-library-export$")


def test_only_long_explicit_actions_show_gradios_tracker(config: dict[str, Any]) -> None:
    by_id = {c["id"]: c for c in config["components"]}
    shown = []
    for d in config["dependencies"]:
        if d.get("show_progress", "full") == "hidden" or not d["outputs"]:
            continue
        targets = [by_id.get(t, {}).get("props", {}).get("elem_id") or f"{event}:{t}"
                   for t, event in d["targets"]]
        if not all(TRACKED.search(str(t)) for t in targets):
            shown.append((targets, d.get("show_progress")))
    assert shown == []


def test_opening_a_tab_asks_for_its_last_run_before_anything_else(
        config: dict[str, Any]) -> None:
    """The browser sends a tab's select events one after another, in the order they were wired.
    Asked for after the tab's checks, the last run came 0.6-1.3 s later (a reload, then Edit: a
    median 4.0 s to see the last result, against 2.7 s asked first)."""
    states = {c["id"] for c in config["components"] if c["type"] == "state"}
    for key in ("frames", "references", "feature", "edit"):
        tab = _elem(config, f"tab-{key}")
        opened = [d for d in config["dependencies"]
                  if [tab, "select"] in [list(t) for t in d["targets"]]]
        assert len(opened) >= 2, key
        first = opened[0]
        # The latest-run lookup: one State out (its change shows the run), nothing else.
        assert len(first["outputs"]) == 1 and first["outputs"][0] in states, (key, first)
