"""Host protection: password, runs per visitor per hour, daily budget; each refusal says why."""

from __future__ import annotations

import re

import pytest

from kling_ui.core.config import Secret
from kling_ui.core.errors import AccessError
from kling_ui.hosting.access import Guard


class Clock:
    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_no_limits_by_default():
    g = Guard()
    for _ in range(100):
        g.admit("v", 1.0)
    assert g.check_password("anything")


def test_runs_per_hour_per_visitor():
    clock = Clock()
    g = Guard(runs_per_hour=2, clock=clock)
    g.admit("a", 0.5)
    g.admit("a", 0.5)
    with pytest.raises(AccessError, match=r"2 runs per visitor per hour.*about 60 min"):
        g.admit("a", 0.5)
    g.admit("b", 0.5)  # another visitor is not affected
    clock.t += 3601
    g.admit("a", 0.5)  # the window slid


def test_daily_budget_and_release():
    clock = Clock(86400 * 10 + 5)
    g = Guard(daily_budget_usd=1.0, clock=clock)
    r = g.admit("a", 0.56)
    with pytest.raises(AccessError, match=r"budget .* used up \(\$0\.44 of \$1\.00 left"):
        g.admit("b", 0.56)
    g.release(r)  # the run never reached Replicate
    g.admit("b", 0.56)
    assert g.spent_today() == 0.56
    clock.t += 86400  # next day
    g.admit("c", 0.9)


def test_password_is_compared_and_never_shown():
    g = Guard(password=Secret("hunter22"))
    assert g.needs_password
    assert not g.check_password("hunter2")
    assert not g.check_password(None)
    assert g.check_password("hunter22")
    assert "hunter22" not in repr(g.__dict__)


# -- sign-in quotas (issue #15) --------------------------------------------------------------

def ledgers(tmp_path) -> list:  # noqa: ANN001
    from kling_ui.hosting.access import MemoryLedger
    from kling_ui.library.store import Library

    return [MemoryLedger(), Library(tmp_path / "data")]


@pytest.mark.parametrize("kind", [0, 1], ids=["memory", "sqlite"])
def test_runs_per_day_count_per_visitor_and_reset_at_midnight_utc(tmp_path, kind):
    clock = Clock(86400 * 20 + 3600)
    g = Guard(runs_per_day=3, clock=clock, ledger=ledgers(tmp_path)[kind])
    for _ in range(3):
        g.admit("a", 0.1)
        clock.t += 7200  # hours apart: only the day limit applies
    with pytest.raises(AccessError, match=r"3 runs per visitor per day.*midnight UTC"):
        g.admit("a", 0.1)
    assert g.quota("a").runs_day_left == 0
    assert g.quota("b").runs_day_left == 3  # another visitor is not affected
    g.admit("b", 0.1)
    clock.t = 86400 * 21 + 10  # the next UTC day
    assert g.quota("a").runs_day_left == 3
    g.admit("a", 0.1)


@pytest.mark.parametrize("kind", [0, 1], ids=["memory", "sqlite"])
def test_with_sign_in_only_signed_in_users_run_and_each_has_their_own_limits(tmp_path, kind):
    from kling_ui.hosting.access import SIGN_IN_MESSAGE, signed_in_id

    clock = Clock(86400 * 30 + 100)
    g = Guard(sign_in=True, runs_per_hour=2, runs_per_day=3, clock=clock,
              ledger=ledgers(tmp_path)[kind])
    for anonymous in ("ip:10.0.0.1", "user:admin", "hf:", "local"):
        assert g.needs_sign_in(anonymous)
        with pytest.raises(AccessError, match=re.escape(SIGN_IN_MESSAGE)):
            g.admit(anonymous, 0.1)
    alice, bob = signed_in_id("alice"), signed_in_id("bob")
    assert not g.needs_sign_in(alice)
    # Alice from two browsers (two addresses) is one person: two runs in all, not two each.
    g.admit(alice, 0.1)
    g.admit(alice, 0.1)
    with pytest.raises(AccessError, match=r"2 runs per signed-in user per hour"):
        g.admit(alice, 0.1)
    assert g.quota(alice).runs_hour_left == 0
    assert g.quota(bob).runs_hour_left == 2  # Bob's quota is his own
    g.admit(bob, 0.1)
    clock.t += 3601  # Alice's hour slides; her day does not
    g.admit(alice, 0.1)
    clock.t += 3601
    with pytest.raises(AccessError, match=r"3 runs per signed-in user per day"):
        g.admit(alice, 0.1)
    q = g.quota(bob)
    assert (q.runs_hour_left, q.runs_day_left) == (2, 2)


def test_quota_says_what_is_left_and_when_the_next_run_frees_up():
    clock = Clock(86400 * 40 + 500)
    g = Guard(runs_per_hour=2, daily_budget_usd=5.0, clock=clock)
    q = g.quota("v")
    assert (q.runs_hour_left, q.runs_day_left, q.budget_left, q.next_run_in) == (2, None, 5.0, None)
    g.admit("v", 1.12)
    clock.t += 600
    g.admit("w", 2.76)
    g.admit("v", 0.0)
    q = g.quota("v")
    assert (q.runs_hour_left, q.budget_left) == (0, 1.12)
    assert q.next_run_in == pytest.approx(3000)  # the first run leaves the hour 50 min from now
    r = g.admit("x", 0.5)
    g.release(r)  # given back: the meter counts it no more
    assert g.quota("x").budget_left == 1.12


def test_without_limits_or_sign_in_the_guard_is_not_limited():
    assert not Guard().limited and not Guard().needs_sign_in("ip:1.2.3.4")
    assert Guard(runs_per_day=1).limited
    q = Guard().quota("v")
    assert (q.runs_hour_left, q.runs_day_left, q.budget_left) == (None, None, None)


@pytest.mark.parametrize(("env", "expected"), [
    ({}, False),
    ({"KLING_SIGN_IN": "1"}, True),
    ({"KLING_SIGN_IN": "true"}, True),
    ({"OAUTH_CLIENT_ID": "abc"}, True),  # a Space with `hf_oauth: true`
    ({"OAUTH_CLIENT_ID": "abc", "KLING_SIGN_IN": "0"}, False),  # the host turned it off
])
def test_sign_in_setting(env, expected):
    from kling_ui.core.config import load_settings

    assert load_settings({"KLING_RUNS_PER_DAY": "4", **env}).sign_in is expected
    assert load_settings({"KLING_RUNS_PER_DAY": "4"}).runs_per_day == 4


def test_a_bad_sign_in_setting_says_what_is_accepted():
    from kling_ui.core.config import load_settings

    with pytest.raises(ValueError, match="KLING_SIGN_IN must be 1 or 0"):
        load_settings({"KLING_SIGN_IN": "maybe"})
