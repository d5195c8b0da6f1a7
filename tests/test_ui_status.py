"""Honest status in the run area (issue #12), as a person sees it at desktop and phone size.

The whole message in the status (never cut, never under Gradio's red Error pill), Cancel live
only while a run is, "Canceling…" until Replicate confirms, Replicate's own states, and the
browser tab's title following the run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.test_ui_browser import RUN_TIMEOUT, open_tab, upload
from tests.ui_fixtures import LaunchedApp, launched_app, make_fake_png

pytestmark = pytest.mark.browser
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}


@pytest.fixture(scope="module")
def app() -> Iterator[LaunchedApp]:
    with launched_app(sim_seconds=0.3) as launched:
        yield launched


@pytest.fixture(scope="module")
def slow() -> Iterator[LaunchedApp]:
    with launched_app(sim_seconds=60) as launched:
        yield launched


def _page(browser: Browser, url: str, size: str) -> Page:  # noqa: F811
    w, h = SIZES[size]
    page = browser.new_context(viewport={"width": w, "height": h}, is_mobile=w < 500).new_page()
    page.set_default_timeout(60_000)
    page.goto(url)
    expect(page.locator("#prompt-text textarea")).to_be_visible()
    return page


@pytest.mark.parametrize("size", list(SIZES))
def test_an_input_problem_turns_run_off_and_says_why_beside_it(
        browser: Browser, app: LaunchedApp, tmp_path: Path, size: str) -> None:  # noqa: F811
    page = _page(browser, app.url, size)
    try:
        open_tab(page, "frames", "Frames to video")
        run, checks = page.locator("#frames-run"), page.locator("#frames-checks")
        expect(page.locator("#frames-cancel")).to_be_disabled()  # nothing runs yet
        # Checks on load: Run is off before anything is typed, and says why.
        expect(run).to_be_disabled()
        expect(checks).to_contain_text("The prompt is empty", timeout=RUN_TIMEOUT)
        upload(page, "frames-start", make_fake_png(tmp_path / "fake.png"))
        expect(page.locator("#tab-frames .kling-card").first).to_contain_text("not an image")
        page.locator("#prompt-frames textarea").fill("<<<image_1>>> dances")
        expect(checks).to_contain_text("Run is off until this is fixed", timeout=RUN_TIMEOUT)
        expect(checks).to_contain_text("not an image")  # the whole message, past any colon
        expect(run).to_be_disabled()
        # Beside Run: the reason starts within a few lines of the button, not a page away.
        if size == "desktop":
            gap = checks.bounding_box()["y"] - (run.bounding_box()["y"]
                                                + run.bounding_box()["height"])
            assert gap < 120, gap
        else:  # a phone: Run in the bar at the bottom (issue #23), the reason where it scrolls
            checks.scroll_into_view_if_needed()
            box = run.bounding_box()
            assert box is not None and box["y"] + box["height"] <= 844, box
        page.screenshot(path=f"/tmp/kling-status-input-{size}.png", full_page=True)
        assert page.locator(".toast-body, [data-testid='toast-body']").count() == 0
        expect(page.locator("#frames-cancel")).to_be_disabled()
    finally:
        page.context.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_a_done_run_says_so_in_the_tab_title(browser: Browser, app: LaunchedApp,  # noqa: F811
                                             size: str) -> None:
    page = _page(browser, app.url, size)
    try:
        page.locator("#prompt-text textarea").fill("A paper boat")
        page.locator("#text-run").click()
        expect(page.locator("#text-progress")).to_contain_text("Done", timeout=RUN_TIMEOUT)
        page.wait_for_function("document.title.startsWith('✓ Done')")
        expect(page.locator("#text-cancel")).to_be_disabled()
        # Run again: while it runs, the result still shown says it is the earlier run's.
        assert page.evaluate(EARLIER_NOW) in ("none", "normal")
        page.evaluate(RECORD_EARLIER)
        page.locator("#text-run").click()
        expect(page.locator("#text-progress .kling-done")).to_have_count(0)
        expect(page.locator("#text-progress")).to_contain_text("Done", timeout=RUN_TIMEOUT)
        seen = page.evaluate("window.__earlier")
        assert any("From your last finished run" in c for c in seen), seen
        assert page.evaluate(EARLIER_NOW) in ("none", "normal")
    finally:
        page.context.close()


EARLIER_NOW = """() => { const c = document.querySelector('#text-compare .kling-compare');
  return c ? getComputedStyle(c, '::before').content : 'no result'; }"""
# The line above the clips (::before) at every change of the status (style is computed at once).
RECORD_EARLIER = """() => { window.__earlier = [];
  new MutationObserver(() => {
    const c = document.querySelector('#text-compare .kling-compare');
    window.__earlier.push(c ? getComputedStyle(c, '::before').content : 'no result');
  }).observe(document.querySelector('#text-progress'),
             {childList: true, subtree: true, characterData: true}); }"""


HEADS = """() => { window.__heads = [];
  const root = document.querySelector('#text-progress');
  new MutationObserver(() => {
    const h = root.querySelector('.kling-status-msg');
    const t = h ? h.textContent : '';
    if (window.__heads[window.__heads.length - 1] !== t) window.__heads.push(t);
  }).observe(root, {childList: true, subtree: true, characterData: true}); }"""


@pytest.mark.parametrize("size", list(SIZES))
def test_cancel_is_live_only_while_running_and_canceling_stays_until_confirmed(
        browser: Browser, slow: LaunchedApp, size: str) -> None:  # noqa: F811
    page = _page(browser, slow.url, size)
    try:
        cancel = page.locator("#text-cancel")
        expect(cancel).to_be_disabled()
        page.locator("#prompt-text textarea").fill("A very slow sunrise")
        page.locator("#text-run").click()
        expect(cancel).to_be_enabled()
        head = page.locator("#text-progress .kling-status-msg")
        # Replicate's own state is the headline as soon as it reports one.
        expect(head).to_contain_text("Replicate: ", timeout=RUN_TIMEOUT)
        page.wait_for_function("document.title.startsWith('Running')")
        # A second click while it runs starts nothing, and the live status says so.
        creates = len(slow.studio._sim.state.creates())
        page.locator("#text-run").click()
        expect(page.locator("#text-progress")).to_contain_text("still going")
        expect(head).to_contain_text("Replicate: ")
        page.evaluate(HEADS)
        cancel.click()
        expect(head).to_contain_text("Canceled", timeout=RUN_TIMEOUT)
        seen = [h for h in page.evaluate("window.__heads") if h]
        heads = seen[next(i for i, h in enumerate(seen) if h.startswith("Canceling…")):]
        first_done = next(i for i, h in enumerate(heads) if h.startswith("Canceled"))
        assert all(h.startswith("Canceling") for h in heads[:first_done]), heads
        expect(cancel).to_be_disabled()
        assert len(slow.studio._sim.state.creates()) == creates  # no second prediction
        page.wait_for_function("document.title.startsWith('Canceled')")
        # The last word is Replicate's answer to the cancel, not the status polled before it.
        expect(page.locator("#text-progress code").first).to_have_text("canceled")
        page.screenshot(path=f"/tmp/kling-status-canceled-{size}.png", full_page=True)
    finally:
        page.context.close()
