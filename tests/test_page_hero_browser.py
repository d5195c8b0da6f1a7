"""The page a stakeholder sees (issue #23), in headless Chromium: the result in view after Done
at 1280x900; one row of tabs and Run in view while typing at 390x844; the system's own font (no
CDN, no "Alternates" glyphs); and a phone clip's card (12 s 4K60 HEVC, portrait .mov) from its
header alone, its pictures after."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import imageio_ffmpeg
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.test_ui_library_browser import start_text_run
from tests.ui_fixtures import LaunchedApp, launched_app

pytestmark = pytest.mark.browser
RUN_TIMEOUT = 90_000
# The card comes from the header alone: before the clip's pictures, and with none of them yet.
# Checked as an order, not in seconds (a busy CI box queues both events alike and went red on
# 2 s of wall clock); bench figure 8 measures the seconds against the 2 s target.


@pytest.fixture(scope="module")
def app() -> Iterator[LaunchedApp]:
    with launched_app(sim_seconds=0.3) as launched:
        yield launched


def new_page(browser: Browser, app: LaunchedApp, width: int, height: int) -> Page:
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.set_default_timeout(60_000)
    page.goto(app.url)
    page.locator("#prompt-text textarea").wait_for()
    return page


def test_after_a_run_the_whole_output_player_is_in_view_at_1280x900(
        browser: Browser, app: LaunchedApp) -> None:
    page = new_page(browser, app, 1280, 900)
    try:
        start_text_run(page, "A paper boat sails across a rainy puddle")
        expect(page.locator("#text-progress")).to_contain_text("Done", timeout=RUN_TIMEOUT)
        page.wait_for_timeout(1500)  # Done scrolls the result into view when it is not
        player = page.locator("#text-compare .kc-stage").first
        box = player.bounding_box()
        assert box is not None
        assert box["y"] >= 0 and box["y"] + box["height"] <= 900, box
        video = page.locator("#text-compare video.kc-b").bounding_box()
        assert video is not None and video["height"] > 200, video  # a hero, not a thumbnail
        # The rest waits in one closed section under it.
        expect(page.locator("#text-details")).to_contain_text("Details")
        expect(page.locator("#text-summary")).to_be_hidden()
    finally:
        page.context.close()


def test_a_portrait_result_and_everything_under_it_stay_in_the_column(
        browser: Browser, app: LaunchedApp) -> None:
    """An outside look ran a 9:16 text run at 1280x900 and saw "Done" over empty space: the
    tall result had wrapped into a second column of the run box, outside the window."""
    page = new_page(browser, app, 1280, 900)
    try:
        page.locator("#prompt-text textarea").fill("A neon-lit street in the rain at night")
        page.get_by_label("9:16").first.check()
        expect(page.locator("#tab-text .kling-ok", has_text="Ready to run")).to_be_visible()
        page.locator("#text-run").click()
        expect(page.locator("#text-progress")).to_contain_text("Done", timeout=RUN_TIMEOUT)
        page.wait_for_timeout(1500)
        video = page.locator("#text-compare video.kc-b").bounding_box()
        assert video is not None and video["height"] > 200, video
        assert video["x"] >= 0 and video["x"] + video["width"] <= 1280, video
        assert video["y"] < 900 and video["y"] + video["height"] > 0, video
        # What follows the result is reachable by scrolling, in the same column.
        for below in ("#text-details", "#text-download"):
            target = page.locator(below).first
            target.scroll_into_view_if_needed()
            box = target.bounding_box()
            assert box is not None and box["x"] >= 640 and box["x"] + box["width"] <= 1280, (
                below, box)
            assert 0 <= box["y"] < 900, (below, box)
    finally:
        page.context.close()


def test_on_a_phone_the_tabs_are_one_row_and_run_stays_in_view_while_typing(
        browser: Browser, app: LaunchedApp) -> None:
    page = new_page(browser, app, 390, 844)
    try:
        tabs = page.locator('#kling-tabs [role="tab"]')
        tops = {round(tabs.nth(i).bounding_box()["y"]) for i in range(tabs.count())
                if tabs.nth(i).bounding_box()}
        assert len(tops) == 1, tops  # one row, scrolled sideways (was 3 rows)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width  # the row scrolls inside itself, the page does not
        # The tab chosen comes into the row's view (the outside look's Library was off it).
        library = page.get_by_role("tab", name="Library", exact=True)
        library.scroll_into_view_if_needed()
        library.click()
        first = page.get_by_role("tab", name="Text to video", exact=True)
        first.scroll_into_view_if_needed()
        first.click()  # the row is back at its start: Library is off its right end
        library.dispatch_event("click")  # chosen without Playwright scrolling it into view
        page.wait_for_timeout(800)  # its smooth scroll
        chosen = library.bounding_box()
        assert chosen is not None and chosen["x"] >= 0 and chosen["x"] + chosen["width"] <= 390, (
            chosen)
        first.dispatch_event("click")
        box = page.locator("#prompt-text textarea")
        box.click()
        box.fill("A red fox in the snow")
        run = page.locator("#text-run").bounding_box()
        assert run is not None and run["y"] >= 0 and run["y"] + run["height"] <= 844, run
    finally:
        page.context.close()


def test_the_page_draws_with_the_systems_sans_and_fetches_no_font(
        browser: Browser, app: LaunchedApp) -> None:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url)
            if not r.url.startswith(app.url.rstrip("/")) and not r.url.startswith("data:") else None)
    try:
        page.goto(app.url)
        page.locator("#prompt-text textarea").wait_for()
        page.wait_for_timeout(1000)
        cdp = page.context.new_cdp_session(page)
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
        for selector in ('[role="tab"]', "h1", "#prompt-text textarea", "#text-run"):
            node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
            used = [f["familyName"] for f in
                    cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]]
            assert used and not any("Alternates" in f or "Montserrat" in f for f in used), used
            family = page.eval_on_selector(selector, "e => getComputedStyle(e).fontFamily")
            assert "Montserrat" not in family, family
        assert not [u for u in outside if "font" in u], outside  # nothing from a font CDN
    finally:
        page.context.close()


@pytest.fixture(scope="module")
def phone_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 s of 2160x3840 HEVC at 60 fps in a .mov with sound, as a phone records it: one second
    encoded, then copied twelve times (a 12 s 4K60 x265 encode takes minutes on 2 cores)."""
    d = tmp_path_factory.mktemp("phone")
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    one = d / "one.mov"
    subprocess.run([ffmpeg, "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=2160x3840:rate=60:duration=1", "-f", "lavfi", "-i",
                    "sine=frequency=440:duration=1", "-c:v", "libx265", "-preset", "ultrafast",
                    "-x265-params", "keyint=60:log-level=error", "-tag:v", "hvc1", "-c:a", "aac",
                    "-shortest", str(one)], check=True, timeout=300)
    (d / "list.txt").write_text("".join(f"file '{one}'\n" for _ in range(12)))
    clip = d / "IMG_0042.MOV"
    subprocess.run([ffmpeg, "-y", "-loglevel", "error", "-f", "concat", "-safe", "0", "-i",
                    str(d / "list.txt"), "-c", "copy", "-tag:v", "hvc1", str(clip)],
                   check=True, timeout=120)
    return clip


@pytest.mark.slow
def test_a_phone_clips_card_comes_from_its_header_before_its_pictures(
        browser: Browser, app: LaunchedApp, phone_clip: Path) -> None:
    page = new_page(browser, app, 1280, 900)
    uploaded: list[float] = []
    page.on("requestfinished", lambda r: uploaded.append(time.monotonic())
            if "/gradio_api/upload" in r.url else None)
    try:
        page.get_by_role("tab", name="Edit video", exact=True).click()
        page.evaluate(FIRST_SEEN)
        page.locator("#edit-video input[type=file]").set_input_files([str(phone_clip)])
        badge = page.locator("#tab-edit .kling-card-html .kling-badge").first
        badge.wait_for()
        card_at = time.monotonic()
        assert uploaded, "the upload was not seen"
        player = page.locator("#edit-player")
        pictures = player.locator("img.kling-preview, video.kling-preview")
        expect(badge).to_contain_text("12.0 s")
        expect(badge).to_contain_text("2160x3840")
        # Its pictures follow on their own: the still, then a playable preview.
        pictures.first.wait_for(state="attached", timeout=60_000)
        pictures_at = time.monotonic()
        card_wait, pictures_wait = card_at - uploaded[-1], pictures_at - uploaded[-1]
        print(f"upload end -> card {card_wait:.2f} s, -> pictures {pictures_wait:.2f} s: "
              f"{badge.inner_text()}")
        # The order the page drew them in, as the page saw it: counting pictures here once the
        # badge was found was a race on a loaded CI box (this process woke 3 s late, the still
        # already in).
        seen = page.evaluate("window.klingFirstSeen")
        assert seen.get("badge") is not None and seen.get("picture") is not None, seen
        assert seen["badge"] < seen["picture"], f"the card waited for the pictures: {seen}"
        assert not page.locator(".toast-body", has_text="not playable").count()
    finally:
        page.context.close()


# When the Edit card's badge and the player's first picture first appear, in the page's own
# clock (a MutationObserver sees every change as the page makes it).
FIRST_SEEN = """() => {
  window.klingFirstSeen = {};
  const seen = window.klingFirstSeen;
  const look = () => {
    const now = performance.now();
    if (seen.badge === undefined &&
        document.querySelector('#tab-edit .kling-card-html .kling-badge')) seen.badge = now;
    if (seen.picture === undefined &&
        document.querySelector('#edit-player img.kling-preview, #edit-player video.kling-preview'))
      seen.picture = now;
  };
  new MutationObserver(look).observe(document.body, {subtree: true, childList: true});
}"""


# Each text Gradio's own tracker shows on the Text tab's status block while it can be seen,
# caught by a MutationObserver as the DOM changes (a poll missed the ~100 ms "queue: 1/1 |
# 0.1/10.4s" flash at Run). Gradio keeps the tracker in the DOM at opacity 0 when hidden.
WATCH_STATUS = """() => {
  window.klingTrackerTexts = [];
  const block = document.querySelector('#text-progress');
  new MutationObserver(() => {
    const tracker = block.querySelector('[data-testid="status-tracker"]');
    if (!tracker) return;
    const style = getComputedStyle(tracker), text = tracker.innerText.trim();
    if (text && style.display !== 'none' && style.visibility !== 'hidden' &&
        Number(style.opacity) > 0) window.klingTrackerTexts.push(text);
  }).observe(block, {subtree: true, childList: true, characterData: true, attributes: true});
}"""


def test_run_shows_the_studios_status_and_never_gradios_timer(
        browser: Browser, app: LaunchedApp) -> None:
    page = new_page(browser, app, 1280, 900)
    try:
        page.evaluate(WATCH_STATUS)
        start_text_run(page, "A lighthouse beam sweeps a stormy sea")
        expect(page.locator("#text-progress")).to_contain_text("Done", timeout=RUN_TIMEOUT)
        assert page.evaluate("window.klingTrackerTexts") == []
    finally:
        page.context.close()


def test_a_file_that_is_not_a_video_gets_the_cards_words_and_no_gradio_toast(
        browser: Browser, app: LaunchedApp, tmp_path: Path) -> None:
    """Gradio's player raises an English "Video not playable" toast for a file it cannot play;
    the card already says what is wrong and how to fix it, in the page's language."""
    bad = tmp_path / "holiday.mp4"
    bad.write_text("this is not a video at all\n" * 100)
    page = new_page(browser, app, 1280, 900)
    try:
        page.get_by_role("tab", name="Edit video", exact=True).click()
        page.locator("#edit-video input[type=file]").set_input_files(str(bad))
        expect(page.locator("#tab-edit .kling-card-html").first).to_contain_text(
            "not a video", timeout=RUN_TIMEOUT)
        expect(page.locator("#tab-edit .kling-checks")).to_contain_text("Upload an MP4 or MOV")
        toast = page.locator(".toast-item", has_text="Video not playable")
        expect(toast).to_be_attached(timeout=RUN_TIMEOUT)  # Gradio raised it, as it does
        for _ in range(10):  # and nobody sees it, not even for a moment
            assert not toast.is_visible()
            page.wait_for_timeout(100)
    finally:
        page.context.close()


def test_on_a_phone_a_picked_file_that_cannot_be_used_brings_its_reason_into_view(
        browser: Browser, app: LaunchedApp, tmp_path: Path) -> None:
    """At 390x844 the clip's card sits under a 260 px drop area: a person who picked a file
    that is not a video saw an empty box and a greyed Run, the reason below the fold behind the
    Run bar. The card comes into view, clear of the bar. And Gradio's own 32 px page margins
    (a tenth of the width; rules given as css= never reached them) are 8 px on a phone."""
    bad = tmp_path / "holiday.mp4"
    bad.write_text("this is not a video at all\n" * 100)
    page = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                               has_touch=True).new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(app.url)
        page.locator("#prompt-text textarea").wait_for()
        pad = page.evaluate("getComputedStyle(document.querySelector('.gradio-container > "
                            ".main.app')).paddingLeft")
        assert pad == "8px", pad
        # Title, banner and key folded tight: the tabs begin in the top third (314 px down).
        tabs = page.locator("#kling-tabs").bounding_box()
        assert tabs is not None and tabs["y"] <= 280, tabs
        page.get_by_role("tab", name="Edit video", exact=True).click()
        drop = page.locator("#edit-video button.upload-container")
        drop.scroll_into_view_if_needed()
        with page.expect_file_chooser() as chooser:
            drop.tap()  # as a person does: the drop area is in view, its card under it
        chooser.value.set_files(str(bad))
        card = page.locator("#tab-edit .kling-card-html").first
        expect(card).to_contain_text("not a video", timeout=RUN_TIMEOUT)
        bar = page.locator("#edit-run").bounding_box()
        assert bar is not None
        for _ in range(50):  # its smooth scroll
            box = card.bounding_box()
            if box and box["y"] >= 0 and box["y"] + box["height"] <= bar["y"]:
                break
            page.wait_for_timeout(100)
        assert box and box["y"] >= 0 and box["y"] + box["height"] <= bar["y"], (box, bar)
    finally:
        page.context.close()
