"""Takes, the end frame target and the sequence order (issue #14), in headless Chromium.

Three takes of one Text run start at once (after the confirmation this Studio asks for above
$1.00), play side by side, and a keeper marked in the tab shows in the Library; takes beyond a
visitor's limit are refused one by one with the Guard's message; a frame of a result becomes the
Frames tab's end frame, with its token; a sequence's clips are reordered before the join.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from kling_ui.core.jobs import JobSpec
from kling_ui.core.models import Tab
from kling_ui.library.store import Run
from kling_ui.media.probe import probe_video
from tests.test_ui_browser import RUN_TIMEOUT, open_tab
from tests.ui_fixtures import LaunchedApp, launched_app, open_details

pytestmark = pytest.mark.browser



def shot(pg: Page, name: str) -> None:
    """Keep a screenshot when KLING_SCREENSHOTS names a folder (docs/screenshots/takes-*.png
    were made so); a plain test run writes nothing into the repository."""
    folder = os.environ.get("KLING_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(Path(folder) / name), full_page=False)


CONFIRM_ABOVE = 1.00  # KLING_TAKES_CONFIRM_USD for this module's app
TAKES_TIMEOUT = 4 * RUN_TIMEOUT  # several runs at once (or one on a busy box): 2 shared cores
PRO_5S = 0.56  # 5 s x $0.112/s (kling_ui.core.pricing)
STD_5S = 0.42  # 5 s x $0.084/s


@pytest.fixture(scope="module")
def app() -> Iterator[LaunchedApp]:
    with launched_app(sim_seconds=0.5, takes_confirm_usd=CONFIRM_ABOVE) as launched:
        yield launched


@contextlib.contextmanager
def _page(browser: Browser, app: LaunchedApp, width: int, height: int) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": width, "height": height})
    pg = context.new_page()
    # Each step queues follow-up events (checks, the library); several takes share 2 busy cores.
    pg.set_default_timeout(60_000)
    expect.set_options(timeout=60_000)
    pg.goto(app.url)
    expect(pg.locator("#kling-banner")).to_contain_text("simulator")
    yield pg
    expect.set_options(timeout=5_000)
    context.close()


@pytest.fixture
def page(browser: Browser, app: LaunchedApp) -> Iterator[Page]:
    with _page(browser, app, 1280, 900) as pg:
        yield pg


def ids(app: LaunchedApp) -> set[str]:
    return {r.id for r in app.studio.library.runs()}


def new_runs(app: LaunchedApp, before: set[str]) -> list[Run]:
    return [r for r in app.studio.library.runs() if r.id not in before]


def pick_takes(pg: Page, key: str, n: int) -> None:
    radio = pg.locator(f"#{key}-takes").get_by_label(str(n), exact=True)
    radio.scroll_into_view_if_needed()
    radio.check()
    expect(radio).to_be_checked()


def wait_takes(pg: Page, key: str, n: int) -> None:
    grid = pg.locator(f"#{key}-takes-panel")
    expect(grid.locator(".kling-take")).to_have_count(n, timeout=RUN_TIMEOUT)
    expect(grid.locator(".kling-take-running")).to_have_count(0, timeout=TAKES_TIMEOUT)
    expect(pg.locator(f"#{key}-progress .kling-status-msg")).not_to_contain_text(
        "running", timeout=TAKES_TIMEOUT)


def test_three_takes_side_by_side_a_keeper_in_the_library(page: Page, app: LaunchedApp) -> None:
    pg = page
    open_tab(pg, "text", "Text to video")
    pg.locator("#prompt-text textarea").fill("A red kite over green dunes")
    expect(pg.locator("#tab-text .kling-ok", has_text="Ready to run")).to_be_visible()
    # One take: the tab as it always was.
    expect(pg.locator("#text-run")).to_have_text("Run")
    expect(pg.locator("#text-cost")).to_contain_text(f"${PRO_5S:.2f}")
    expect(pg.locator("#text-cost")).not_to_contain_text("takes")

    pick_takes(pg, "text", 3)
    total = 3 * PRO_5S
    expect(pg.locator("#text-cost")).to_contain_text(f"3 takes × ${PRO_5S:.2f} = ${total:.2f}")
    expect(pg.locator("#text-run")).to_have_text(f"Run 3 takes (${total:.2f})")

    # Above the host's threshold the first press only asks; nothing runs.
    before = ids(app)
    pg.locator("#text-run").click()
    expect(pg.locator("#text-run")).to_have_text(f"Run 3 takes (${total:.2f}) - confirm")
    expect(pg.locator("#text-progress")).to_contain_text("Press Run again to confirm")
    assert new_runs(app, before) == []
    expect(pg.locator("#text-takes-panel")).to_be_hidden()

    # The second press runs three takes at once; they show side by side.
    pg.locator("#text-run").click()
    wait_takes(pg, "text", 3)
    grid = pg.locator("#text-takes-panel")
    expect(grid.locator("video.kling-take-video")).to_have_count(3)
    expect(pg.locator("#text-take-4")).to_be_hidden()
    expect(pg.locator("#text-progress")).to_contain_text("Done: 3 takes")
    expect(pg.locator("#text-run")).to_have_text(f"Run 3 takes (${total:.2f})")
    boxes = [pg.locator(f"#text-take-{i}").bounding_box() for i in (1, 2, 3)]
    assert all(b is not None for b in boxes)
    tops = {round(b["y"]) for b in boxes if b is not None}
    assert len(tops) == 1, f"takes should sit side by side at 1280 px: {boxes}"
    takes = sorted(new_runs(app, before), key=lambda r: r.metrics["takes"]["index"])
    assert len(takes) == 3 and all(r.status == "succeeded" for r in takes)
    assert len({r.metrics["takes"]["group"] for r in takes}) == 1
    assert [r.metrics["takes"]["index"] for r in takes] == [1, 2, 3]
    assert {r.prompt for r in takes} == {"A red kite over green dunes"}
    assert len({r.output for r in takes}) == 3

    # Keep take 2: marked in the tab, in the run's metrics and in the Library.
    pg.locator("#text-keep-2").click()
    expect(pg.locator("#text-keep-2")).to_have_text("★ Keeper")
    expect(pg.locator("#text-take-2 .kling-take-keeper")).to_be_visible()
    kept = [app.studio.library.get(r.id) for r in takes]
    assert [bool(r and r.metrics.get("keeper")) for r in kept] == [False, True, False]
    # Changing one's mind moves the mark: one keeper per group.
    pg.locator("#text-keep-3").click()
    expect(pg.locator("#text-keep-3")).to_have_text("★ Keeper")
    expect(pg.locator("#text-keep-2")).to_have_text("Keep this take")
    kept = [app.studio.library.get(r.id) for r in takes]
    assert [bool(r and r.metrics.get("keeper")) for r in kept] == [False, False, True]
    pg.locator("#text-takes-panel").evaluate("el => el.scrollIntoView({block: 'center'})")
    shot(pg, "takes-1280.png")
    # A reload shows the takes again, keeper marked, and the keeper can still change.
    pg.reload()
    open_tab(pg, "text", "Text to video")
    expect(pg.locator("#text-takes-panel video.kling-take-video")).to_have_count(3)
    expect(pg.locator("#text-keep-3")).to_have_text("★ Keeper")
    pg.get_by_role("tab", name="Library").click()
    gallery = pg.locator("#kling-library-gallery")
    expect(gallery).to_contain_text("★ Keeper · take 3/3")
    expect(gallery).to_contain_text("Take 1/3")

    # Back to one take: the label and the cost are a single run's again.
    open_tab(pg, "text", "Text to video")
    pick_takes(pg, "text", 1)
    expect(pg.locator("#text-run")).to_have_text("Run")
    expect(pg.locator("#text-cost")).not_to_contain_text("takes")


def test_two_takes_below_the_threshold_run_at_once_on_a_phone(browser: Browser,
                                                              app: LaunchedApp) -> None:
    with _page(browser, app, 390, 844) as pg:
        open_tab(pg, "text", "Text to video")
        pg.locator("#prompt-text textarea").fill("Rain on a tin roof, close up")
        pg.locator("#tab-text").get_by_label("std", exact=True).check()
        pick_takes(pg, "text", 2)
        expect(pg.locator("#text-cost")).to_contain_text(
            f"2 takes × ${STD_5S:.2f} = ${2 * STD_5S:.2f}")
        expect(pg.locator("#text-cost")).not_to_contain_text("confirm")
        before = ids(app)
        pg.locator("#text-run").click()  # $0.84: no confirmation
        wait_takes(pg, "text", 2)
        expect(pg.locator("#text-takes-panel video.kling-take-video")).to_have_count(2)
        assert len(new_runs(app, before)) == 2
        one = pg.locator("#text-take-1").bounding_box()
        two = pg.locator("#text-take-2").bounding_box()
        assert one and two and one["x"] + one["width"] <= 390 and two["x"] + two["width"] <= 390
        pg.locator("#text-take-1").evaluate("el => el.scrollIntoView({block: 'start'})")
        shot(pg, "takes-390.png")


def test_takes_beyond_the_visitors_limit_are_refused_one_by_one(browser: Browser) -> None:
    with (launched_app(sim_seconds=0.5, runs_per_hour=2, takes_confirm_usd=5.0) as limited,
          _page(browser, limited, 1280, 900) as pg):
            open_tab(pg, "text", "Text to video")
            pg.locator("#prompt-text textarea").fill("A lighthouse at dusk")
            expect(pg.locator("#tab-text .kling-ok", has_text="Ready to run")).to_be_visible()
            pick_takes(pg, "text", 3)
            pg.locator("#text-run").click()
            wait_takes(pg, "text", 3)
            grid = pg.locator("#text-takes-panel")
            expect(grid.locator("video.kling-take-video")).to_have_count(2)
            refused = grid.locator(".kling-take-failed")
            expect(refused).to_have_count(1)
            expect(refused).to_contain_text("allows 2 runs per visitor per hour")
            expect(pg.locator("#text-progress")).to_contain_text("2 of 3 takes done")
            assert len([r for r in limited.studio.library.runs() if r.status == "succeeded"]) == 2


def run_text(pg: Page, app: LaunchedApp, prompt: str) -> Run:
    open_tab(pg, "text", "Text to video")
    pg.locator("#prompt-text textarea").fill(prompt)
    expect(pg.locator("#tab-text .kling-ok", has_text="Ready to run")).to_be_visible()
    before = ids(app)
    pg.locator("#text-run").click()
    # The tab may still show the last run's "Done" (a page reattaches to it): wait for the new.
    run = wait_for_new_run(pg, app, before)
    assert run.status == "succeeded", run.error
    expect(pg.locator("#text-progress")).to_contain_text("Done")
    expect(pg.locator("#text-compare video.kc-b")).to_be_attached()
    return run


def wait_for_new_run(pg: Page, app: LaunchedApp, before: set[str]) -> Run:
    for _ in range(TAKES_TIMEOUT // 500):
        new = new_runs(app, before)
        if len(new) == 1 and not new[0].in_flight:
            return new[0]
        pg.wait_for_timeout(500)
    raise AssertionError(f"no new run ended: {new_runs(app, before)}")


def test_a_frame_becomes_the_end_frame(page: Page, app: LaunchedApp) -> None:
    pg = page
    first = run_text(pg, app, "A paper plane crosses a classroom")
    open_details(pg, "text")
    expect(pg.locator("#text-continue")).to_be_visible(timeout=RUN_TIMEOUT)
    clip = probe_video(str(first.output))
    at = pg.locator("#text-frame-at input")
    expect(at).not_to_have_value(re.compile(r"^0?$"), timeout=RUN_TIMEOUT)
    # The last frame is the start frame...
    pg.locator("#text-frame-target").get_by_label("Frames tab: start frame").check()
    pg.locator("#text-use-frame").click()
    expect(pg.locator("#frames-start img")).to_be_attached()
    # ...and, two frames earlier (the frame-step buttons), the end frame.
    open_tab(pg, "text", "Text to video")
    for _ in range(2):
        shown = at.input_value()
        pg.locator("#text-frame-back").click()
        expect(at).not_to_have_value(shown, timeout=RUN_TIMEOUT)
    last = clip.duration - 1 / clip.fps
    assert float(at.input_value()) == pytest.approx(last - 2 / clip.fps, abs=0.5 / clip.fps)
    pg.locator("#text-frame-target").get_by_label("Frames tab: end frame").check()
    pg.locator("#text-use-frame").click()
    expect(pg.locator("#frames-end img")).to_be_attached()
    expect(pg.locator("#frames-start img")).to_be_attached()  # the start frame stayed
    cards = pg.locator("#tab-frames .kling-card")
    expect(cards.filter(has_text="end frame")).to_contain_text("<<<image_2>>>")
    expect(cards.filter(has_text="start frame")).to_contain_text("<<<image_1>>>")
    pg.locator("#prompt-frames textarea").fill("<<<image_1>>> glides to <<<image_2>>>")
    expect(pg.locator("#tab-frames .kling-ok", has_text="Ready to run")).to_be_visible()
    before = ids(app)
    pg.locator("#frames-run").click()
    run = wait_for_new_run(pg, app, before)
    expect(pg.locator("#frames-compare video.kc-b")).to_be_attached()
    assert run.parent_id == first.id
    assert run.inputs.get("end_image") and run.inputs.get("start_image")
    with Image.open(run.inputs["end_image"]) as end, Image.open(run.inputs["start_image"]) as start:
        assert end.format == "PNG" and end.size == (clip.width, clip.height)
        assert list(end.getdata()) != list(start.getdata())  # two different frames


def test_a_sequence_joins_in_the_order_shown(page: Page, app: LaunchedApp) -> None:
    pg = page
    # The runs belong to no browser: list every run, as a single-user Studio does.
    app.studio.settings = replace(app.studio.settings, library_scope="all")
    pg.reload()
    expect(pg.locator("#kling-banner")).to_contain_text("simulator")
    # Three finished runs made elsewhere (straight on the Studio, as the API or another tab
    # would) while this page is open: opening the joiner offers them without a reload.
    handles = [app.studio.start(JobSpec(tab=Tab.TEXT, prompt=f"Shot {name}: a slow dolly in"),
                                visitor_token=None, visitor_id="test", owner="api")
               for name in "ABC"]
    made = [h.future.result(timeout=TAKES_TIMEOUT / 1000) for h in handles if h.future]
    a, b, c = (app.studio.library.get(r.run_id) for r in made)
    assert a and b and c and {a.status, b.status, c.status} == {"succeeded"}
    pg.get_by_role("tab", name="Library").click()
    pg.locator("#kling-sequence").get_by_text("Join runs into a sequence").click()
    picks = pg.locator("#kling-sequence-picks")
    items = pg.locator("#kling-sequence-list .kling-seq-item")
    for count, run in enumerate((a, b, c), 1):
        # Type to filter the list to this run (keys, as a user types: after Escape only a key
        # opens the list again), pick it, close the list (it covers the page).
        box = picks.locator("input")
        box.fill("")
        box.press_sequentially(run.id[:6])
        pg.get_by_role("option", name=re.compile(run.id[:6])).click()
        box.press("Escape")
        expect(items).to_have_count(count)
    expect(items).to_have_count(3)
    order = pg.locator("#kling-sequence-order textarea, #kling-sequence-order input").first

    def shown() -> list[str]:
        return [str(i.get_attribute("data-id")) for i in items.all()]

    assert shown() == [a.id, b.id, c.id]
    # Keyboard: A one later (B, A, C); C one earlier (B, C, A).
    items.nth(0).get_by_role("button", name=re.compile("later")).click()
    assert shown() == [b.id, a.id, c.id]
    items.nth(2).get_by_role("button", name=re.compile("earlier")).focus()
    pg.keyboard.press("Enter")
    assert shown() == [b.id, c.id, a.id]
    expect(order).to_have_value(",".join([b.id, c.id, a.id]))
    # Drag: A (last) onto the top (A, B, C would be the picks' order; here A, B, C again).
    items.nth(2).drag_to(items.nth(0), target_position={"x": 10, "y": 2})
    assert shown() == [a.id, b.id, c.id]
    expect(order).to_have_value(",".join([a.id, b.id, c.id]))  # the drop wrote the order too
    # Once more by keyboard, so the join's order differs from the picks': C, A, B.
    items.nth(2).get_by_role("button", name=re.compile("earlier")).click()
    items.nth(1).get_by_role("button", name=re.compile("earlier")).click()
    assert shown() == [c.id, a.id, b.id]
    expect(order).to_have_value(",".join([c.id, a.id, b.id]))
    pg.locator("#kling-sequence-join").click()
    detail = pg.locator("#kling-library-detail")
    expect(detail).to_contain_text("Sequence of 3 runs", timeout=TAKES_TIMEOUT)
    (seq,) = [r for r in app.studio.library.runs() if r.prompt.startswith("Sequence of 3 runs")
              and r.metrics.get("sequence") and a.id in r.metrics["sequence"]]
    assert seq.metrics["sequence"] == [c.id, a.id, b.id]
    assert seq.parent_id == c.id
