"""Speculative upload in the page (issue #22 part 5): a clip dropped in the Edit tab goes up while
the person types, and Run creates the prediction with that upload instead of a second one."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests import media_factory
from tests.ui_fixtures import LaunchedApp, launched_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]
RUN_TIMEOUT = 90_000


@pytest.fixture(scope="module")
def app() -> Iterator[LaunchedApp]:
    with launched_app(sim_seconds=0.3) as launched:
        yield launched


def test_a_dropped_clip_is_uploaded_once_and_run_uses_that_upload(
        app: LaunchedApp, browser: Browser, tmp_path: Path) -> None:
    clip = Path(media_factory.make_video(tmp_path / "speculated.mp4", seconds=4,
                                         extra=["-b:v", "2M"]))
    assert clip.stat().st_size > 256 * 1024  # uploaded, not sent inline
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(60_000)
    page = ctx.new_page()
    page.goto(app.url)
    page.get_by_role("tab", name="Edit video", exact=True).click()
    page.locator("#edit-video input[type=file]").set_input_files([str(clip)])
    expect(page.locator("#tab-edit .kling-card-html").first).to_contain_text("4.0 s")

    app.studio.simulator_url()  # started on first use (app.main warms it): read its requests
    state = app.studio._sim.state
    end = time.monotonic() + 30
    while not state.files:  # the upload starts once the card is settled, before any Run
        assert time.monotonic() < end, "no speculative upload after the card"
        time.sleep(0.1)
    (file_id,) = state.files
    assert state.files[file_id].size == clip.stat().st_size
    assert not state.creates()

    page.locator("#prompt-edit textarea").fill("Make <<<video_1>>> a watercolour")
    expect(page.locator("#tab-edit .kling-ok", has_text="Ready to run")).to_be_visible()
    page.locator("#edit-run").click()
    expect(page.locator("#edit-compare video.kc-b")).to_be_attached(timeout=RUN_TIMEOUT)

    assert len(state.requests_to("/v1/files", "POST")) == 1  # typing and Run uploaded nothing
    (create,) = state.creates()
    assert create.body["input"]["reference_video"].endswith(f"/v1/files/{file_id}")
    end = time.monotonic() + 10
    while file_id not in state.deleted_files:  # deleted after the run, as a run's own upload
        assert time.monotonic() < end, "the used upload was not deleted"
        time.sleep(0.1)
    ctx.close()
