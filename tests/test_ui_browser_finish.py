"""The finishing panel in headless Chromium (issue #13): an Edit run on a window of a 20 s clip
shows its motion plot and score, splices back into a 20 s clip, and exports a side-by-side MP4
that downloads and plays. Set KLING_SCREENSHOTS=<folder> to keep screenshots of the panel."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from kling_ui.media.ffmpeg import run_ffmpeg
from kling_ui.media.probe import probe_video
from tests.motion_clips import pan_clip
from tests.test_ui_browser import RUN_TIMEOUT, app, open_tab, upload  # noqa: F401 - fixture
from tests.ui_fixtures import LaunchedApp, open_details

pytestmark = [pytest.mark.browser, pytest.mark.slow]

START, LENGTH = 6.0, 5.0


@pytest.fixture
def page(browser: Browser, app: LaunchedApp) -> Iterator[Page]:  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    pg.goto(app.url)
    expect(pg.locator("#kling-banner")).to_contain_text("simulator")
    yield pg
    context.close()


def shot(page: Page, locator_css: str, name: str) -> None:
    folder = os.environ.get("KLING_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.locator(locator_css).screenshot(path=str(Path(folder) / name))


def test_edit_a_window_then_splice_back_and_export(page: Page, app: LaunchedApp,  # noqa: F811
                                                    tmp_path: Path) -> None:
    clip = pan_clip(tmp_path / "long.mp4", which="a", seconds=20, size=(1280, 720), fps=30)
    open_tab(page, "edit", "Edit video")
    upload(page, "edit-video", clip)
    card = page.locator("#tab-edit .kling-card-html.prose", has_text="<<<video_1>>>")
    expect(card).to_contain_text("20.0 s", timeout=RUN_TIMEOUT)
    numbers = page.locator("#tab-edit .kling-trim input[type=number]")
    for i, value in ((0, START), (1, LENGTH)):
        numbers.nth(i).fill(str(value))
        numbers.nth(i).press("Enter")
    expect(page.locator("#edit-cost")).to_contain_text(f"{LENGTH:.0f} s ×")
    page.locator("#prompt-edit textarea").fill("<<<video_1>>> as a pencil sketch")
    # The checks still flag the 20 s clip; Run cuts the chosen window before upload.
    page.locator("#edit-run").click()

    # The motion report: the plot loads, the score is shown, the run was 5 s of a 20 s clip.
    open_details(page, "edit")
    score = page.locator("#edit-motion-score")
    expect(score).to_contain_text("Motion kept", timeout=RUN_TIMEOUT + 30_000)
    expect(score).to_contain_text("120 original, 120 output")
    plot = page.locator("#edit-motion-plot svg")
    plot.scroll_into_view_if_needed()
    assert plot.bounding_box()["width"] >= 300  # the SVG fills its column
    expect(page.locator("#edit-motion-plot figcaption")).to_contain_text("scene cuts")
    expect(page.locator("#edit-summary")).to_contain_text("offset_s")
    shot(page, "#edit-finish", "finish-panel.png")

    # Splice back: the compare view now plays the 20 s clip.
    splice = page.locator("#edit-splice")
    expect(splice).to_be_visible()
    splice.click()
    compare = page.locator("#edit-compare")
    expect(compare).to_contain_text("Spliced: the edit at 6.0-11.0 s", timeout=60_000)
    for side in ("video.kc-a", "video.kc-b"):  # the full original beside the spliced clip
        page.wait_for_function("el => el.readyState >= 2 && Math.abs(el.duration - 20) < 0.2",
                               arg=compare.locator(side).element_handle(), timeout=20_000)
    shot(page, "#edit-compare", "spliced-compare.png")
    # ...and the spliced clip is a library run of its own, with the edit as its parent.
    runs = app.studio.library.runs(owner=None)
    spliced = [r for r in runs if r.parent_id and r.prompt.startswith("Spliced back at 6.0-11.0 s")]
    assert len(spliced) == 1 and spliced[0].status == "succeeded"
    assert spliced[0].output_facts["duration"] == pytest.approx(20.0, abs=0.2)
    assert any(r.id == spliced[0].parent_id and r.tab == "edit" for r in runs)

    # Export side by side: it downloads, and the file plays (in the browser and in ffmpeg).
    page.locator("#edit-export").click()
    link = page.locator("#edit-export-file a[download]").first
    expect(link).to_be_visible(timeout=60_000)
    with page.expect_download() as info:
        link.click()
    saved = tmp_path / "comparison.mp4"
    info.value.save_as(saved)
    got = probe_video(str(saved))
    assert (got.width, got.height) == (3840, 1080)  # two 1080p panels (the output's own size)
    assert got.duration == pytest.approx(LENGTH, abs=0.15) and got.has_audio
    run_ffmpeg(["-v", "error", "-i", str(saved), "-f", "null", "-"])  # decodes end to end
    href = link.get_attribute("href")
    plays = page.evaluate(
        """async (src) => { const v = document.createElement('video'); v.muted = true;
            v.src = src; document.body.appendChild(v);
            await new Promise((ok, bad) => { v.onloadeddata = ok; v.onerror = bad; });
            await v.play();  // it plays: its time moves (up to 10 s on a loaded machine)
            for (let i = 0; i < 100 && v.currentTime <= 0.1; i++) {
                await new Promise(r => setTimeout(r, 100)); }
            const t = v.currentTime; v.remove(); return t; }""", href)
    assert plays > 0.1
    stills = page.locator("#edit-stills img")
    stills.scroll_into_view_if_needed()
    page.wait_for_function("el => el.complete && el.naturalWidth >= 1280",
                           arg=stills.element_handle())
    shot(page, "#edit-finish", "finish-exported.png")

    # After a reload the Edit tab shows the edit again (not its splice, issue #24): its motion
    # report, and the spliced clip beside it.
    page.reload()
    open_tab(page, "edit", "Edit video")
    open_details(page, "edit")
    expect(page.locator("#edit-motion-score")).to_contain_text("Motion kept", timeout=30_000)
    expect(page.locator("#edit-motion-score")).to_contain_text("120 original, 120 output")
    expect(page.locator("#edit-splice-file")).to_be_visible()
    expect(page.locator("#edit-splice-file")).to_contain_text("spliced")
    page.set_viewport_size({"width": 390, "height": 844})
    page.locator("#edit-motion-plot").scroll_into_view_if_needed()
    shot(page, "#edit-finish", "finish-phone.png")
