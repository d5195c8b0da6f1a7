"""The Library's captions end cleanly (issue #23: they were cut mid-line), tried in headless
Chromium at desktop and phone width with runs of different kinds: long English and Chinese
prompts, a short one, a canceled run. Every line of a caption is either wholly shown or wholly
hidden, a hidden rest is marked with an ellipsis, and the prompt starts on a caption's lines."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from kling_ui.library.store import Run, new_run_id
from tests.ui_fixtures import LaunchedApp, launched_app, make_video

pytestmark = pytest.mark.browser

PROMPTS = [
    ("succeeded", "A slow cinematic dolly shot through a rain-soaked neon market at night, vendors "
                  "under striped awnings, steam rising from noodle stalls, reflections on wet "
                  "cobblestones, a girl in a yellow raincoat walking toward the camera"),
    ("succeeded", "一只小狐狸在雪地里奔跑，阳光透过松树洒下金色的光斑，镜头缓缓跟随，远处的山峰被薄雾"
                  "笼罩，画面温暖而宁静，一只小狐狸在雪地里奔跑，阳光透过松树洒下金色的光斑"),
    ("canceled", "Put the crown from <<<image_1>>> on the person in <<<video_1>>>, keep the camera "
                 "move and the light exactly as they are in the original clip"),
    ("succeeded", "A paper boat"),
]

# For each caption: its box, where its text's lines are, and what it shows.
MEASURE = r"""els => els.map(el => {
  const box = el.getBoundingClientRect();
  const range = document.createRange();
  range.selectNodeContents(el);
  const tops = new Map();  // one entry a line (a line may come as several rects)
  for (const r of range.getClientRects()) {
    if (r.width > 0 && r.height > 0) tops.set(Math.round(r.top), r);
  }
  const lines = [...tops.values()];
  const style = getComputedStyle(el);
  const node = el.firstChild, at = el.textContent.indexOf("\n") + 1;
  const start = document.createRange();
  start.setStart(node, at);
  start.setEnd(node, at + 1);
  const first = start.getClientRects()[0];
  return {text: el.textContent, promptBottom: first ? first.bottom : null, top: box.top + parseFloat(style.borderTopWidth),
          bottom: box.bottom - parseFloat(style.borderBottomWidth),
          lines: lines.map(r => [r.top, r.bottom]), clamp: style.webkitLineClamp,
          overflows: el.scrollHeight > el.clientHeight + 1};
})"""


@pytest.fixture(scope="module")
def app() -> Iterator[LaunchedApp]:
    with launched_app(library_scope="all") as launched:
        now = time.time()
        for i, (status, prompt) in enumerate(PROMPTS):
            run_id = new_run_id()
            output = None
            if status == "succeeded":  # a finished run has its video
                output = str(make_video(launched.studio.library.run_dir(run_id) / "output.mp4",
                                        seconds=1, size=(320, 240)))
            launched.studio.library.create(Run(
                id=run_id, output=output, owner="local", tab="edit" if "<<<video_1>>>" in prompt else "text",
                status=status, created_at=now - 60 * i, prompt=prompt, estimated_cost=0.56,
                backend="simulator", prediction_id=f"p{i}", settings={"prompt": prompt}))
        yield launched


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)])
def test_library_captions_end_on_whole_lines(browser: Browser, app: LaunchedApp,
                                            width: int, height: int) -> None:
    page = browser.new_page(viewport={"width": width, "height": height})
    try:
        page.set_default_timeout(60_000)
        page.goto(app.url)
        page.get_by_role("tab", name="Library").click()
        captions = page.locator("#kling-library-gallery .caption-label")
        expect(captions).to_have_count(len(PROMPTS))
        page.locator("#kling-library-gallery").scroll_into_view_if_needed()
        shown = captions.evaluate_all(MEASURE)
        for cap in shown:
            inside = [ln for ln in cap["lines"] if ln[1] <= cap["bottom"] + 0.5]
            cut = [ln for ln in cap["lines"]
                   if ln[0] < cap["bottom"] - 0.5 and ln[1] > cap["bottom"] + 0.5]
            assert not cut, f"a line cut in half at {width} px: {cap['text']!r}"
            assert 2 <= len(inside) <= int(cap["clamp"]), (len(inside), cap["text"])
            # The prompt is on the caption, not pushed out of it by the first line.
            assert cap["promptBottom"] is not None and cap["promptBottom"] <= cap["bottom"] + 0.5
            # A hidden rest is said with an ellipsis (the prompt's own, or the clamp's).
            if cap["overflows"]:
                assert cap["clamp"] not in ("none", ""), cap
        texts = [c["text"] for c in shown]
        # The canceled run says what it cost; long prompts end on a word with an ellipsis.
        assert any("Canceled · Edit video · no charge" in t for t in texts)
        english = next(t.split("\n")[1] for t in texts if "neon" in t)
        assert english.endswith("…") and PROMPTS[0][1][len(english) - 1] in " ,", english
    finally:
        page.close()
