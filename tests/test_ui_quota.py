"""The host-key meter's words (kling_ui.ui.quota) and who a signed-in browser counts as."""

from __future__ import annotations

import re
import time
from html import unescape

import gradio as gr
import pytest
from starlette.requests import Request

from kling_ui.hosting.access import SIGN_IN_MESSAGE, Guard, signed_in_id
from kling_ui.ui.quota import _local_oauth_info, gated_checks, meter_html, run_gate
from kling_ui.ui.visitor import signed_in_user, visitor_id


class Clock:
    def __init__(self, t: float = 86400 * 50 + 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def text(html: str) -> str:
    """What a person reads: tags dropped, entities decoded."""
    return unescape(re.sub(r"<[^>]+>", "", html))


def test_no_limits_and_no_sign_in_show_nothing():
    assert meter_html(Guard(), "ip:1.2.3.4") == ""


def test_the_meter_counts_down_each_limit_that_is_set():
    clock = Clock()
    g = Guard(runs_per_hour=5, daily_budget_usd=5.0, clock=clock)
    assert text(meter_html(g, "ip:1.2.3.4")) == (
        "5 of 5 runs left this hour · $5.00 of $5.00 left today")
    g.admit("ip:1.2.3.4", 1.12)
    g.admit("ip:1.2.3.4", 2.76)
    g.admit("ip:5.6.7.8", 0.0)
    assert text(meter_html(g, "ip:1.2.3.4")) == (
        "3 of 5 runs left this hour · $1.12 of $5.00 left today")
    assert "kling-quota-out" not in meter_html(g, "ip:1.2.3.4")
    only_day = Guard(runs_per_day=2, clock=clock)
    only_day.admit("v", 0.1)
    only_day.admit("v", 0.1)
    html = meter_html(only_day, "v")
    assert text(html) == "0 of 2 runs left today" and "kling-quota-out" in html


def test_an_hour_used_up_says_when_the_next_run_frees():
    clock = Clock()
    g = Guard(runs_per_hour=1, clock=clock)
    g.admit("v", 0.1)
    clock.t += 60 * 23
    assert text(meter_html(g, "v")) == "0 of 1 runs left this hour (next in about 37 min)"


def test_with_sign_in_the_meter_asks_to_sign_in_then_shows_the_users_own_quota():
    g = Guard(sign_in=True, runs_per_hour=2, clock=Clock())
    assert text(meter_html(g, "ip:1.2.3.4")) == SIGN_IN_MESSAGE.rstrip(".")
    g.admit(signed_in_id("alice"), 0.1)
    assert text(meter_html(g, signed_in_id("alice"))) == "@alice · 1 of 2 runs left this hour"
    assert text(meter_html(g, signed_in_id("bob"))) == "@bob · 2 of 2 runs left this hour"
    no_limits = Guard(sign_in=True)
    assert text(meter_html(no_limits, signed_in_id("bob"))) == "@bob · no limits on the host's key"


def test_own_key_has_no_host_quota_so_no_meter():
    g = Guard(sign_in=True, runs_per_hour=2)
    assert meter_html(g, "ip:1.2.3.4", own_key=True) == ""
    assert meter_html(g, signed_in_id("alice"), own_key=True) == ""


def test_a_username_is_escaped():
    g = Guard(sign_in=True, runs_per_hour=2)
    assert "<script>" not in meter_html(g, signed_in_id("<script>x"))


def request_with(session: dict | None, client: str = "10.1.2.3") -> gr.Request:
    scope = {"type": "http", "method": "POST", "path": "/", "headers": [],
             "client": (client, 5000), "query_string": b""}
    if session is not None:
        scope["session"] = session
    return gr.Request(request=Request(scope))


def test_the_visitor_is_the_signed_in_user_else_the_address():
    signed = request_with({"oauth_info": _local_oauth_info("alice")})
    assert signed_in_user(signed) == "alice"
    assert visitor_id(signed, 0) == "hf:alice"
    assert visitor_id(request_with(None), 0) == "ip:10.1.2.3"  # sign-in off: no session at all
    assert visitor_id(request_with({}), 0) == "ip:10.1.2.3"  # signed out


@pytest.mark.parametrize("broken", [
    {"oauth_info": {**_local_oauth_info("alice"), "expires_at": time.time() - 5}},  # expired
    {"oauth_info": {"userinfo": {"preferred_username": ""}}},
    {"oauth_info": "garbage"},
])
def test_an_expired_or_odd_session_is_not_a_sign_in(broken):
    assert signed_in_user(request_with(broken)) is None
    assert visitor_id(request_with(broken), 0) == "ip:10.1.2.3"


def test_run_is_off_with_the_reason_and_when_a_run_frees():
    """Issue #24: with sign-in on, a visitor signed out or out of runs was told "Ready to run"
    and refused only after the click. The gate says why Run is off, from the same ledger."""
    clock = Clock()
    signed = Guard(sign_in=True, clock=clock)
    assert run_gate(signed, "ip:1.2.3.4").startswith("sign in with Hugging Face")
    assert run_gate(signed, "ip:1.2.3.4", own_key=True) == ""  # their own key: no host quota
    assert run_gate(signed, signed_in_id("ann")) == ""  # signed in, no limits
    hourly = Guard(sign_in=True, runs_per_hour=2, runs_per_day=5, clock=clock)
    ann = signed_in_id("ann")
    hourly.admit(ann, 0.5)
    assert run_gate(hourly, ann) == ""
    clock.t += 600
    hourly.admit(ann, 0.5)
    assert run_gate(hourly, ann) == (
        "you have used your 2 runs this hour on the host's key; the next frees in about 50 min "
        "(or enter your own Replicate key).")
    clock.t += 50 * 60 + 1  # the first run leaves the hour
    assert run_gate(hourly, ann) == ""
    daily = Guard(runs_per_day=2, clock=clock)
    daily.admit("ip:1.2.3.4", 0.5)
    daily.admit("ip:1.2.3.4", 0.5)
    assert run_gate(daily, "ip:1.2.3.4") == (  # 1 h 1 min into the UTC day
        "you have used your 2 runs today on the host's key; they reset at midnight UTC, in about "
        "23 h (or enter your own Replicate key).")
    broke = Guard(daily_budget_usd=1.0, clock=clock)
    broke.admit("ip:9.9.9.9", 1.0)
    assert run_gate(broke, "ip:1.2.3.4").startswith("today's budget for the host's key")


def test_the_one_line_ready_check_loses_its_claim_when_run_is_gated():
    checks = ('<div class="kling-checks"><p class="kling-ok kling-oneline">✓ Ready to run.'
              ' <span class="kling-note kling-counter">· 5 characters</span></p></div>')
    said = text(gated_checks(checks, "sign in first."))
    assert "Ready to run" not in said and said.startswith("Run is off: sign in first.")


def test_the_gated_checks_say_why_first_and_drop_ready_to_run():
    checks = ('<div class="kling-checks"><p class="kling-ok">✓ Ready to run.</p>'
              '<p class="kling-ok">✓ <b>The clip</b> will be cut</p></div>')
    said = text(gated_checks(checks, "sign in first."))
    assert said == "Run is off: sign in first.✓ The clip will be cut"
