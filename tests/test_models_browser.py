"""Models as data in the page (issue #25): switch a tab to Kling 3.0 Omni, write a 3-shot
storyboard with native audio, run it, see the result with sound; switch back to Kling O1 and the
storyboard and audio are gone. Headless Chromium (Debian's package), as tests/test_ui_browser.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.ui_fixtures import LaunchedApp, launched_app

pytestmark = pytest.mark.browser
RUN_TIMEOUT = 90_000  # ms: a simulated run, its render and the storyboard's second pass


@pytest.fixture(scope="module")
def app() -> Iterator[LaunchedApp]:
    with launched_app(sim_seconds=0.5) as launched:
        yield launched


@pytest.fixture
def page(browser: Browser, app: LaunchedApp) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    pg.goto(app.url)
    expect(pg.locator("#kling-banner")).to_contain_text("simulator")
    yield pg
    context.close()


def shot(page: Page, n: int, text: str, seconds: int) -> None:
    page.locator(f"#text-shot{n} textarea, #text-shot{n} input").first.fill(text)
    page.locator(f"#text-shot{n}-s input").fill(str(seconds))


def test_a_storyboard_with_audio_on_kling_3_and_back_to_o1(page: Page, app: LaunchedApp) -> None:
    page.get_by_role("tab", name="Text to video", exact=True).click()
    storyboard = page.locator("#text-storyboard")
    audio = page.locator("#text-audio")
    expect(storyboard).to_be_hidden()  # Kling O1 has neither
    expect(audio).to_be_hidden()
    page.locator("#text-model").get_by_label("Kling 3.0 Omni").check()
    expect(storyboard).to_be_visible()
    expect(audio).to_be_visible()
    # 3.0 Omni's quality is called "standard", and it takes 3-15 s (O1's Text: 5 or 10).
    expect(page.locator("#tab-text").get_by_label("standard", exact=True)).to_be_attached()
    page.locator("#text-duration input").click()
    page.get_by_role("option", name="6", exact=True).click()
    page.locator("#prompt-text textarea").fill("A fox in a snowy forest")
    page.locator("#text-storyboard-on input").check()
    shot(page, 1, "The fox wakes under a pine", 2)
    shot(page, 2, "It runs across the clearing", 3)
    total = page.locator("#text-shots-total")
    expect(total).to_contain_text("5 s of 6 s")  # the running total says what is missing
    shot(page, 3, "It curls up by the river", 1)
    expect(total).to_contain_text("The shots fill the 6 s")
    audio.locator("input").check()
    expect(page.locator("#tab-text .kling-ok", has_text="Ready to run")).to_be_visible()
    expect(page.locator("#text-cost")).to_contain_text("0.84")  # 6 s x $0.14/s with audio
    page.locator("#text-run").click()
    output = page.locator("#text-compare video.kc-b")
    expect(output).to_be_attached(timeout=RUN_TIMEOUT)
    expect(page.locator("#text-progress")).to_contain_text("Done")
    summary = page.locator("#text-summary")
    expect(summary).to_contain_text("multi_prompt")
    expect(page.locator("#text-facts")).to_contain_text(re.compile(r"Audio\s*yes"))
    # What reached the simulator: the exact multi_prompt, on 3.0 Omni's own route.
    creates = [r for r in app.studio.routes._sim.state.requests if r.method == "POST"
               and r.path.endswith("/predictions")]
    assert creates[-1].path == "/v1/models/kwaivgi/kling-v3-omni-video/predictions"
    sent = creates[-1].body["input"]
    assert sent["generate_audio"] is True and sent["duration"] == 6
    assert json.loads(sent["multi_prompt"]) == [
        {"prompt": "The fox wakes under a pine", "duration": 2},
        {"prompt": "It runs across the clearing", "duration": 3},
        {"prompt": "It curls up by the river", "duration": 1}]
    # The output really has sound: the browser's own decoder says so.
    page.wait_for_function("el => el.readyState >= 1 && el.duration > 0",
                           arg=output.element_handle(), timeout=10_000)
    # Back to O1: the storyboard and audio disappear, and the durations are O1's again.
    page.locator("#text-model").get_by_label("Kling O1").check()
    expect(storyboard).to_be_hidden()
    expect(audio).to_be_hidden()
    expect(page.locator("#tab-text").get_by_label("std", exact=True)).to_be_attached()
    page.locator("#text-duration input").click()
    expect(page.get_by_role("option", name="10", exact=True)).to_be_visible()
    expect(page.get_by_role("option", name="6", exact=True)).to_have_count(0)  # 5 or 10 only
