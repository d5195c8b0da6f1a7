"""Queue position in headless Chromium (issue #15): a Studio that runs one job at a time
(KLING_CONCURRENCY=1), three people press Run on the simulator, and the two who wait see where
they stand ("Next in line", "1 ahead of you", with about how long), keep their place through a
reload, and all three get their video.

Set KLING_SCREENSHOTS=<folder> to keep a waiting page at 1280x900 and 390x844
(docs/screenshots/queue.png and queue-phone.png were made so).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.ui_fixtures import LaunchedApp, launched_app

pytestmark = pytest.mark.browser

SIM_SECONDS = 8.0  # long enough that the second and third runs are seen waiting
IN_LINE = re.compile(r"ahead of you|Next in line")
DONE_TIMEOUT = 240_000  # ms: three 8 s runs one after another, on a busy 2-core box


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


def press_run(page: Page, prompt: str) -> None:
    page.locator("#prompt-text textarea").fill(prompt)
    expect(page.locator("#tab-text .kling-ok", has_text="Ready to run")).to_be_visible(timeout=60_000)
    page.locator("#text-run").click()


def shot(page: Page, name: str) -> None:
    folder = os.environ.get("KLING_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name))


def test_waiting_pages_say_where_they_stand_and_all_three_finish(browser: Browser,
                                                                 app: LaunchedApp) -> None:
    contexts = []
    try:
        (ca, a), (cb, b), (cc, c) = (open_page(browser, app, size) for size in
                                     ((1280, 900), (390, 844), (1280, 900)))
        contexts = [ca, cb, cc]
        press_run(a, "A paper boat sails across a puddle")
        expect(a.locator("#text-progress")).not_to_contain_text("ahead of you")
        expect(a.locator("#text-progress")).to_contain_text("Replicate", timeout=60_000)

        press_run(b, "A kite rises over a windy beach")
        expect(b.locator("#text-progress")).to_contain_text("Next in line · about")
        shot(b, "queue-phone.png")
        press_run(c, "A lantern floats down a dark river")
        waiting = c.locator("#text-progress")
        expect(waiting).to_contain_text("1 ahead of you · about")
        assert app.studio.library.runs(status="queued"), "the library lists the waiting runs"
        shot(c, "queue.png")

        # A reload keeps the place in line: the page reattaches to the same waiting run.
        c.reload(wait_until="domcontentloaded", timeout=90_000)
        expect(c.locator("#kling-banner")).to_contain_text("simulator", timeout=60_000)
        expect(waiting).to_contain_text(IN_LINE, timeout=60_000)  # "Next in line" once A ends
        expect(c.locator("#text-cancel")).to_be_enabled()

        # The first finishes, the second starts, the third is next.
        expect(a.locator("#text-progress")).to_contain_text("Done", timeout=DONE_TIMEOUT)
        expect(waiting).to_contain_text("Next in line", timeout=DONE_TIMEOUT)
        expect(b.locator("#text-progress")).not_to_contain_text("Next in line",
                                                                timeout=DONE_TIMEOUT)
        for page in (b, c):
            expect(page.locator("#text-progress")).to_contain_text("Done", timeout=DONE_TIMEOUT)
            expect(page.locator("#text-compare video.kc-b")).to_be_attached()
        runs = app.studio.library.runs(tab="text")
        assert len(runs) == 3 and {r.status for r in runs} == {"succeeded"}
    finally:
        for context in contexts:
            context.close()
