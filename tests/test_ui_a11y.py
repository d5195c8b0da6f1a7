"""Accessibility, as a person using a keyboard, a screen reader or a phone meets it.

axe-core (vendored under tests/vendor/axe-core, no network) runs on the loaded page and on a page
with a result, at desktop and phone size, and fails on serious or critical findings. At phone
width every visible control is at least 44 px tall (WCAG 2.5.5 target size; Apple's HIG uses the
same figure); every control shows a focus ring when reached with the keyboard.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.test_ui_browser import RUN_TIMEOUT, open_tab
from tests.ui_fixtures import LaunchedApp, launched_app

pytestmark = pytest.mark.browser

AXE = Path(__file__).with_name("vendor") / "axe-core" / "axe.min.js"
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
TAP_MIN_PX = 44
SHOTS = Path("/tmp/kling-a11y")
CROWN = Path(__file__).resolve().parent.parent / "assets" / "examples" / "crown.png"


@pytest.fixture(scope="module")
def app() -> Iterator[LaunchedApp]:
    with launched_app(sim_seconds=0.3) as launched:
        yield launched


def _page(browser: Browser, app: LaunchedApp, size: str) -> Page:  # noqa: F811
    context = browser.new_context(viewport=VIEWPORTS[size], is_mobile=size == "phone",
                                  has_touch=size == "phone")
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(app.url)
    expect(page.locator("#kling-banner")).to_contain_text("simulator")
    expect(page.locator("#prompt-text textarea")).to_be_visible()
    return page


def axe_findings(page: Page) -> list[dict[str, object]]:
    """Serious and critical axe-core violations on the page as it is now."""
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' + n.failureSummary)}));
        }""")
    return [v for v in result if v["impact"] in ("serious", "critical")]


def _report(findings: list[dict[str, object]]) -> str:
    counts = ", ".join(f"{f['id']}: {len(f['nodes'])}" for f in findings)  # type: ignore[arg-type]
    return f"nodes by rule: {counts}\n" + json.dumps(findings, indent=1)[:6000]


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_axe_finds_nothing_serious_on_the_loaded_page(browser: Browser, app: LaunchedApp,  # noqa: F811
                                                      size: str) -> None:
    page = _page(browser, app, size)
    try:
        for key, label in (("edit", "Edit video"), ("text", "Text to video"),
                           ("references", "References to video"), ("library", "Library")):
            if key == "library":
                page.get_by_role("tab", name=label, exact=True).click()
                expect(page.locator("#kling-library-totals")).to_contain_text("run")
            else:
                open_tab(page, key, label)
            if key == "references":  # a gr.File holding a file nests controls in its drop zone
                page.locator("#references-refs input[type=file]").set_input_files(str(CROWN))
                expect(page.locator("#tab-references .kling-card img.kling-thumb")).to_be_visible()
            SHOTS.mkdir(exist_ok=True)
            page.screenshot(path=str(SHOTS / f"loaded-{key}-{size}.png"), full_page=True)
            findings = axe_findings(page)
            assert not findings, f"{key} at {size}:\n{_report(findings)}"
    finally:
        page.context.close()


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_axe_finds_nothing_serious_with_a_result(browser: Browser, app: LaunchedApp,  # noqa: F811
                                                 size: str) -> None:
    page = _page(browser, app, size)
    try:
        page.locator("#prompt-text textarea").fill("A paper boat sails across a puddle")
        expect(page.locator("#tab-text .kling-ok", has_text="Ready to run")).to_be_visible()
        page.locator("#text-run").click()
        expect(page.locator("#text-compare video.kc-b")).to_be_attached(timeout=RUN_TIMEOUT)
        expect(page.locator("#text-facts")).to_contain_text("Frame rate")
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / f"result-text-{size}.png"), full_page=True)
        findings = axe_findings(page)
        assert not findings, f"result at {size}:\n{_report(findings)}"
    finally:
        page.context.close()


SMALL_TARGETS = """(min) => {
  const seen = [];
  const els = document.querySelectorAll(
    'button, input:not([type=hidden]), textarea, select, [role=tab], [role=button], a[href]');
  for (const el of els) {
    const cs = getComputedStyle(el);
    if (cs.visibility === 'hidden' || cs.display === 'none') continue;
    // A radio or checkbox counts by its label: the label is what a finger presses.
    const target = (el.type === 'radio' || el.type === 'checkbox') && el.closest('label')
      ? el.closest('label') : el;
    const r = target.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (el.offsetParent === null && cs.position !== 'fixed') continue;
    if (el.closest('footer') || el.type === 'file') continue;
    if (r.height < min || r.width < min) {
      seen.push(`${target.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}` +
        ` "${(target.innerText || el.getAttribute('aria-label') || el.value || '').trim().slice(0, 30)}"` +
        ` ${Math.round(r.width)}x${Math.round(r.height)}`);
    }
  }
  return seen;
}"""


def test_tap_targets_are_44_px_at_phone_width(browser: Browser, app: LaunchedApp) -> None:  # noqa: F811
    page = _page(browser, app, "phone")
    try:
        small: list[str] = []
        for key, label in (("text", "Text to video"), ("frames", "Frames to video"),
                           ("references", "References to video"),
                           ("feature", "Video reference"), ("edit", "Edit video")):
            open_tab(page, key, label)
            small += [f"{key}: {s}" for s in page.evaluate(SMALL_TARGETS, TAP_MIN_PX)]
        assert not small, f"{len(small)} targets under {TAP_MIN_PX} px:\n" + "\n".join(small)
    finally:
        page.context.close()


def test_keep_original_sound_is_a_full_size_labelled_checkbox(browser: Browser,  # noqa: F811
                                                              app: LaunchedApp) -> None:
    for size in VIEWPORTS:
        page = _page(browser, app, size)
        try:
            open_tab(page, "edit", "Edit video")
            box = page.locator("#tab-edit").get_by_label("Keep original sound")
            expect(box).to_be_visible()
            label = box.locator("xpath=ancestor::label[1]")
            bb = label.bounding_box()
            assert bb and bb["height"] >= 24 and bb["width"] >= 100, (size, bb)
        finally:
            page.context.close()


FOCUS_RING = """() => {
  const el = document.activeElement;
  const target = (el.type === 'radio' || el.type === 'checkbox') && el.closest('label')
    ? el.closest('label') : el;
  const a = getComputedStyle(el), b = getComputedStyle(target);
  const ring = (s) => (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2)
    || (s.boxShadow && s.boxShadow !== 'none');
  return {tag: el.tagName, type: el.type || '', text: (target.innerText || '').slice(0, 20),
          ring: ring(a) || ring(b)};
}"""


def test_every_control_shows_a_focus_ring(browser: Browser, app: LaunchedApp) -> None:  # noqa: F811
    page = _page(browser, app, "desktop")
    try:
        open_tab(page, "feature", "Video reference")
        page.locator("#prompt-feature textarea").focus()
        seen: list[dict[str, object]] = []
        for _ in range(12):
            page.keyboard.press("Tab")
            seen.append(page.evaluate(FOCUS_RING))
        kinds = {s["type"] for s in seen}
        assert "radio" in kinds, seen  # the walk reached the radios
        missing = [s for s in seen if not s["ring"]]
        assert not missing, missing
    finally:
        page.context.close()


def test_the_page_and_its_config_are_sent_compressed(app: LaunchedApp) -> None:
    import httpx

    for path in ("", "config"):
        r = httpx.get(app.url + path, headers={"Accept-Encoding": "gzip"})
        assert r.status_code == 200
        assert r.headers.get("content-encoding") == "gzip", path
        assert int(r.num_bytes_downloaded) < len(r.content) / 3, path
    # Gradio's own script, compressed too, and the same bytes the second time (ui/compress.py
    # keeps it; tests/test_compress.py shows it is compressed once).
    script = re.search(r'assets/index-[\w-]+\.js', httpx.get(app.url).text)
    assert script, "the page names no script"
    first, again = (httpx.get(app.url + script.group(0), headers={"Accept-Encoding": "gzip"})
                    for _ in range(2))
    assert first.headers.get("content-encoding") == again.headers.get("content-encoding") == "gzip"
    assert first.content == again.content and len(first.content) > 1000



def test_the_footers_api_docs_list_the_studios_endpoints(browser: Browser,  # noqa: F811
                                                         app: LaunchedApp) -> None:
    """"Use via API or MCP" opens Gradio's docs for the endpoints of the page it is on: the
    named endpoints must stay on the page a person loads (moving them to a page of their own
    saved 6% of a load's browser CPU and left these docs saying "No API Routes found")."""
    page = _page(browser, app, "desktop")
    try:
        page.get_by_text("Use via API or MCP").click()
        expect(page.get_by_text("text_to_video").first).to_be_visible()
        expect(page.get_by_text("No API Routes found")).to_have_count(0)
    finally:
        page.context.close()
