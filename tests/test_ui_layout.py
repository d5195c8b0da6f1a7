"""The flow a person feels (issue #12): the result beside Run, Run off while a check fails, the
browser's notification when a run ends in a hidden tab. Desktop 1280x900 and phone 390x844.

Set KLING_SCREENSHOTS=<folder> to keep the screenshots.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import gradio as gr
import pytest
from gradio.utils import get_upload_folder
from playwright.sync_api import Browser, Page, expect

from kling_ui.core.models import Tab
from kling_ui.runs.service import Studio
from kling_ui.ui.tab_layout import build_tab
from kling_ui.ui.tabs import TabHandlers
from tests.test_ui_browser import RUN_TIMEOUT, open_tab
from tests.ui_fixtures import LaunchedApp, launched_app, make_fake_png, make_image, test_settings

SIZES = {"desktop": (1280, 900), "phone": (390, 844)}
TABS = [("text", "Text to video"), ("frames", "Frames to video"),
        ("references", "References to video"), ("feature", "Video reference"),
        ("edit", "Edit video")]


@pytest.fixture(scope="module")
def app() -> Iterator[LaunchedApp]:
    with launched_app(sim_seconds=0.5) as launched:
        yield launched


def _page(browser: Browser, url: str, size: str, **extra: object) -> Page:
    w, h = SIZES[size]
    context = browser.new_context(viewport={"width": w, "height": h}, is_mobile=w < 500,
                                  **extra)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(url)
    expect(page.locator("#prompt-text textarea")).to_be_visible(timeout=60_000)
    return page


def _shot(page: Page, name: str) -> None:
    folder = os.environ.get("KLING_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _box(page: Page, selector: str) -> dict[str, float]:
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    return box


# -- the validator -----------------------------------------------------------------------------

@pytest.mark.anyio
async def test_the_validator_refuses_what_the_checks_refuse_and_names_the_input() -> None:
    # The files are uploads: inside Gradio's upload folder, the only place a handler reads from.
    tmp_path = Path(tempfile.mkdtemp(dir=get_upload_folder()))
    studio = Studio(test_settings(sim_seconds=0.3))
    with gr.Blocks():
        ui = build_tab(Tab.FRAMES, [])
    handlers = TabHandlers(studio, ui)
    try:
        names = handlers.input_names()
        values = {n: None for n in names}
        values.update(prompt="<<<image_1>>> dances", duration=5, mode="pro", aspect_fix="pad",
                      start_image=str(make_fake_png(tmp_path / "fake.png")))
        answer = await handlers.validate(None, *[values[n] for n in names])
        assert len(answer) == 1 + len(names)  # the session, then one per input
        by_name = dict(zip(names, answer[1:], strict=True))
        assert by_name["start_image"]["is_valid"] is False
        assert "not an image" in by_name["start_image"]["message"]
        assert by_name["prompt"]["is_valid"] is True
        values["start_image"] = str(make_image(tmp_path / "ok.png", size=(1280, 720)))
        answer = await handlers.validate(None, *[values[n] for n in names])
        assert all(v["is_valid"] for v in answer), answer
        values["prompt"] = ""
        answer = await handlers.validate(None, *[values[n] for n in names])
        by_name = dict(zip(names, answer[1:], strict=True))
        assert by_name["prompt"]["is_valid"] is False
        assert "prompt is empty" in by_name["prompt"]["message"]
    finally:
        await studio.aclose()


# -- layout ------------------------------------------------------------------------------------

@pytest.mark.browser
def test_desktop_keeps_run_and_the_result_beside_the_inputs_and_in_view(
        browser: Browser, app: LaunchedApp) -> None:
    page = _page(browser, app.url, "desktop")
    try:
        open_tab(page, "edit", "Edit video")
        # Before a run: no empty Download/Summary boxes, only a one-line hint for the result.
        expect(page.locator("#edit-download")).to_be_hidden()
        expect(page.locator("#edit-summary")).to_be_hidden()
        expect(page.locator("#edit-compare .kling-compare-empty")).to_be_visible()
        assert _box(page, "#edit-compare")["height"] < 120
        page.locator("#tab-edit .kling-preset").first.click()
        expect(page.locator("#edit-checks .kling-ok").first).to_be_visible(
            timeout=4 * RUN_TIMEOUT)
        prompt, run = _box(page, "#prompt-edit"), _box(page, "#edit-run")
        assert run["x"] > prompt["x"] + prompt["width"] - 1  # Run is right of the inputs
        compare = _box(page, "#edit-compare")
        assert compare["x"] > prompt["x"] + prompt["width"] - 1  # the result's place: right
        # Scroll down the inputs to the prompt: Run, the cost and the status stay on screen.
        page.evaluate("window.scrollTo(0, document.querySelector('#prompt-edit')"
                      ".getBoundingClientRect().top + window.scrollY - 10)")
        page.wait_for_timeout(300)
        run = _box(page, "#edit-run")
        assert run["y"] >= 0 and run["y"] + run["height"] <= 900, run
        _shot(page, "layout-edit-desktop-scrolled")
    finally:
        page.context.close()


@pytest.mark.browser
def test_phone_puts_run_within_a_screen_of_the_prompt_in_every_tab(
        browser: Browser, app: LaunchedApp) -> None:
    page = _page(browser, app.url, "phone")
    try:
        for key, label in TABS:
            open_tab(page, key, label)
            page.locator(f"#tab-{key} .kling-preset").first.click()
            expect(page.locator(f"#{key}-checks .kling-ok").first).to_be_visible(
                timeout=4 * RUN_TIMEOUT)
            # Run sits in a bar stuck to the bottom of the screen (issue #23): in view wherever
            # the page is scrolled, here right after the preset filled the prompt.
            page.locator(f"#prompt-{key}").scroll_into_view_if_needed()
            run = _box(page, f"#{key}-run")
            assert run["y"] >= 844 - 80 and run["y"] + run["height"] <= 844, (key, run)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1
        _shot(page, "layout-edit-phone")
    finally:
        page.context.close()


@pytest.mark.browser
def test_text_output_takes_the_full_width_of_the_result_column(
        browser: Browser, app: LaunchedApp) -> None:
    page = _page(browser, app.url, "desktop")
    try:
        page.locator("#prompt-text textarea").fill("A paper boat on a puddle")
        expect(page.locator("#text-run")).to_be_enabled(timeout=RUN_TIMEOUT)
        page.locator("#text-run").click()
        video = page.locator("#text-compare video.kc-b")
        expect(video).to_be_attached(timeout=RUN_TIMEOUT)
        assert page.locator("#text-compare .kc-none").count() == 0  # no "No original" pane
        column = _box(page, "#text-compare")
        assert _box(page, "#text-compare video.kc-b")["width"] > 0.85 * column["width"]
        _shot(page, "layout-text-desktop")
    finally:
        page.context.close()


# -- notifications -----------------------------------------------------------------------------

RECORD = """() => {
  window.__notes = [];
  window.Notification = class { constructor(title, opts) { window.__notes.push([title, opts.body]); }
    static get permission() { return 'granted'; }
    static requestPermission() { return Promise.resolve('granted'); } };
  Object.defineProperty(document, 'hidden', { get: () => window.__hidden === true });
}"""


@pytest.mark.browser
@pytest.mark.parametrize("size", list(SIZES))
def test_a_run_that_ends_in_a_hidden_tab_notifies_when_asked(
        browser: Browser, app: LaunchedApp, size: str) -> None:
    page = _page(browser, app.url, size)
    try:
        page.evaluate(RECORD)
        button = page.locator("#tab-text .kling-notify")
        expect(button).to_have_text("Notify me when a run ends")
        button.click()
        expect(button).to_have_attribute("aria-pressed", "true")
        page.locator("#prompt-text textarea").fill("A slow dawn over a harbour")
        expect(page.locator("#text-run")).to_be_enabled(timeout=RUN_TIMEOUT)
        page.locator("#text-run").click()
        expect(page.locator("#text-progress .kling-progress.kling-run")).to_be_attached(
            timeout=RUN_TIMEOUT)
        page.evaluate("window.__hidden = true")
        expect(page.locator("#text-progress")).to_contain_text("Done", timeout=RUN_TIMEOUT)
        page.wait_for_function("window.__notes.length > 0")
        title, body = page.evaluate("window.__notes[0]")
        assert title == "✓ Your video is ready" and "Text to video" in body
        # A run seen ending in a visible tab does not notify; turning it off is one click.
        page.evaluate("window.__hidden = false; window.__notes = []")
        button.click()
        expect(button).to_have_attribute("aria-pressed", "false")
    finally:
        page.context.close()
