"""Demo polish (issue #12 point 6) in headless Chromium: the A/B wipe stays on the picture of a
portrait result in a landscape box, the download is named after the run, presets show a
thumbnail. At 1280x900 and 390x844."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from kling_ui.ui.tab_layout import load_presets
from kling_ui.ui.thumbs import thumb_media, thumb_path
from tests.test_ui_browser import RUN_TIMEOUT, open_tab, upload
from tests.ui_fixtures import LaunchedApp, launched_app, make_image

pytestmark = pytest.mark.browser

SIZES = {"desktop": (1280, 900), "phone": (390, 844)}

# The output's picture as displayed (object-fit: contain), and where the wipe line and its knob are.
GEOMETRY = """root => {
  const v = root.querySelector('video.kc-b'), box = v.getBoundingClientRect();
  const scale = Math.min(box.width / v.videoWidth, box.height / v.videoHeight);
  const pw = v.videoWidth * scale, ph = v.videoHeight * scale;
  const pic = {left: box.left + (box.width - pw) / 2, top: box.top + (box.height - ph) / 2,
               width: pw, height: ph};
  const line = root.querySelector('.kc-divider').getBoundingClientRect();
  const knob = root.querySelector('.kc-knob').getBoundingClientRect();
  const stage = root.querySelector('.kc-stage').getBoundingClientRect();
  const clip = getComputedStyle(root.querySelector('.kc-fig-b')).clipPath;
  return {box: {left: box.left, width: box.width}, pic, stageLeft: stage.left, clip,
          line: {x: line.left + line.width / 2, top: line.top, bottom: line.bottom},
          knob: {x: knob.left + knob.width / 2, y: knob.top + knob.height / 2}};
}"""


@pytest.fixture(scope="module")
def app() -> Iterator[LaunchedApp]:
    with launched_app(sim_seconds=0.5) as launched:
        yield launched


@pytest.fixture(autouse=True)
def _expect_default() -> Iterator[None]:
    yield
    expect.set_options(timeout=5_000)


@pytest.fixture(scope="module")
def portrait(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_image(tmp_path_factory.mktemp("polish") / "portrait.png", size=(600, 1000))


def _page(browser: Browser, app: LaunchedApp, size: str) -> Page:
    w, h = SIZES[size]
    context = browser.new_context(viewport={"width": w, "height": h}, is_mobile=size == "phone")
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    expect.set_options(timeout=20_000)  # a busy 2-core box: follow-up events take a while
    pg.goto(app.url)
    expect(pg.locator("#kling-banner")).to_contain_text("simulator")
    return pg


@pytest.mark.parametrize("size", list(SIZES))
def test_the_wipe_follows_a_portrait_picture_and_the_download_is_named(
        browser: Browser, app: LaunchedApp, portrait: Path, size: str) -> None:
    pg = _page(browser, app, size)
    try:
        open_tab(pg, "frames", "Frames to video")
        upload(pg, "frames-start", portrait)
        # the card waits behind every other engineer's renders on a busy box
        expect(pg.locator("#tab-frames .kling-card")).to_contain_text("600x1000", timeout=60_000)
        pg.locator("#prompt-frames textarea").fill("The girl with a crown turns to the camera")
        pg.locator("#tab-frames").get_by_label("std").check()
        expect(pg.locator("#tab-frames .kling-ok", has_text="Ready to run")).to_be_visible()
        pg.locator("#frames-run").click()
        compare = pg.locator("#frames-compare .kling-compare")
        video = compare.locator("video.kc-b")
        expect(video).to_be_attached(timeout=RUN_TIMEOUT)
        pg.wait_for_function("v => v.readyState >= 1 && v.videoWidth > 0",
                             arg=video.element_handle(), timeout=15_000)
        # The simulator follows the portrait start frame, as Kling does: 720x1280 at std.
        assert video.evaluate("v => [v.videoWidth, v.videoHeight]") == [720, 1280]
        # Each panel takes the output's shape: a portrait result plays tall, not small between
        # black bars in a 16:9 box (at most 62% of the window high, where it letterboxes).
        box = video.bounding_box()
        assert box is not None and box["height"] > box["width"], box
        assert box["height"] <= 0.62 * SIZES[size][1] + 1, box

        # The download carries the run's name, not a prediction id.
        day = date.today().isoformat()
        link = pg.locator("#tab-frames a[download]").first
        expect(link).to_have_attribute("href", re.compile(
            rf"frames-girl-with-crown-turns-{day}(-\d+)?\.mp4"))

        server_style = compare.get_attribute("style") or ""  # the output's shape (--kc-ar)
        compare.get_by_label("A/B wipe").check()
        wipe = compare.locator('[data-kc="wipe"]')
        for value in (0, 50, 100):
            wipe.fill(str(value))
            if value == 0:
                # What Gradio does when it re-renders the same result HTML: data-mode and style
                # go back to the server's, the ticked box stays ticked. The wipe must survive.
                compare.evaluate("(r, s) => { r.dataset.mode = 'side'; r.setAttribute('style', s); }",
                                 server_style)
                pg.wait_for_timeout(300)
            g: dict[str, Any] = compare.evaluate(GEOMETRY)
            pic, box = g["pic"], g["box"]
            if size == "desktop":  # the panel's 62vh cap letterboxes a portrait in the wide box
                assert pic["width"] < box["width"] * 0.8, g
            else:  # at phone width the panel takes the output's shape: no black bars at all
                assert pic["width"] >= box["width"] - 2, g
            expected = pic["left"] + pic["width"] * value / 100
            # line and knob on the picture at the slider's share of it, never in a black bar
            assert abs(g["line"]["x"] - expected) <= 2, (value, g)
            assert pic["left"] - 2 <= g["knob"]["x"] <= pic["left"] + pic["width"] + 2, (value, g)
            assert g["line"]["top"] >= pic["top"] - 2, g
            assert g["line"]["bottom"] <= pic["top"] + pic["height"] + 2, g
            # and B is cut exactly there
            sides = [float(n) for n in re.findall(r"[\d.]+", g["clip"])]  # CSS's 1-4 values
            cut = sides[3] if len(sides) == 4 else sides[1] if len(sides) > 1 else sides[0]
            assert abs(g["stageLeft"] + cut - expected) <= 2, (value, g)
        # A drag on the picture moves the wipe to where the finger is.
        compare.locator(".kc-stage").scroll_into_view_if_needed()
        g = compare.evaluate(GEOMETRY)
        pic = g["pic"]
        x, y = pic["left"] + pic["width"] * 0.25, pic["top"] + pic["height"] / 2
        pg.mouse.move(x, y)
        pg.mouse.down()
        pg.mouse.up()
        assert abs(int(wipe.input_value()) - 25) <= 2
        pg.screenshot(path=str(Path(__file__).parent / f"_artifacts/wipe-{size}.png"))
    finally:
        pg.context.close()


def test_media_presets_have_a_thumbnail_on_their_button(browser: Browser, app: LaunchedApp) -> None:
    presets = load_presets()
    for tab_presets in presets.values():
        for preset in tab_presets:
            media = thumb_media(preset)
            assert media is None or thumb_path(media).is_file(), (
                f"{preset['name']}: run python assets/make_thumbs.py")
        # Two presets of a tab never show the same picture (an outside look saw the girl in
        # blue on both of References', Video reference's and Edit's).
        shown = [m for p in tab_presets if (m := thumb_media(p))]
        assert len(shown) == len(set(shown)), shown
    pg = _page(browser, app, "desktop")
    try:
        open_tab(pg, "edit", "Edit video")
        buttons = pg.locator("#tab-edit .kling-preset")
        expect(buttons).to_have_count(len(presets["edit"]))
        for i in range(len(presets["edit"])):
            img = buttons.nth(i).locator("img")
            expect(img).to_have_count(1)
            pg.wait_for_function("el => el.complete && el.naturalWidth > 0",
                                 arg=img.element_handle())
            # decoration beside the name: a screen reader says the preset's name once
            expect(img).to_have_attribute("alt", "")
            expect(buttons.nth(i)).to_have_accessible_name(presets["edit"][i]["name"])
            shown = img.bounding_box()
            assert shown is not None and 40 <= shown["width"] <= 52 and 40 <= shown["height"] <= 52
        # Text presets have no media: their buttons carry the name alone.
        open_tab(pg, "text", "Text to video")
        expect(pg.locator("#tab-text .kling-preset img")).to_have_count(0)
        expect(pg.locator("#tab-text .kling-preset").first).to_be_visible()
    finally:
        pg.context.close()
