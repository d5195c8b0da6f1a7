"""The trimmer (issue #12), in headless Chromium at 1280x900 and at phone width (390x844).

Upload a 12 s clip to Edit video: the filmstrip appears with its window; drag the window's edge
and the window itself (mouse on a desktop, a finger on the phone), then set it exactly with the
keyboard; the start/length controls follow, the checks turn green ("will be cut to 1.0-6.0 s"),
the cost is the window's, the player loops the window, and a run on the simulator sends a 5 s
clip. Set KLING_SCREENSHOTS=<folder> to keep screenshots of the trimmer (docs/screenshots/).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from kling_ui.media.probe import probe_video
from tests.test_ui_browser import RUN_TIMEOUT, open_tab, upload
from tests.ui_fixtures import LaunchedApp, launched_app, make_video

pytestmark = pytest.mark.browser
VIEWPORTS = {"desktop": (1280, 900), "phone": (390, 844)}


@pytest.fixture(scope="module")
def app() -> Iterator[LaunchedApp]:
    with launched_app(sim_seconds=0.5) as launched:
        yield launched


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("trim") / "harbour-12s.mp4", seconds=12,
                      size=(1280, 720), fps=30)


@pytest.fixture(params=list(VIEWPORTS))
def page(request: pytest.FixtureRequest, browser: Browser, app: LaunchedApp) -> Iterator[Page]:
    width, height = VIEWPORTS[request.param]
    phone = request.param == "phone"
    context = browser.new_context(viewport={"width": width, "height": height}, has_touch=phone,
                                  is_mobile=phone, device_scale_factor=2 if phone else 1)
    pg = context.new_page()
    # Checks, strip and preview queue up behind other work on a busy 2-core box.
    pg.set_default_timeout(60_000)
    expect.set_options(timeout=60_000)
    pg.goto(app.url)
    expect(pg.locator("#kling-banner")).to_contain_text("simulator")
    yield pg
    expect.set_options(timeout=5_000)
    context.close()


def _centre(loc: Locator) -> tuple[float, float]:
    box = loc.bounding_box()
    assert box is not None
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def drag(page: Page, loc: Locator, dx: float, *, touch: bool) -> None:
    """Drag `loc` by dx px: with the mouse, or with a finger (real touch events, so a page that
    scrolls instead of dragging fails)."""
    loc.scroll_into_view_if_needed()
    x, y = _centre(loc)
    steps = 8
    if not touch:
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + dx, y, steps=steps)
        page.mouse.up()
        return
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for i in range(1, steps + 1):
        cdp.send("Input.dispatchTouchEvent",
                 {"type": "touchMove", "touchPoints": [{"x": x + dx * i / steps, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def number(loc: Locator, page: Page, *, not_: str) -> float:
    """The control's value once it has left `not_` (the server writes it after a drag)."""
    expect(loc).not_to_have_value(not_)
    page.wait_for_timeout(300)  # start and length are written together; let both land
    return float(loc.input_value())


def test_the_filmstrip_trimmer_picks_the_window_that_is_checked_priced_and_sent(
        page: Page, app: LaunchedApp, clip: Path) -> None:
    phone = page.viewport_size is not None and page.viewport_size["width"] < 500
    open_tab(page, "edit", "Edit video")
    upload(page, "edit-video", clip)
    trimmer = page.locator("#edit-trimmer")
    card = page.locator("#tab-edit .kling-card-html.prose", has_text="<<<video_1>>>")
    expect(card).to_contain_text("12.0 s", timeout=3 * RUN_TIMEOUT)
    # The window at once, the strip once ffmpeg has made it (slow only on a loaded box).
    expect(trimmer.locator(".kt-readout")).to_have_text("Sends 0.0–10.0 s (10.0 s)")
    expect(trimmer.locator(".kt-frames img")).to_have_count(12, timeout=3 * RUN_TIMEOUT)
    checks = page.locator("#tab-edit .kling-checks-html.prose")
    # At once: the window is the first 10 s, and that is what the checks and the cost judge.
    expect(card).to_contain_text("✓ will be cut to 0.0-10.0 s (10.0 s of 12.0 s) before upload.")
    expect(page.locator("#edit-cost")).to_contain_text("10 s ×")
    track = trimmer.locator(".kt-track")
    track.scroll_into_view_if_needed()
    box = track.bounding_box()
    assert box is not None and box["width"] > 250  # the strip spans the column, even on a phone
    per_second = box["width"] / 12
    start = page.locator("#tab-edit .kling-trim input[type=number]").nth(0)
    length = page.locator("#tab-edit .kling-trim input[type=number]").nth(1)

    # Drag the end edge 4 s to the left: a 6 s window.
    drag(page, trimmer.locator(".kt-edge-r"), -4 * per_second, touch=phone)
    assert number(length, page, not_="10") == pytest.approx(6.0, abs=0.3)
    assert float(start.input_value()) == 0.0
    # Drag the window 2 s to the right: it moves, its length stays.
    drag(page, trimmer.locator(".kt-win"), 2 * per_second, touch=phone)
    assert number(start, page, not_="0") == pytest.approx(2.0, abs=0.3)
    assert float(length.input_value()) == pytest.approx(6.0, abs=0.3)

    # The keyboard, exactly: the window to the start, then 1 s on; the end edge to its
    # shortest (3 s) and 2 s longer: 1.0-6.0 s. Each slider names its times.
    win, end = trimmer.locator(".kt-win"), trimmer.locator(".kt-edge-r")
    win.focus()
    page.keyboard.press("Home")
    page.keyboard.press("Shift+ArrowRight")
    expect(win).to_have_attribute("aria-valuetext", re.compile(r"^Window 1\.0 to \d+\.\d s"))
    end.focus()
    page.keyboard.press("Home")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    expect(end).to_have_attribute("aria-valuetext", "End 6.0 s, window 5.0 s")
    # a visible focus ring on the focused edge
    ring = end.evaluate("el => getComputedStyle(el).outlineStyle + ' ' + getComputedStyle(el).outlineWidth")
    assert ring == "solid 3px"
    expect(start).to_have_value("1")
    expect(length).to_have_value("5")
    expect(trimmer.locator(".kt-readout")).to_have_text("Sends 1.0–6.0 s (5.0 s)")

    # The checks judge the window: green, and no red "is 12.0 s".
    expect(card).to_contain_text("✓ will be cut to 1.0-6.0 s (5.0 s of 12.0 s) before upload.")
    expect(checks).to_contain_text("✓ The clip will be cut to 1.0-6.0 s")
    expect(page.locator("#tab-edit")).not_to_contain_text("Kling accepts 3-10 s")
    expect(page.locator("#edit-cost")).to_contain_text("5 s ×")  # Edit: the output follows it
    # The player loops the window of the clip itself.
    player = page.locator("#edit-player video")
    expect(player).to_have_attribute("src", re.compile(r"#t=1\.00,6\.00$"))
    page.wait_for_function("v => v.readyState >= 1 && v.currentTime >= 0.95", arg=player.element_handle())

    # Typing an exact time below the strip moves the strip's window too.
    length.fill("4")
    length.press("Enter")
    expect(end).to_have_attribute("aria-valuetext", "End 5.0 s, window 4.0 s")
    expect(page.locator("#edit-cost")).to_contain_text("4 s ×")
    length.fill("5")
    length.press("Enter")
    expect(page.locator("#edit-cost")).to_contain_text("5 s ×")

    folder = os.environ.get("KLING_SCREENSHOTS")
    if folder:
        end.focus()
        name = "trimmer-phone.png" if phone else "trimmer.png"
        # The card at the top: its green check, the looping player, the strip with a focused
        # edge, the numbers below it (and on a desktop the checks and cost beside them).
        card.evaluate("el => el.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(500)
        page.screenshot(path=str(Path(folder) / name))

    if phone:
        return  # the run below is the same on the server whatever the screen: once is enough
    # A run on the simulator sends the window: a 5 s clip, cut from 1.0 s.
    before = {r.id for r in app.studio.library.runs()}
    page.locator("#prompt-edit textarea").fill("<<<video_1>>> at night, lanterns on the water")
    expect(checks).to_contain_text("Ready to run")
    page.locator("#edit-run").click()
    expect(page.locator("#edit-progress")).to_contain_text("Done", timeout=6 * RUN_TIMEOUT)
    expect(page.locator("#tab-edit")).to_contain_text("Trimmed 1.0-6.0 s of 12.0 s")
    new = [r for r in app.studio.library.runs() if r.id not in before]
    assert len(new) == 1 and new[0].status == "succeeded"
    sent = probe_video(new[0].inputs["reference_video"])
    assert sent.duration == pytest.approx(5.0, abs=0.1)
    assert new[0].estimated_cost == pytest.approx(0.84, abs=0.01)
