"""Sign-in quotas (issue #15), in headless Chromium: with sign-in required, runs on the host's key
need a Hugging Face sign-in, and the hourly limit counts per signed-in user, not per browser.

Off a Space, Gradio mocks the login (gradio/oauth.py): every browser that presses the button is
signed in as the same account (this machine's HF login, or our stand-in `LOCAL_USER` offline).
So user one signs in through that real button and redirect, and user two is injected by this test
alone: it writes the session cookie Gradio's login would have written, signed with the app's
session secret, which only code in the app's own process can compute. The app has no route or
switch for it.

Set KLING_SCREENSHOTS=<folder> to keep screenshots of the meter (1280x900 and 390x844).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import itsdangerous
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from kling_ui.ui.quota import LOCAL_USER, _local_oauth_info
from tests.test_ui_browser import RUN_TIMEOUT, open_tab
from tests.ui_fixtures import LaunchedApp, launched_app

pytestmark = [
    pytest.mark.browser,
    # Gradio says, rightly, that off a Space its login is a mock: that is what this test drives.
    pytest.mark.filterwarnings("ignore:Gradio does not support OAuth:UserWarning"),
]

SIGN_IN = "Sign in with Hugging Face to run on the host's key (or use your own key)"
SECOND_USER = "second-user"


@pytest.fixture(scope="module")
def app() -> Iterator[LaunchedApp]:
    with launched_app(sim_seconds=0.3, sign_in=True, runs_per_hour=2,
                      daily_budget_usd=20.0) as launched:
        yield launched


def session_cookie(username: str, url: str) -> dict[str, str]:
    """The cookie Gradio's login callback sets for `username` (Starlette's SessionMiddleware:
    base64 JSON signed with itsdangerous; the secret as gradio.oauth.attach_oauth makes it)."""
    from gradio import oauth

    secret = hashlib.sha256(((oauth.OAUTH_CLIENT_SECRET or "") + "-v4").encode()).hexdigest()
    data = base64.b64encode(json.dumps({"oauth_info": _local_oauth_info(username)}).encode())
    value = itsdangerous.TimestampSigner(secret).sign(data).decode()
    return {"name": "session", "value": value, "url": url}


def open_page(browser: Browser, app: LaunchedApp, size: tuple[int, int] = (1280, 900),
              user: str | None = None) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    if user is not None:
        context.add_cookies([session_cookie(user, app.url)])  # type: ignore[list-item]
    pg = context.new_page()
    pg.set_default_timeout(45_000)
    pg.goto(app.url)
    expect(pg.locator("#kling-banner")).to_contain_text("simulator")
    return context, pg


def meter(pg: Page) -> Any:
    return pg.locator("#kling-quota")


def run_text(pg: Page, prompt: str) -> None:
    open_tab(pg, "text", "Text to video")
    pg.locator("#prompt-text textarea").fill(prompt)
    expect(pg.locator("#tab-text .kling-ok", has_text="Ready to run")).to_be_visible()
    pg.locator("#text-run").click()


def run_text_to_the_end(pg: Page, app: LaunchedApp, prompt: str) -> None:
    """Run, and wait for this run's own row to succeed (the tab may still show the last one's
    "Done"), then for the page to show it."""
    before = {r.id for r in app.studio.library.runs()}
    run_text(pg, prompt)
    deadline = time.monotonic() + 2 * RUN_TIMEOUT / 1000
    new: list[Any] = []
    while not new and time.monotonic() < deadline:
        pg.wait_for_timeout(200)
        new = [r for r in app.studio.library.runs() if r.id not in before and not r.in_flight]
    progress = pg.locator("#text-progress")
    assert new, f"no run finished; the tab says: {progress.inner_text()}"
    assert new[0].status == "succeeded", new[0]
    expect(progress).to_contain_text("Done", timeout=RUN_TIMEOUT)
    expect(pg.locator("#text-compare video.kc-b")).to_be_attached(timeout=RUN_TIMEOUT)


def shoot(pg: Page, name: str) -> None:
    folder = os.environ.get("KLING_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        pg.evaluate("window.scrollTo(0, 0)")  # the meter is at the top; Run scrolled the page
        pg.wait_for_timeout(300)
        pg.screenshot(path=str(Path(folder) / name))


def test_two_signed_in_users_have_their_own_hourly_runs(browser: Browser,
                                                         app: LaunchedApp) -> None:
    # A sign-in reloads the page: on a busy 2-core box a load can take longer than 20 s.
    expect.set_options(timeout=45_000)
    runs_before = len(app.studio.library.runs())

    # Not signed in: the meter says how to run, and Run is off before any click, saying why
    # (issue #24: it said "Ready to run" and refused only after the click).
    ctx_a, a = open_page(browser, app)
    expect(meter(a)).to_have_text(SIGN_IN)
    open_tab(a, "text", "Text to video")
    a.locator("#prompt-text textarea").fill("A lighthouse at dusk")
    expect(a.locator("#text-checks")).to_contain_text(
        "Run is off: sign in with Hugging Face to run on the host's key")
    expect(a.locator("#text-checks")).not_to_contain_text("Ready to run")
    expect(a.locator("#text-run")).to_be_disabled()
    assert len(app.studio.library.runs()) == runs_before  # nothing journaled, nothing spent

    # User one signs in through Gradio's (mocked) login: the button, its redirect, a reload.
    login = a.locator("#kling-login")
    expect(login).to_have_text(re.compile("Sign in with Hugging Face"))
    login.click()
    expect(login).to_have_text(f"Sign out (@{LOCAL_USER})")
    expect(meter(a)).to_have_text(
        f"@{LOCAL_USER} · 2 of 2 runs left this hour · $20.00 of $20.00 left today")

    # A run counts down the meter (and the day's budget, which is the host's, shared).
    run_text_to_the_end(a, app, "A lighthouse at dusk")
    expect(meter(a)).to_contain_text(f"@{LOCAL_USER} · 1 of 2 runs left this hour · $")
    spent = app.studio.guard.spent_today()
    assert spent > 0
    expect(meter(a)).to_contain_text(f"${20.0 - spent:.2f} of $20.00 left today")
    shoot(a, "signin-meter.png")

    # User two, on a phone: their own two runs, whatever user one did.
    ctx_b, b = open_page(browser, app, size=(390, 844), user=SECOND_USER)
    expect(b.locator("#kling-login")).to_have_text(f"Sign out (@{SECOND_USER})")
    expect(meter(b)).to_contain_text(f"@{SECOND_USER} · 2 of 2 runs left this hour")
    run_text_to_the_end(b, app, "A paper boat on a rainy street")
    expect(meter(b)).to_contain_text(f"@{SECOND_USER} · 1 of 2 runs left this hour")
    shoot(b, "signin-meter-phone.png")

    # User one's second run uses up their hour; a third is refused and the meter says when.
    run_text_to_the_end(a, app, "A lighthouse at dawn")
    expect(meter(a)).to_contain_text(
        re.compile(rf"@{LOCAL_USER} · 0 of 2 runs left this hour \(next in about \d+ min\)"))
    expect(a.locator("#kling-quota.kling-quota-out")).to_be_visible()
    # ...and Run is off at once, saying when the next run frees.
    expect(a.locator("#text-checks")).to_contain_text(re.compile(
        r"Run is off: you have used your 2 runs this hour on the host's key; the next frees in "
        r"about \d+ min"))
    expect(a.locator("#text-run")).to_be_disabled()
    a.locator("#prompt-text textarea").fill("A lighthouse at night")  # the checks run again
    expect(a.locator("#text-checks")).to_contain_text("Run is off: you have used your 2 runs")
    expect(a.locator("#text-run")).to_be_disabled()

    # The same person in another browser is the same user: the count follows them, not the
    # connection. They can still run on their own key, which has no host quota (no meter).
    ctx_c, c = open_page(browser, app)
    c.locator("#kling-login").click()
    expect(c.locator("#kling-login")).to_have_text(f"Sign out (@{LOCAL_USER})")
    expect(meter(c)).to_contain_text(f"@{LOCAL_USER} · 0 of 2 runs left this hour")
    expect(meter(b)).to_contain_text(f"@{SECOND_USER} · 1 of 2 runs left this hour")

    # On a phone, the longest line ("... 0 of 2 runs left this hour (next in about N min)")
    # wraps inside the meter instead of running past the screen's edge.
    ctx_d, d = open_page(browser, app, size=(390, 844), user=LOCAL_USER)
    expect(meter(d)).to_contain_text(f"@{LOCAL_USER} · 0 of 2 runs left this hour (next in")
    width, inner = meter(d).evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert width <= inner, (width, inner)
    ctx_d.close()

    # Signing out: back to the sign-in line.
    c.locator("#kling-login").click()
    expect(c.locator("#kling-login")).to_have_text(re.compile("Sign in with Hugging Face"))
    expect(meter(c)).to_have_text(SIGN_IN)

    counted = {r.owner for r in app.studio.library.runs()}
    assert len(counted) >= 2  # each browser's own library got its runs
    hour = {u: len(app.studio.library.usage(f"hf:{u}", time.time()).hour_times)
            for u in (LOCAL_USER, SECOND_USER)}
    assert hour == {LOCAL_USER: 2, SECOND_USER: 1}
    for ctx in (ctx_a, ctx_b, ctx_c):
        ctx.close()
    expect.set_options(timeout=5_000)
