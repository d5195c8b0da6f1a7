"""Keep going from a result (issue #14), in headless Chromium as a person would.

A Text run -> Next shot -> run -> Edit this -> run -> Use the last frame as a start frame -> run:
each input arrives in the right tab with the right token, and each new run's library row names
the run it continued. Then three runs joined in the Library make one sequence that plays, with
its story (the chain of parents) shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from kling_ui.library.store import Run
from kling_ui.media.probe import probe_video
from tests.test_ui_browser import RUN_TIMEOUT, open_tab
from tests.ui_fixtures import LaunchedApp, launched_app, open_details

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app() -> Iterator[LaunchedApp]:
    with launched_app(sim_seconds=0.5) as launched:
        yield launched


@pytest.fixture
def page(browser: Browser, app: LaunchedApp) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    # Each step queues a few follow-up events (checks, previews, the library): on a busy 2-core
    # box they can take longer than expect's 5 s default.
    expect.set_options(timeout=20_000)
    pg.goto(app.url)
    expect(pg.locator("#kling-banner")).to_contain_text("simulator")
    yield pg
    expect.set_options(timeout=5_000)
    context.close()


def run_here(pg: Page, key: str, app: LaunchedApp, before: set[str]) -> Run:
    """Press Run in the tab, wait for its result; the new library row."""
    expect(pg.locator(f"#tab-{key} .kling-ok", has_text="Ready to run")).to_be_visible()
    pg.locator(f"#{key}-run").click()
    expect(pg.locator(f"#{key}-compare video.kc-b")).to_be_attached(timeout=RUN_TIMEOUT)
    expect(pg.locator(f"#{key}-progress")).to_contain_text("Done")
    new = [r for r in app.studio.library.runs() if r.id not in before]
    assert len(new) == 1, new
    assert new[0].status == "succeeded"
    return new[0]


def ids(app: LaunchedApp) -> set[str]:
    return {r.id for r in app.studio.library.runs()}


def test_a_chain_of_continued_runs_then_a_sequence_of_three(page: Page,
                                                            app: LaunchedApp) -> None:
    pg = page
    # 1. A text run: the row of continue buttons shows under its result only.
    open_tab(pg, "text", "Text to video")
    expect(pg.locator("#text-continue")).to_be_hidden()
    pg.locator("#prompt-text textarea").fill("A paper boat on a rainy street")
    first = run_here(pg, "text", app, ids(app))
    assert first.parent_id is None
    open_details(pg, "text")
    expect(pg.locator("#text-continue")).to_be_visible(timeout=RUN_TIMEOUT)

    # 2. Next shot: the output is the Video reference tab's clip, with the next-shot prompt.
    before = ids(app)
    pg.locator("#text-next-shot").click()
    expect(pg.locator("#prompt-feature textarea")).to_be_visible()
    expect(pg.locator("#prompt-feature textarea")).to_have_value(
        "Based on <<<video_1>>>, generate the next shot.")
    expect(pg.locator("#feature-video video")).to_be_attached()
    expect(pg.locator("#tab-feature .kling-card").first).to_contain_text("<<<video_1>>>")
    second = run_here(pg, "feature", app, before)
    assert second.parent_id == first.id
    assert "<<<video_1>>>" in second.prompt

    # 3. Edit this: the new output is the Edit tab's clip, its token ready in the prompt.
    before = ids(app)
    open_details(pg, "feature")
    expect(pg.locator("#feature-continue")).to_be_visible(timeout=RUN_TIMEOUT)
    pg.locator("#feature-edit-this").click()
    expect(pg.locator("#prompt-edit textarea")).to_be_visible()
    expect(pg.locator("#prompt-edit textarea")).to_have_value("<<<video_1>>> ")
    pg.locator("#prompt-edit textarea").press("End")
    pg.locator("#prompt-edit textarea").press_sequentially("in watercolour")
    expect(pg.locator("#edit-video video")).to_be_attached()
    third = run_here(pg, "edit", app, before)
    assert third.parent_id == second.id
    assert third.prompt == "<<<video_1>>> in watercolour"

    # 4. Use this frame (the picker starts on the last) as the Frames tab's start frame.
    before = ids(app)
    open_details(pg, "edit")
    expect(pg.locator("#edit-continue")).to_be_visible(timeout=RUN_TIMEOUT)
    clip = probe_video(str(third.output))
    at = pg.locator("#edit-frame-at input")
    last = clip.duration - 1 / clip.fps
    expect(at).not_to_have_value(re.compile(r"^0?$"), timeout=RUN_TIMEOUT)
    assert float(at.input_value()) == pytest.approx(last, abs=0.5 / clip.fps)
    # The frame steppers: one frame back, then forward again to the last.
    shown = at.input_value()
    pg.locator("#edit-frame-back").click()
    expect(at).not_to_have_value(shown, timeout=RUN_TIMEOUT)
    assert float(at.input_value()) == pytest.approx(last - 1 / clip.fps, abs=0.5 / clip.fps)
    shown = at.input_value()
    pg.locator("#edit-frame-next").click()
    expect(at).not_to_have_value(shown, timeout=RUN_TIMEOUT)
    assert float(at.input_value()) == pytest.approx(last, abs=0.5 / clip.fps)
    pg.locator("#edit-use-frame").click()
    expect(pg.locator("#prompt-frames textarea")).to_be_visible()
    expect(pg.locator("#frames-start img")).to_be_attached()
    pg.locator("#prompt-frames textarea").fill("<<<image_1>>> the boat sails off")
    fourth = run_here(pg, "frames", app, before)
    assert fourth.parent_id == third.id
    # The start frame sent is a PNG grabbed from the edit's output, at its size.
    with Image.open(fourth.inputs["start_image"]) as frame:
        assert (frame.format, frame.size) == ("PNG", (clip.width, clip.height))

    # 5. The Library: the story of the last run, then three runs joined into one sequence.
    pg.get_by_role("tab", name="Library").click()
    gallery = pg.locator("#kling-library-gallery")
    expect(gallery).to_contain_text("boat sails off")
    gallery.get_by_role("button", name=re.compile("Thumbnail 1")).click()
    story = pg.locator("#kling-library-story")
    expect(story).to_contain_text("Story", timeout=RUN_TIMEOUT)
    text = story.inner_text()
    assert text.index("paper boat") < text.index("next shot") < text.index("watercolour")

    pg.locator("#kling-sequence").get_by_text("Join runs into a sequence").click()
    picks = pg.locator("#kling-sequence-picks")
    for run in (first, second, third):
        picks.locator("input").click()
        pg.get_by_role("option", name=re.compile(run.id[:6])).click()
    expect(picks).to_contain_text(first.id[:6])
    pg.locator("#kling-sequence-join").click()
    detail = pg.locator("#kling-library-detail")
    expect(detail).to_contain_text("Sequence of 3 runs", timeout=RUN_TIMEOUT)
    video = detail.locator("video.kc-b")
    expect(video).to_be_attached()
    total = sum(probe_video(str(r.output)).duration for r in (first, second, third))
    duration = pg.wait_for_function(
        "el => el.readyState >= 1 && el.duration > 0 ? el.duration : null",
        arg=video.element_handle(), timeout=10_000).json_value()
    assert duration == pytest.approx(total, abs=0.3)
    seq = [r for r in app.studio.library.runs() if r.prompt.startswith("Sequence of 3 runs")]
    assert len(seq) == 1 and seq[0].parent_id == first.id
    expect(gallery).to_contain_text("Sequence of 3 runs")
