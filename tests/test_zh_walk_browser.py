"""Every tab and state of the page in a zh-CN browser, read for English (issue #24).

A Chinese visitor walks the whole Studio: each tab before a run, a clip on a card, a Text run
(its status lines sampled while it runs) and two takes with a keeper, an Edit run with its
finishing panels (motion report, splice, comparison export), the Library (a take's caption, a
run's detail, the joiner). Everything shown is read (visible text nodes and placeholders) and any
Latin word outside a short allow-list fails the test, with where it was seen.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.media_factory import make_video
from tests.motion_clips import pan_clip
from tests.test_ui_browser import RUN_TIMEOUT, upload
from tests.ui_fixtures import LaunchedApp, launched_app, open_details

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Words a Chinese page may show in Latin letters: names (the product, models, the service),
# file formats, protocols, units. Lower case; a word is letters then optional digits ("o1", "mp4").
ALLOWED = {
    "kling", "o1", "omni", "replicate", "mp4", "mov", "jpeg", "jpg", "png", "webp", "api", "mcp",
    "shift", "zip",  # a key's name, a file format
    "gradio", "h264", "hevc", "heif", "aac", "url", "id", "utc", "yuv420p",
    "studio",  # the product's name, "Kling O1 Studio"
    "simulated",  # the word burned into the simulator's frames, quoted in the banner
    "s", "ms", "mb", "kb", "gb", "px", "fps", "p", "db", "x", "kbps", "mbps",
    "std", "pro",  # the model's own mode names, as Replicate takes them (shown beside 标准/专业)
}
# Shown as they are, not words: tokens, hex ids, file names, times, sizes.
NOT_WORDS = re.compile(
    r"<<<\w+>>>|\b[0-9a-f]{6,}\b|\b[\w.-]+\.(?:mp4|mov|png|jpe?g|webp)\b|\b\d+(?:\.\d+)?x\b"
    r"|\b\d+x\d+\b|\b\d+(?:\.\d+)?(?:s|ms|px|fps|p|MB|KB|GB|dB)\b|https?://\S+"
    r"|\bH\.264\b|\bA/B\b|^[AB] ·|\b[a-z0-9]{20,}\b"  # prediction ids; the compare's panels
    r"|\S*-20\d\d-\d\d-\d\d\S*", re.I)  # download names (file names, dated)
WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:['’][A-Za-z]+)?")

VISIBLE_TEXT = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const text = n.textContent.trim();
    const el = n.parentElement;
    if (!text || !el || ['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEXTAREA'].includes(el.tagName)) continue;
    // Not prose: the raw summary (settings.json as sent), text marked English (the model's own
    // log lines, as Replicate returns them), screen-reader-only text.
    // Gradio's own words, not the Studio's: its status tracker ("processing | 2.1s") and the
    // heading its toasts are grouped under ("Info", whatever title gr.Info is given).
    if (el.closest('svg title, .sr-only, .kling-sr, [lang="en"], [id$="-summary"], .meta-text, .meta-text-center, .progress-text, .toast-title')) continue;
    if (!el.checkVisibility({visibilityProperty: true, opacityProperty: true})) continue;
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) continue;
    out.push(text);
  }
  for (const el of document.querySelectorAll('[placeholder]')) {
    if (el.checkVisibility() && el.placeholder) out.push(el.placeholder);
  }
  return out;
}"""


def latin_words(text: str) -> list[str]:
    text = NOT_WORDS.sub(" ", text)
    return [w for w in WORD.findall(text) if w.lower() not in ALLOWED]


class Walk:
    """Reads the page at each step; keeps every English word seen, with where."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.found: dict[str, set[str]] = {}

    def read(self, where: str) -> None:
        for text in self.page.evaluate(VISIBLE_TEXT):
            for word in latin_words(text):
                self.found.setdefault(f"{word!r} in {text[:90]!r}", set()).add(where)
        print(f"-- {where}: {len(self.found)} so far")  # with -s: how far the walk got

    def report(self) -> str:
        return "\n".join(f"{k}  ({', '.join(sorted(v))})" for k, v in sorted(self.found.items()))


@pytest.fixture(scope="module")
def app() -> Iterator[LaunchedApp]:
    with launched_app(sim_seconds=2.0) as launched:
        yield launched


@pytest.fixture
def page(browser: Browser, app: LaunchedApp) -> Iterator[Page]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900},
                                  extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    expect.set_options(timeout=30_000)
    pg.goto(app.url)
    expect(pg.locator("#prompt-text textarea")).to_be_visible(timeout=120_000)
    yield pg
    expect.set_options(timeout=5_000)
    context.close()


TABS = [("text", "文生视频"), ("frames", "首尾帧"), ("references", "参考图"),
        ("feature", "视频参考"), ("edit", "视频编辑")]


def tab(pg: Page, key: str) -> None:
    pg.get_by_role("tab", name=dict(TABS)[key], exact=True).click()
    expect(pg.locator(f"#prompt-{key} textarea")).to_be_visible()


def run_and_sample(pg: Page, walk: Walk, key: str, done: str) -> None:
    """Press Run and read the page a few times while the run goes (its status sub-lines), until
    the `done` selector shows (the words are what is being checked, so not waited on)."""
    pg.locator(f"#{key}-run").click()
    for i in range(60):
        walk.read(f"{key} running {i}")
        if pg.locator(done).count():
            break
        pg.wait_for_timeout(250)
    expect(pg.locator(done).first).to_be_attached(timeout=4 * RUN_TIMEOUT)


def test_every_tab_and_state_in_chinese_has_no_english(page: Page, app: LaunchedApp,
                                                       tmp_path: Path) -> None:
    pg = page
    walk = Walk(pg)
    try:
        _walk(pg, walk, tmp_path)
    finally:
        print("English on the zh-CN page:\n" + walk.report())
    assert not walk.found, "English on the zh-CN page:\n" + walk.report()


def _walk(pg: Page, walk: Walk, tmp_path: Path) -> None:
    checks = pg.locator("#text-checks")
    expect(checks).to_contain_text("提示词为空", timeout=60_000)
    # 1. Every tab before a run.
    for key, _ in TABS:
        tab(pg, key)
        pg.wait_for_timeout(500)
        walk.read(f"tab {key}")
    pg.get_by_role("tab", name="作品库", exact=True).click()
    pg.wait_for_timeout(1000)
    walk.read("library, empty")

    # 2. A clip with sound on the Video reference tab's card.
    clip = make_video(tmp_path / "clip.mp4", seconds=4, size=(640, 360), fps=24)
    tab(pg, "feature")
    upload(pg, "feature-video", Path(clip))
    expect(pg.locator("#tab-feature .kling-card-html").first).to_contain_text("4.0", timeout=60_000)
    pg.wait_for_timeout(500)
    walk.read("feature, a clip loaded")

    # 3. A Text run, its status sampled while it runs; then two takes and a keeper.
    tab(pg, "text")
    pg.locator("#prompt-text textarea").fill("海边的日出，海鸥飞过")
    expect(pg.locator("#tab-text .kling-ok")).to_be_visible()
    walk.read("text, ready")
    run_and_sample(pg, walk, "text", "#text-compare video.kc-b")
    pg.wait_for_timeout(1000)
    walk.read("text, done")
    radio = pg.locator("#text-takes").get_by_label("2", exact=True)
    radio.scroll_into_view_if_needed()
    radio.check()
    walk.read("text, 2 takes picked")
    run_and_sample(pg, walk, "text", "#text-takes-panel .kling-take")
    grid = pg.locator("#text-takes-panel")
    expect(grid.locator(".kling-take-running")).to_have_count(0, timeout=4 * RUN_TIMEOUT)
    walk.read("text, takes done")
    pg.locator("#text-keep-2").click()
    pg.wait_for_timeout(1500)
    walk.read("text, a keeper")

    # 4. An Edit run on a window of a clip: the finishing panels.
    long_clip = pan_clip(tmp_path / "pan.mp4", which="a", seconds=14, size=(640, 360), fps=24)
    tab(pg, "edit")
    upload(pg, "edit-video", long_clip)
    expect(pg.locator("#tab-edit .kling-card-html").first).to_contain_text("14.0", timeout=60_000)
    numbers = pg.locator("#tab-edit .kling-trim input[type=number]")
    for i, value in ((0, 2.0), (1, 5.0)):
        numbers.nth(i).fill(str(value))
        numbers.nth(i).press("Enter")
    pg.locator("#prompt-edit textarea").fill("<<<video_1>>> 变成铅笔素描")
    walk.read("edit, ready")
    pg.locator("#edit-run").click()
    open_details(pg, "edit")
    for i in range(40):
        walk.read(f"edit running {i}")
        if pg.locator("#edit-motion-score").is_visible():
            break
        pg.wait_for_timeout(300)
    expect(pg.locator("#edit-motion-score")).to_be_visible(timeout=RUN_TIMEOUT + 30_000)
    expect(pg.locator("#edit-motion-plot svg")).to_be_attached(timeout=RUN_TIMEOUT)
    walk.read("edit, finish panels")
    pg.locator("#edit-splice").click()
    expect(pg.locator("#edit-compare video.kc-a")).to_be_attached(timeout=60_000)
    pg.wait_for_timeout(3000)
    walk.read("edit, spliced")
    pg.locator("#edit-export").click()
    expect(pg.locator("#edit-export-file a[download]").first).to_be_visible(timeout=60_000)
    walk.read("edit, exported")

    # 5. The Library: captions, a run's detail, the joiner.
    pg.get_by_role("tab", name="作品库", exact=True).click()
    gallery = pg.locator("#kling-library-gallery")
    expect(gallery.get_by_role("button", name=re.compile("1"))).not_to_have_count(0)
    pg.wait_for_timeout(1500)
    walk.read("library")
    for n in (1, 4):
        gallery.get_by_role("button", name=re.compile(f"^.*\\b{n}$|Thumbnail {n}|缩略图 {n}"))\
            .first.click()
        expect(pg.locator("#kling-library-detail")).to_be_visible()
        pg.wait_for_timeout(1500)
        walk.read(f"library, run {n} selected")
    pg.locator("#kling-sequence").get_by_text("将多条生成记录拼接成序列").click()
    pg.wait_for_timeout(1000)
    walk.read("library, the joiner")
