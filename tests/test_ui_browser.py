"""What a person does, in headless Chromium (Debian's package) with Playwright's sync API.

Each tab: upload, insert a token by clicking its chip, run, see both videos and the summary. A bad
file shows a clear message and the app stays usable; Cancel stops a slow job; history restores a
run; the page fits a phone. These never skip: a missing Chromium is a failure.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.ui_fixtures import LaunchedApp, launched_app, make_fake_png, make_image, make_video

pytestmark = pytest.mark.browser

RUN_TIMEOUT = 60_000  # ms: a simulated run plus a 1080p render, on two workers sharing 2 cores
# The `browser` fixture (Debian's Chromium, never skipped) is in conftest.py.


@pytest.fixture(scope="module")
def app() -> Iterator[LaunchedApp]:
    with launched_app(sim_seconds=0.5) as launched:
        yield launched


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("browser-media")
    return {
        "img": make_image(d / "person.png", size=(800, 600)),
        "img2": make_image(d / "place.jpg", size=(900, 600), fmt="JPEG"),
        "clip": make_video(d / "clip.mp4", seconds=4, size=(1280, 720), fps=30),
        "fake": make_fake_png(d / "fake.png"),
    }


@pytest.fixture
def page(browser: Browser, app: LaunchedApp) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    pg.goto(app.url)
    expect(pg.locator("#kling-banner")).to_contain_text("simulator")
    yield pg
    context.close()


def open_tab(page: Page, key: str, label: str) -> None:
    page.get_by_role("tab", name=label, exact=True).click()
    expect(page.locator(f"#prompt-{key} textarea")).to_be_visible()


def upload(page: Page, elem_id: str, *files: Path) -> None:
    page.locator(f"#{elem_id} input[type=file]").set_input_files([str(f) for f in files])


def click_chip_at_start(page: Page, key: str, token: str, text: str) -> None:
    """Type `text`, put the cursor at the start, click the token's chip: it lands at the cursor."""
    box = page.locator(f"#prompt-{key} textarea")
    box.fill(text)
    box.focus()
    page.keyboard.press("Control+Home")
    chip = page.locator(f"#tab-{key} .kling-chips-html .kling-chip", has_text=token)
    expect(chip).to_be_visible()
    chip.click()
    expect(box).to_have_value(f"{token} {text}")


def run_and_see_result(page: Page, key: str, *, original: str) -> None:
    expect(page.locator(f"#tab-{key} .kling-ok", has_text="Ready to run")).to_be_visible()
    expect(page.locator(f"#{key}-cost")).to_contain_text("Estimated cost")
    page.locator(f"#{key}-run").click()
    compare = page.locator(f"#{key}-compare")
    output = compare.locator("video.kc-b")
    expect(output).to_be_attached(timeout=RUN_TIMEOUT)
    expect(page.locator(f"#{key}-progress")).to_contain_text("Done")
    # Both media really load from the server (the file route allows them).
    page.wait_for_function(
        "el => el.readyState >= 1 && el.duration > 0", arg=output.element_handle(), timeout=10_000)
    if original == "video":
        a = compare.locator("video.kc-a")
        page.wait_for_function("el => el.readyState >= 1", arg=a.element_handle(), timeout=10_000)
        # A still of its own while the clip loads (it was a black box), served from the run.
        poster = a.get_attribute("poster") or ""
        assert poster.endswith(".poster.jpg"), poster
        got = page.evaluate("async u => { const r = await fetch(u); return [r.status, "
                            "r.headers.get('content-type')]; }", poster)
        assert got == [200, "image/jpeg"], got
    elif original == "image":
        a = compare.locator("img.kc-a")
        page.wait_for_function("el => el.complete && el.naturalWidth > 0", arg=a.element_handle())
    summary = page.locator(f"#{key}-summary")
    expect(summary).to_contain_text("prediction_id")
    expect(summary).to_contain_text("succeeded")
    expect(page.locator(f"#{key}-facts")).to_contain_text("Frame rate")


def test_text_to_video(page: Page) -> None:
    open_tab(page, "text", "Text to video")
    page.locator("#prompt-text textarea").fill("A paper boat sails across a puddle")
    page.get_by_label("9:16").first.check()
    run_and_see_result(page, "text", original="none")
    expect(page.locator("#text-summary")).to_contain_text("9:16")


def test_frames_to_video(page: Page, media: dict[str, Path]) -> None:
    open_tab(page, "frames", "Frames to video")
    upload(page, "frames-start", media["img"])
    expect(page.locator("#tab-frames .kling-card")).to_contain_text("800x600")
    click_chip_at_start(page, "frames", "<<<image_1>>>", "starts dancing.")
    run_and_see_result(page, "frames", original="image")
    expect(page.locator("#frames-summary")).not_to_contain_text("aspect_ratio")


def test_references_to_video(page: Page, media: dict[str, Path]) -> None:
    open_tab(page, "references", "References to video")
    upload(page, "references-refs", media["img"], media["img2"])
    expect(page.locator("#tab-references .kling-card img.kling-thumb")).to_have_count(2)
    click_chip_at_start(page, "references", "<<<image_2>>>", "is where the person walks.")
    box = page.locator("#prompt-references textarea")
    box.press("End")
    box.type(" @Image1 waves.")
    expect(page.locator("#tab-references .kling-checks")).to_contain_text("will be sent as")
    run_and_see_result(page, "references", original="image")
    expect(page.locator("#references-summary")).to_contain_text("<<<image_1>>> waves")


def test_video_reference(page: Page, media: dict[str, Path]) -> None:
    open_tab(page, "feature", "Video reference")
    upload(page, "feature-video", media["clip"])
    expect(page.locator("#tab-feature .kling-card")).to_contain_text("1280x720")
    click_chip_at_start(page, "feature", "<<<video_1>>>", "then the next shot.")
    run_and_see_result(page, "feature", original="video")
    expect(page.locator("#feature-summary")).to_contain_text("feature")


def test_edit_video_and_restore_from_the_library(page: Page, media: dict[str, Path]) -> None:
    open_tab(page, "edit", "Edit video")
    upload(page, "edit-video", media["clip"])
    upload(page, "edit-refs", media["img"])
    expect(page.locator("#tab-edit .kling-card img.kling-thumb")).to_have_count(1)
    click_chip_at_start(page, "edit", "<<<video_1>>>", "gets a crown.")
    box = page.locator("#prompt-edit textarea")
    box.press("End")
    page.locator("#tab-edit .kling-chips-html .kling-chip", has_text="<<<image_1>>>").click()
    expect(box).to_have_value("<<<video_1>>> gets a crown. <<<image_1>>>")
    run_and_see_result(page, "edit", original="video")
    expect(page.locator("#edit-summary")).to_contain_text("base")
    # The wipe: switching to A/B mode stacks the videos; the slider moves the split.
    compare = page.locator("#edit-compare .kling-compare")
    compare.locator('[data-kc="wipe-mode"]').check()
    expect(compare).to_have_attribute("data-mode", "wipe")
    # Library: the run is listed; opening it and Restore puts its prompt back into Edit.
    box.fill("something else")
    page.get_by_role("tab", name="Library").click()
    gallery = page.locator("#kling-library-gallery")
    expect(gallery).to_contain_text("gets a crown")
    gallery.get_by_role("button", name=re.compile("Thumbnail 1")).click()
    detail = page.locator("#kling-library-detail")
    expect(detail.locator("video.kc-b")).to_be_attached()
    detail.get_by_role("button", name="Restore into its tab").click()
    expect(box).to_have_value("<<<video_1>>> gets a crown. <<<image_1>>>")
    expect(box).to_be_visible()


def test_bad_file_shows_a_clear_message_and_app_stays_usable(page: Page,
                                                             media: dict[str, Path]) -> None:
    open_tab(page, "frames", "Frames to video")
    upload(page, "frames-start", media["fake"])
    card = page.locator("#tab-frames .kling-card").first
    expect(card).to_contain_text("not an image")
    page.locator("#prompt-frames textarea").fill("<<<image_1>>> dances")
    # Run stays off, and the checks beside it say why (nothing reaches Replicate).
    checks = page.locator("#frames-checks")
    expect(checks).to_contain_text("Run is off until this is fixed", timeout=RUN_TIMEOUT)
    expect(checks).to_contain_text("not an image")
    expect(page.locator("#frames-run")).to_be_disabled()
    # No broken-image icon for it beside the card (Gradio's own preview of a non-picture).
    preview = page.locator("#frames-start img").first
    expect(preview).to_have_css("visibility", "hidden")
    # Replace the file: the message goes and the run works; the prompt was kept.
    upload(page, "frames-start", media["img"])
    expect(page.locator("#tab-frames .kling-card").first).not_to_contain_text("not an image")
    expect(page.locator("#frames-start img").first).to_have_css("visibility", "visible")
    expect(page.locator("#prompt-frames textarea")).to_have_value("<<<image_1>>> dances")
    run_and_see_result(page, "frames", original="image")


def test_phone_width_has_no_sideways_scroll(browser: Browser, app: LaunchedApp) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    pg = context.new_page()
    pg.goto(app.url)
    expect(pg.locator("#prompt-text textarea")).to_be_visible()
    overflow = pg.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    context.close()
    assert overflow <= 1


def test_cancel_stops_a_slow_job(browser: Browser) -> None:
    with launched_app(sim_seconds=60) as slow:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        pg = context.new_page()
        pg.goto(slow.url)
        pg.locator("#prompt-text textarea").fill("A very slow sunrise")
        pg.locator("#text-run").click()
        progress = pg.locator("#text-progress")
        expect(progress).to_contain_text(re.compile("Replicate status"), timeout=RUN_TIMEOUT)
        pg.locator("#text-cancel").click()
        # "Canceling…" now stays until the prediction is confirmed stopped (issue #12).
        expect(progress).to_contain_text("Canceled", timeout=RUN_TIMEOUT)
        # The prediction itself was cancelled at the (simulated) Replicate.
        sim = slow.studio._sim
        pg.wait_for_timeout(300)
        for _ in range(50):
            if any(p.status == "canceled" for p in sim.state.predictions.values()):
                break
            pg.wait_for_timeout(100)
        assert any(p.status == "canceled" for p in sim.state.predictions.values())
        pg.wait_for_timeout(1000)
        expect(pg.locator("#text-compare video")).to_have_count(0)
        # Still usable: the Run button works again (checks refresh on a new prompt).
        pg.locator("#prompt-text textarea").fill("Another try")
        expect(pg.locator("#tab-text .kling-ok", has_text="Ready to run")).to_be_visible()
        context.close()


def test_a_visitors_own_key_runs_on_replicate_for_them_only(browser: Browser,
                                                           media: dict[str, Path]) -> None:
    """Paste a key: the banner says so, the run reaches "Replicate" (a simulator standing in at
    REPLICATE_BASE_URL) with that key, another visitor stays on the host's simulator, and the
    key never appears in the page."""
    from sim_fixtures import MARK_A, TOKEN_A, running_simulator

    key = TOKEN_A.reveal()
    with running_simulator() as (base_url, state), \
            launched_app(sim_seconds=0.5, base_url=base_url) as app:
        mine = browser.new_context(viewport={"width": 1280, "height": 900})
        theirs = browser.new_context(viewport={"width": 1280, "height": 900})
        try:
            page = mine.new_page()
            page.set_default_timeout(60_000)
            page.goto(app.url)
            page.locator("#kling-key").click()
            page.locator("#kling-key-box input").fill(key)
            page.get_by_role("button", name="Use for this session").click()
            expect(page.locator("#kling-banner")).to_contain_text("your own key")
            expect(page.locator("#kling-key-box input")).to_have_value("")
            open_tab(page, "text", "Text to video")
            page.locator("#prompt-text textarea").fill("A paper boat on a puddle")
            run_and_see_result(page, "text", original="none")
            assert [c.key for c in state.creates()] == [MARK_A]
            assert key not in page.content()

            other = theirs.new_page()
            other.goto(app.url)
            expect(other.locator("#kling-banner")).to_contain_text("simulator")
            open_tab(other, "text", "Text to video")
            other.locator("#prompt-text textarea").fill("A kite over the sea")
            run_and_see_result(other, "text", original="none")
            assert len(state.creates()) == 1  # the other visitor never used the key
        finally:
            mine.close()
            theirs.close()


def test_one_click_fix_trims_a_long_clip_to_the_chosen_window(page: Page, app: LaunchedApp,
                                                               tmp_path: Path) -> None:
    # Too long and too small: the length is no problem (the trim window is what is sent, and
    # the card says so in green, issue #12); the size is, and Fix scales the chosen window.
    clip = make_video(tmp_path / "long.mp4", seconds=13, size=(640, 360), fps=30)
    open_tab(page, "edit", "Edit video")
    upload(page, "edit-video", clip)
    card = page.locator("#tab-edit .kling-card-html.prose", has_text="<<<video_1>>>")
    expect(card).to_contain_text("13.0 s")
    expect(card).to_contain_text("✓ will be cut to 0.0-10.0 s (10.0 s of 13.0 s) before upload.")
    expect(card).to_contain_text("each side must be 720-2160 px")
    expect(page.locator("#edit-cost")).to_contain_text("10 s ×")  # billed for the window
    length = page.locator("#tab-edit .kling-trim input[type=number]").nth(1)
    length.fill("6")
    length.press("Enter")
    expect(page.locator("#edit-cost")).to_contain_text("6 s ×")
    expect(card).to_contain_text("✓ will be cut to 0.0-6.0 s")
    page.locator("#edit-fix-reference_video").click()
    expect(card).to_contain_text("6.0 s ·", timeout=3 * RUN_TIMEOUT)  # a re-encode, not a copy
    expect(card).not_to_contain_text("720-2160 px")
    expect(page.locator("#edit-fix-reference_video")).to_be_hidden()
    # the fixed clip is a temporary file (swept by age); a run that sends it keeps its own copy
    assert list(app.studio.files.tmp.glob("sessions/*/fixed/long-fixed-*.mp4"))


def test_a_panorama_is_cropped_or_padded_as_the_user_chooses(page: Page, tmp_path: Path) -> None:
    wide = make_image(tmp_path / "panorama.png", size=(900, 300))
    open_tab(page, "references", "References to video")
    upload(page, "references-refs", wide)
    cards = page.locator("#tab-references .kling-card-html.prose", has_text="<<<image_1>>>")
    expect(cards).to_contain_text("aspect ratio 3.00:1", timeout=RUN_TIMEOUT)
    page.locator("#tab-references").get_by_label("crop").check()
    page.locator("#references-fix-reference_images").click()
    expect(cards).to_contain_text("750x300", timeout=RUN_TIMEOUT)  # centre-cropped to 2.5:1
    expect(cards).not_to_contain_text("aspect ratio 3.00:1")


def test_a_preset_fills_the_tab_and_runs_with_the_shipped_examples(page: Page) -> None:
    open_tab(page, "edit", "Edit video")
    page.locator("#tab-edit .kling-preset").first.click()
    run_and_see_result(page, "edit", original="video")
