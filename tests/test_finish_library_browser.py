"""The Library after finishing (issue #24), in headless Chromium as a person would.

Two text runs joined at a picked output size (720p, though the first clip is 1080p): the joined
clip is 1280x720 and filed as a Sequence, not "Text to video"; the first run's detail then shows
its motion verdict and lists the sequence made from it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from kling_ui.media.probe import probe_video
from tests.test_ui_browser import RUN_TIMEOUT, open_tab
from tests.test_ui_continue_browser import ids, run_here
from tests.ui_fixtures import LaunchedApp, launched_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def app() -> Iterator[LaunchedApp]:
    with launched_app(sim_seconds=0.3) as launched:
        yield launched


@pytest.fixture
def page(browser: Browser, app: LaunchedApp) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    expect.set_options(timeout=20_000)
    pg.goto(app.url)
    expect(pg.locator("#kling-banner")).to_contain_text("simulator")
    yield pg
    expect.set_options(timeout=5_000)
    context.close()


def test_a_sequence_at_720p_is_filed_as_one_and_its_parent_lists_it(page: Page,
                                                                    app: LaunchedApp) -> None:
    pg = page
    open_tab(pg, "text", "Text to video")
    pg.locator("#prompt-text textarea").fill("A red kite over the dunes")
    first = run_here(pg, "text", app, ids(app))
    pg.locator("#prompt-text textarea").fill("The kite lands in the grass")
    before = ids(app)
    pg.locator("#text-run").click()
    # The tab still shows the first run's result: wait for the second run's own row.
    deadline = time.monotonic() + 2 * RUN_TIMEOUT / 1000
    while time.monotonic() < deadline:
        new = [r for r in app.studio.library.runs() if r.id not in before and not r.in_flight]
        if new:
            break
        pg.wait_for_timeout(200)
    assert len(new) == 1 and new[0].status == "succeeded", new
    second = new[0]
    assert probe_video(str(first.output)).height == 1080  # "pro": the simulator's 1080p
    # A motion report as an edit's check would have filed it (the page shows what is stored).
    app.studio.library.update(first.id, metrics={"motion": {
        "score": 0.93, "offset_s": 0.0, "speed_ratio": 1.25}})

    pg.get_by_role("tab", name="Library").click()
    pg.locator("#kling-sequence").get_by_text("Join runs into a sequence").click()
    picks = pg.locator("#kling-sequence-picks")
    for run in (first, second):
        picks.locator("input").click()
        pg.get_by_role("option", name=re.compile(run.id[:6])).click()
    expect(picks).to_contain_text(second.id[:6])
    size = pg.locator("#kling-sequence-size")
    expect(size.get_by_label("First clip's")).to_be_checked()  # today's default
    for label in ("Largest clip's", "1080p"):
        expect(size.get_by_label(label)).to_be_visible()
    size.get_by_label("720p").check()
    pg.locator("#kling-sequence-join").click()

    detail = pg.locator("#kling-library-detail")
    expect(detail).to_contain_text("Sequence of 2 runs", timeout=RUN_TIMEOUT)
    seq = [r for r in app.studio.library.runs() if r.prompt.startswith("Sequence of 2 runs")]
    assert len(seq) == 1
    joined = probe_video(str(seq[0].output))
    assert (joined.width, joined.height) == (1280, 720)
    expect(detail).to_contain_text("1280x720")
    gallery = pg.locator("#kling-library-gallery")
    expect(gallery).to_contain_text("Sequence")  # its kind, not the first run's tab

    # The first run's detail: its motion verdict and the sequence made from it.
    gallery.get_by_role("button", name=re.compile("Thumbnail 3")).click()  # newest first
    expect(detail).to_contain_text("Motion report: Motion kept, 1.25x faster (score 0.93)",
                                   timeout=RUN_TIMEOUT)
    expect(detail).to_contain_text("Made from this run (1): Sequence")
