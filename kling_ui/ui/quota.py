"""Sign-in and the host-key meter (issue #15): who may run on the host's key, and what is left.

The meter is one line above the tabs, for runs on the host's key: "2 of 5 runs left this hour ·
$1.12 of $5.00 left today" (only the limits that are set; nothing when there are none and no
sign-in is required; nothing for a visitor using their own key, who has no host quota). It is
rendered from the same ledger that admits runs (`Guard.quota`), for the same visitor id the run
path uses (`visitor.visitor_id`), so it cannot disagree with what Run does.

Sign-in (KLING_SIGN_IN=1, or a Space whose README says `hf_oauth: true`) puts Gradio's
`gr.LoginButton` beside the meter. Signed in, the limits count per Hugging Face user (the
`gr.OAuthProfile` username, read from the same session) instead of per connection; not signed
in, runs on the host's key are refused with `access.SIGN_IN_MESSAGE`.

Off a Space Gradio mocks the login (gradio/oauth.py, `_add_mocked_oauth_routes`): the button
signs every browser in as the one account this machine is logged in to (`hf auth login`), looked
up with `whoami` when the app starts, and without such a login Gradio refuses to start.
`allow_local_sign_in` keeps that, and falls back to a stand-in user (`LOCAL_USER`) when there is
no login or no network, so sign-in can be tried on a laptop. Locally this is a mock, not
authentication: Gradio signs its session cookie with a fixed secret when OAUTH_CLIENT_SECRET is
unset. On a Space the real OAuth flow and the Space's secret are used.
"""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass
from typing import Any

import gradio as gr

from ..core.config import Settings
from ..hosting.access import SIGN_IN_MESSAGE, SIGNED_IN_PREFIX, Guard, is_signed_in
from ..i18n import from_english, t
from .common import esc, guarded
from .visitor import Session, visitor_id

log = logging.getLogger("kling_ui.ui")

LOCAL_USER = "local-user"  # who the local mock signs in when this machine has no HF login
LOGOUT_LABEL = "Sign out (@{})"


def meter_html(guard: Guard, visitor: str, *, own_key: bool = False) -> str:
    """The meter for `visitor` on the host's key, as HTML ("" when there is nothing to say)."""
    if own_key:
        return ""  # their own key: Replicate's limits only, none of the host's
    if guard.needs_sign_in(visitor):
        return (f'<div class="kling-quota kling-quota-signin" id="kling-quota" role="status">'
                f"{esc(from_english(SIGN_IN_MESSAGE).rstrip('.'))}</div>")
    user = visitor[len(SIGNED_IN_PREFIX):] if is_signed_in(visitor) else ""
    if not guard.limited and not (guard.sign_in and user):
        return ""
    q = guard.quota(visitor)
    parts: list[str] = []
    out = False
    if q.runs_hour_left is not None:
        text = t("meter.runs_hour", left=q.runs_hour_left, total=q.runs_per_hour)
        if q.runs_hour_left == 0 and q.next_run_in is not None:
            text += t("meter.next_in", mins=max(1, round(q.next_run_in / 60)))
        parts.append(text)
        out = out or q.runs_hour_left == 0
    if q.runs_day_left is not None:
        parts.append(t("meter.runs_day", left=q.runs_day_left, total=q.runs_per_day))
        out = out or q.runs_day_left == 0
    if q.budget_left is not None:
        parts.append(t("meter.budget", left=q.budget_left, total=q.daily_budget_usd))
        out = out or q.budget_left <= 0
    if not parts:
        parts.append(t("meter.no_limits"))
    body = " · ".join(f'<span class="kling-quota-part">{esc(p)}</span>' for p in parts)
    who = f'<b class="kling-quota-user">@{esc(user)}</b> · ' if user else ""
    cls = "kling-quota kling-quota-out" if out else "kling-quota"
    title = t("meter.title")
    return (f'<div class="{cls}" id="kling-quota" role="status" title="{esc(title)}">'
            f"{who}{body}</div>")


def run_gate(guard: Guard, visitor: str, *, own_key: bool = False) -> str:
    """Why Run is off for `visitor` on the host's key, with when a run frees ("" when it may
    run). The same ledger `Guard.admit` reads, so Run is off exactly when a press would be
    refused (issue #24: Run said "Ready to run" and refused only after the click)."""
    if own_key:
        return ""
    if guard.needs_sign_in(visitor):
        return t("gate.sign_in")
    if not guard.limited:
        return ""
    q = guard.quota(visitor)
    hours = max(1, math.ceil(guard.day_resets_in() / 3600))
    if q.runs_hour_left == 0:
        mins = max(1, math.ceil((q.next_run_in or 0.0) / 60))
        return t("gate.hour", n=q.runs_per_hour, mins=mins)
    if q.runs_day_left == 0:
        return t("gate.day", n=q.runs_per_day, hours=hours)
    if q.budget_left is not None and q.budget_left <= 0:
        return t("gate.budget", hours=hours)
    return ""


def gated_checks(checks: str, reason: str) -> str:
    """The checks box with the reason Run is off first, and its "Ready to run" line gone."""
    for ready in (t("checks.ready"), t("checks.ready_fix")):
        checks = checks.replace(f'<p class="kling-ok">{esc(ready)}</p>', "")
    # The one-line "all is well" form (issue #23) keeps its prompt counter, without the claim.
    checks = re.sub(r'<p class="kling-ok kling-oneline">' + re.escape(esc(t("checks.ready")))
                    + r"(.*?)</p>", r'<p class="kling-note">\1</p>', checks)
    note = (f'<p class="kling-err kling-why kling-gate" role="status">'
            f'{esc(t("gate.off", reason=reason))}</p>')
    head = '<div class="kling-checks">'
    return (checks.replace(head, head + note, 1) if head in checks
            else f"{head}{note}</div>{checks}")


def gate_handler(studio: Any) -> Any:
    """After every check of a tab, and after its run: Run off, with why, for a visitor the host
    would refuse (signed out, or out of runs); nothing changes otherwise."""

    @guarded
    def gate(s: Session, checks: str | None, request: gr.Request) -> list[Any]:
        reason = run_gate(studio.guard, visitor_id(request, studio.settings.trusted_proxies),
                          own_key=bool(s.key))
        if not reason:
            return [gr.skip(), gr.skip()]
        return [gr.Button(interactive=False), gated_checks(checks or "", reason)]

    return gate


@dataclass
class QuotaUI:
    meter: gr.HTML
    login: gr.LoginButton | None


def build_quota(settings: Settings, guard: Guard) -> QuotaUI:
    """The meter, and the sign-in button when sign-in is required (in a row, where called)."""
    # Limits and sign-in are fixed for the process: with neither, the meter never has anything
    # to say and takes no room. Its text comes on page load (it needs the visitor).
    shown = settings.sign_in or guard.limited
    with gr.Row(elem_id="kling-quota-row", equal_height=True, visible=shown):
        meter = gr.HTML("", elem_id="kling-quota-html", padding=False, js_on_load=None, scale=1)
        login = None
        if settings.sign_in:
            allow_local_sign_in()
            login = gr.LoginButton(logout_value=LOGOUT_LABEL, size="md", scale=0,
                                   min_width=240, elem_id="kling-login")
    return QuotaUI(meter, login)


def meter_handler(studio: Any) -> Any:
    """The event handler that renders the meter for this browser (page load, after a run,
    after the key changes). Signing in or out reloads the page, so load covers it."""

    @guarded
    def meter(s: Session, request: gr.Request) -> str:
        return meter_html(studio.guard, visitor_id(request, studio.settings.trusted_proxies), own_key=bool(s.key))

    return meter


def allow_local_sign_in() -> None:
    """Off a Space, let Gradio's mocked login work without an HF login or network (see the
    module docstring). Does nothing on a Space, where the real OAuth flow runs."""
    from gradio import oauth
    from gradio.utils import get_space

    if get_space() is not None or getattr(oauth._get_mocked_oauth_info, "_kling", False):
        return
    gradio_mock = oauth._get_mocked_oauth_info

    def mocked_oauth_info() -> dict[str, Any]:
        try:
            return dict(gradio_mock())
        except Exception as exc:  # noqa: BLE001 - no HF login, or offline: use a stand-in
            log.warning("sign-in is mocked locally as @%s (%s)", LOCAL_USER,
                        str(exc).split(".")[0])
            return _local_oauth_info(LOCAL_USER)

    mocked_oauth_info._kling = True  # type: ignore[attr-defined]
    oauth._get_mocked_oauth_info = mocked_oauth_info


def _local_oauth_info(username: str) -> dict[str, Any]:
    """What Gradio's mock puts in the session, for a stand-in user (no token, no picture)."""
    now = int(time.time())
    return {
        "access_token": "mock-oauth-token-for-local-dev",
        "token_type": "bearer",
        "expires_in": 3600,
        "scope": "openid profile",
        "expires_at": now + 8 * 3600,
        "userinfo": {
            "sub": "0", "name": username, "preferred_username": username,
            "profile": f"https://huggingface.co/{username}", "picture": "",
            "iss": "https://huggingface.co", "iat": now, "exp": now + 8 * 3600,
        },
    }
