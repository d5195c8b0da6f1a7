"""Queue position in headless Chromium (issue #15): a Studio that runs one job at a time
(KLING_CONCURRENCY=1), three people press Run on the simulator, and the two who wait see where
they stand ("Next in line", "1 ahead of you", with about how long), keep their place through a
reload, and all three get their video; a fourth, two behind, leaves the line with Cancel.

Set KLING_SCREENSHOTS=<folder> to keep a waiting page at 1280x900 and 390x844
(docs/screenshots/queue.png and queue-phone.png were made so).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.ui_fixtures import LaunchedApp, launched_app

pytestmark = pytest.mark.browser

SIM_SECONDS = 20.0  # long enough that the second and third runs are seen waiting
PROMPTS = ("A paper boat sails across a puddle", "A kite rises over a windy beach",
           "A lantern floats down a dark river", "A heron lands on a still pond")
SIZES = ((1280, 900), (390, 844), (1280, 900), (1280, 900))
IN_LINE = re.compile(r"ahead of you|Next in line")
# Keeps, in window.klingSeen, each new text of the Text tab's status box (polled: Gradio may
# replace the element itself).
RECORD_STATUS = """() => {
  window.klingSeen = [];
  setInterval(() => {
    const box = document.querySelector('#text-progress');
    const text = box ? box.innerText : '';
    if (window.klingSeen[window.klingSeen.length - 1] !== text) window.klingSeen.push(text);
  }, 200);
}"""
DONE_TIMEOUT = 300_000  # ms: three 8 s runs one after another, on a busy 2-core box


@pytest.fixture(scope="module")
def app() -> Iterator[LaunchedApp]:
    with launched_app(sim_seconds=SIM_SECONDS, concurrency=1, queue_size=8) as launched:
        # As a Studio that has run Text before: its usual time is known, so waits are estimated
        # (the library seeds this from real runs only, never simulated ones).
        launched.studio.predict_times.add("text", SIM_SECONDS)
        yield launched


def open_page(browser: Browser, app: LaunchedApp, size: tuple[int, int]) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(app.url)
    expect(page.locator("#kling-banner")).to_contain_text("simulator", timeout=60_000)
    return context, page


def ready(page: Page, prompt: str) -> None:
    page.locator("#prompt-text textarea").fill(prompt)
    expect(page.locator("#tab-text .kling-ok", has_text="Ready to run")).to_be_visible(timeout=60_000)


def shot(page: Page, name: str) -> None:
    folder = os.environ.get("KLING_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name))


def in_pool(app: LaunchedApp, count: int) -> None:
    """Wait until the Studio holds `count` runs (running or waiting): the click has arrived."""
    deadline = time.monotonic() + 180  # four pages' clicks on two busy cores
    while sum(app.studio.runner.pool.snapshot()) < count:
        assert time.monotonic() < deadline, app.studio.runner.pool.snapshot()
        time.sleep(0.05)


def test_waiting_pages_say_where_they_stand_and_all_three_finish(browser: Browser,
                                                                 app: LaunchedApp) -> None:
    app.studio.simulator_url()
    made_before = len(app.studio._sim.state.predictions)
    contexts = []
    try:
        pages = []
        for size, prompt in zip(SIZES, PROMPTS, strict=True):
            context, page = open_page(browser, app, size)
            contexts.append(context)
            ready(page, prompt)
            pages.append(page)
        # Run on each page at once; the order in line is whichever click arrived first.
        for page in pages:
            page.locator("#text-run").click()
        in_pool(app, 4)
        prompts = {r.id: r.prompt for r in app.studio.library.runs(tab="text")}
        by_prompt = dict(zip(PROMPTS, pages, strict=True))
        a, b, c, d = (by_prompt[prompts[run_id]] for run_id in app.studio.runner.pool.order())

        expect(a.locator("#text-progress")).not_to_contain_text("ahead of you")
        expect(b.locator("#text-progress")).to_contain_text("Next in line · about")
        waiting = c.locator("#text-progress")
        expect(waiting).to_contain_text("1 ahead of you · about")
        expect(d.locator("#text-progress")).to_contain_text("2 ahead of you · about")
        assert len(app.studio.library.runs(status="queued")) >= 3, "the library says queued"
        shot(pages[1], "queue-phone.png")
        shot(c, "queue.png")

        # The fourth leaves the line with Cancel: nothing reaches Replicate; the rest move up.
        d.locator("#text-cancel").click()
        expect(d.locator("#text-progress")).to_contain_text("Canceled while it waited in line")
        expect(d.locator("#text-cancel")).to_be_disabled()
        expect(waiting).to_contain_text(IN_LINE)  # the third keeps its place

        # A reload keeps the place in line: the page reattaches to the same waiting run.
        c.reload(wait_until="domcontentloaded", timeout=90_000)
        expect(c.locator("#kling-banner")).to_contain_text("simulator", timeout=60_000)
        c.evaluate(RECORD_STATUS)  # every status the third page shows from now on, in order
        expect(waiting).to_contain_text(IN_LINE, timeout=60_000)  # "Next in line" once A ends
        expect(c.locator("#text-cancel")).to_be_enabled()

        # The first finishes, the second starts, the third is next. "Next in line" lasts as
        # long as the second run: it is read from the record, not caught on screen (on a busy
        # CI machine the check came after the second run had ended).
        expect(a.locator("#text-progress")).to_contain_text("Done", timeout=DONE_TIMEOUT)
        c.wait_for_function("() => window.klingSeen.some(t => t.includes('Next in line'))",
                            timeout=DONE_TIMEOUT)
        expect(b.locator("#text-progress")).not_to_contain_text("Next in line",
                                                                timeout=DONE_TIMEOUT)
        for page in (b, c):
            expect(page.locator("#text-progress")).to_contain_text("Done", timeout=DONE_TIMEOUT)
            expect(page.locator("#text-compare video.kc-b")).to_be_attached()
        seen = c.evaluate("window.klingSeen")
        moved = [i for i, text in enumerate(seen) if "Next in line" in text]
        done = [i for i, text in enumerate(seen) if "Done" in text]
        assert moved and done and moved[0] < done[0], seen  # in line, then its own run
        runs = app.studio.library.runs(tab="text")
        assert sorted(r.status for r in runs) == ["canceled", "succeeded", "succeeded", "succeeded"]
        # Only the three that ran made predictions (the fourth left before it made any).
        assert len(app.studio._sim.state.predictions) == made_before + 3
    finally:
        for context in contexts:
            context.close()
