"""A reload in the middle of a run opens the tab that runs it (an outside look reloaded a Frames
run and found the page on Text, the run going on unseen behind another tab), unless the person
has already touched the page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.test_restore_race_browser import HOLD_JS, context  # noqa: F401 - its fixture
from tests.ui_fixtures import LaunchedApp, launched_app, make_image

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app() -> Iterator[LaunchedApp]:
    with launched_app(sim_seconds=8) as launched:
        yield launched


def start_a_frames_run(page: Page, app: LaunchedApp, image: Path) -> None:
    page.goto(app.url)
    page.get_by_role("tab", name="Frames to video", exact=True).click()
    page.locator("#frames-start input[type=file]").set_input_files([str(image)])
    page.locator("#prompt-frames textarea").fill("The girl in the picture turns to the camera")
    expect(page.locator("#tab-frames .kling-ok", has_text="Ready to run")).to_be_visible()
    page.locator("#frames-run").click()
    expect(page.locator("#frames-progress .kling-progress.kling-run")).to_be_attached()


def test_a_reload_mid_run_opens_the_tab_that_runs_it(
        app: LaunchedApp, context: BrowserContext, tmp_path: Path) -> None:  # noqa: F811
    page = context.new_page()
    # The model runs until the reloaded page has been checked: on a loaded CI box the 8 s run
    # ended while the page reloaded, and a reload after a run rightly stays on the first tab.
    options = app.sim_options()
    options.model_seconds = 600.0
    try:
        start_a_frames_run(page, app, make_image(tmp_path / "girl.png"))
        page.reload()
        frames = page.get_by_role("tab", name="Frames to video", exact=True)
        expect(frames).to_have_attribute("aria-selected", "true")
        expect(page.locator("#frames-progress .kling-progress")).to_be_visible()
    finally:
        options.model_seconds = 8.0
    expect(page.locator("#frames-compare video.kc-b")).to_be_attached(timeout=90_000)
    # Once it has ended, a reload stays on the first tab.
    page.reload()
    page.locator("#prompt-text textarea").wait_for()
    page.wait_for_timeout(2000)
    expect(page.get_by_role("tab", name="Text to video", exact=True)).to_have_attribute(
        "aria-selected", "true")


def test_a_person_already_typing_after_the_reload_is_not_moved(
        app: LaunchedApp, context: BrowserContext, tmp_path: Path) -> None:  # noqa: F811
    page = context.new_page()
    start_a_frames_run(page, app, make_image(tmp_path / "girl.png"))
    page.add_init_script(HOLD_JS)  # from the reload on
    page.reload()
    box = page.locator("#prompt-text textarea")
    box.press_sequentially("Something new", delay=10)  # before the load's answer
    page.wait_for_timeout(3000)
    assert page.evaluate("window.klingHeld") > 0
    expect(page.get_by_role("tab", name="Text to video", exact=True)).to_have_attribute(
        "aria-selected", "true")
    assert box.input_value() == "Something new"


def test_on_a_phone_a_runs_status_rides_above_the_run_bar(
        app: LaunchedApp, browser: Browser) -> None:
    """The outside look ran a job on a phone and saw only Run and Cancel: the status was about
    1,000 px further down the page."""
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                              has_touch=True)
    try:
        page = ctx.new_page()
        page.goto(app.url)
        page.locator("#prompt-text textarea").fill("A paper boat on a rain puddle at dusk")
        expect(page.locator("#tab-text .kling-ok", has_text="Ready to run")).to_be_visible()
        page.locator("#text-run").tap()
        status = page.locator("#text-progress .kling-progress.kling-run")
        expect(status).to_be_attached()
        page.evaluate("window.scrollTo(0, 0)")  # wherever the page is
        box, bar = status.bounding_box(), page.locator("#text-run").bounding_box()
        assert box is not None and bar is not None
        assert box["y"] >= 0 and box["y"] + box["height"] <= bar["y"] + 1, (box, bar)
        # The tabs hint that there are more to the right.
        mask = page.evaluate("getComputedStyle(document.querySelector("
                             "'#kling-tabs [role=tablist]')).maskImage")
        assert "gradient" in mask, mask
        expect(page.locator("#text-compare video.kc-b")).to_be_attached(timeout=90_000)
        expect(page.locator("#text-progress .kling-progress.kling-run")).to_have_count(0)
    finally:
        ctx.close()
