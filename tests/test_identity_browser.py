"""The library cookie in a real browser (issue #20): the page script never sees the key, a
second browser sees none of the first's runs, and the same browser keeps its library across a
reload and an app restart; a browser from before the cookie keeps its old library."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from kling_ui.hosting.identity import LIBRARY_COOKIE
from kling_ui.library import store as lib
from kling_ui.library.store import Library, Run, new_run_id
from kling_ui.ui.page import LIBRARY_STORAGE_KEY
from kling_ui.ui.visitor import owner_of
from tests.test_identity import OLD_BLOB, OLD_KEY, OLD_SECRET
from tests.test_ui_browser import RUN_TIMEOUT
from tests.test_ui_library_browser import new_page, open_library, start_text_run
from tests.ui_fixtures import launched_app, make_video

pytestmark = pytest.mark.browser


def gallery(pg: Page) -> str:
    open_library(pg)
    return pg.locator("#kling-library-gallery").inner_text()


def test_each_browser_keeps_its_own_library_behind_an_httponly_cookie(browser: Browser) -> None:
    data = Path(tempfile.mkdtemp(prefix="kling-identity-browser-"))
    # A folder from before the cookie: its old secret, and a run of a browser's old key.
    (data / lib.SECRET_NAME).write_text(OLD_SECRET, encoding="utf-8")
    old = Library(data)
    run_id = new_run_id()
    output = make_video(old.run_dir(run_id) / "output.mp4", seconds=1, size=(320, 240))
    old.create(Run(id=run_id, owner=owner_of(OLD_KEY), tab="text", status="succeeded",
                   prompt="An old harbour at dusk", created_at=0.0, output=str(output),
                   settings={"prompt": "An old harbour at dusk"}))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    with launched_app(data_dir=str(data), sim_seconds=0.5) as app:
        alice = new_page(browser, app, context)
        # That browser still holds its old key in localStorage: the page hands it over once,
        # forgets it, and shows the old run (a reload of its own).
        alice.evaluate("([k, v]) => localStorage.setItem(k, v)", [LIBRARY_STORAGE_KEY, OLD_BLOB])
        alice.reload()
        open_library(alice)
        expect(alice.locator("#kling-library-gallery")).to_contain_text("old harbour")
        assert alice.evaluate(f"localStorage.getItem('{LIBRARY_STORAGE_KEY}')") is None
        # The key is an HttpOnly cookie: the page's own script cannot read it.
        [cookie] = [c for c in context.cookies() if c["name"] == LIBRARY_COOKIE]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and len(cookie["value"]) >= 43
        assert cookie["value"] not in alice.evaluate("document.cookie")
        assert cookie["value"] not in alice.evaluate("JSON.stringify(localStorage)")

        start_text_run(alice, "Alice's paper lantern on the river")
        expect(alice.locator("#text-compare video.kc-b")).to_be_attached(timeout=RUN_TIMEOUT)
        # A second browser sees none of it.
        bob = new_page(browser, app)
        open_library(bob)
        expect(bob.locator("#kling-library-totals")).to_contain_text("0 runs")
        assert "lantern" not in gallery(bob) and "harbour" not in gallery(bob)
        bob.context.close()
        alice.reload()
        open_library(alice)
        expect(alice.locator("#kling-library-gallery")).to_contain_text("paper lantern")
    # The app restarts on the same folder: the same browser has the same library.
    with launched_app(data_dir=str(data), sim_seconds=0.5) as app:
        alice = new_page(browser, app, context)
        open_library(alice)
        expect(alice.locator("#kling-library-gallery")).to_contain_text("paper lantern")
        expect(alice.locator("#kling-library-gallery")).to_contain_text("old harbour")
    context.close()
