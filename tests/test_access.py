"""Host protection: password, runs per visitor per hour, daily budget; each refusal says why."""

from __future__ import annotations

import pytest

from kling_ui.access import Guard
from kling_ui.config import Secret
from kling_ui.errors import AccessError


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
