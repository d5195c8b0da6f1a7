"""Host protection: what keeps a public Space from spending its owner's credits for strangers.

Applies to runs on the host's key (or the host's simulator); a visitor who brings their own key
is limited only by Replicate. Limits: an optional password, runs per visitor per hour, and a daily
budget in estimated USD. Each refusal is an `AccessError` that says why and when to come back.
The clock is injected so tests need not wait.

What was admitted is kept in a ledger: the library's SQLite table when the Studio has one, so the
budget and the per-visitor counts survive a restart (and two processes on one folder share them);
otherwise an in-memory one.
"""

from __future__ import annotations

import hmac
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .config import Secret
from .errors import AccessError

HOUR = 3600.0
DAY = 86400.0


@dataclass(frozen=True)
class Reservation:
    """A run admitted against the limits; released with `Guard.release` if it never started."""

    visitor_id: str
    cost_usd: float
    at: float
    day: int
    admission: int = 0


class Ledger(Protocol):
    """Where admissions are kept (kling_ui.library.Library is one; `MemoryLedger` another)."""

    def admit(self, visitor: str, at: float, cost: float,
              check: Callable[[list[float], float], None], *, hour: float = HOUR,
              day_seconds: float = DAY) -> int: ...

    def release(self, admission_id: int) -> None: ...

    def spent_on(self, day: int) -> float: ...


class MemoryLedger:
    """Admissions in memory, for a Studio without a library (and for tests)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[int, tuple[str, float, int, float]] = {}
        self._next = 1

    def admit(self, visitor: str, at: float, cost: float,
              check: Callable[[list[float], float], None], *, hour: float = HOUR,
              day_seconds: float = DAY) -> int:
        day = int(at // day_seconds)
        with self._lock:
            times = sorted(t for v, t, _d, _c in self._rows.values() if v == visitor and t > at - hour)
            spent = sum(c for _v, _t, d, c in self._rows.values() if d == day)
            check(times, spent)
            admission, self._next = self._next, self._next + 1
            self._rows[admission] = (visitor, at, day, cost)
        return admission

    def release(self, admission_id: int) -> None:
        with self._lock:
            self._rows.pop(admission_id, None)

    def spent_on(self, day: int) -> float:
        with self._lock:
            return round(sum(c for _v, _t, d, c in self._rows.values() if d == day), 2)


class Guard:
    """Per-visitor rate limit and daily budget for runs on the host's key. Thread-safe."""

    def __init__(
        self,
        *,
        runs_per_hour: int = 0,
        daily_budget_usd: float = 0.0,
        password: Secret | None = None,
        clock: Callable[[], float] = time.time,
        ledger: Ledger | None = None,
    ) -> None:
        self.runs_per_hour = max(0, int(runs_per_hour))
        self.daily_budget_usd = max(0.0, float(daily_budget_usd))
        self._password = password
        self._clock = clock
        self.ledger: Ledger = ledger or MemoryLedger()

    @property
    def needs_password(self) -> bool:
        return bool(self._password)

    def check_password(self, attempt: str | None) -> bool:
        """True when no password is set, or `attempt` matches it (constant-time compare)."""
        if not self._password:
            return True
        return hmac.compare_digest((attempt or "").encode(), self._password.reveal().encode())

    def spent_today(self) -> float:
        return self.ledger.spent_on(int(self._clock() // DAY))

    def admit(self, visitor_id: str, cost_usd: float) -> Reservation:
        """Reserve one run of `cost_usd` for `visitor_id`, or raise AccessError saying why not."""
        now = self._clock()

        def check(runs: list[float], spent: float) -> None:
            if self.runs_per_hour and len(runs) >= self.runs_per_hour:
                wait_min = max(1, math.ceil((runs[0] + HOUR - now) / 60))
                raise AccessError(
                    f"This demo allows {self.runs_per_hour} runs per visitor per hour on the "
                    f"host's key. Try again in about {wait_min} min, or enter your own "
                    "Replicate API key to run without this limit."
                )
            if self.daily_budget_usd and spent + cost_usd > self.daily_budget_usd + 1e-9:
                left = max(0.0, self.daily_budget_usd - spent)
                raise AccessError(
                    f"Today's budget for this demo is used up (${left:.2f} of "
                    f"${self.daily_budget_usd:.2f} left; this run is estimated at ${cost_usd:.2f}). "
                    "It resets at midnight UTC; or enter your own Replicate API key."
                )

        admission = self.ledger.admit(visitor_id, now, cost_usd, check)
        return Reservation(visitor_id, cost_usd, now, int(now // DAY), admission)

    def release(self, reservation: Reservation) -> None:
        """Give back a run that never reached Replicate (refused input, connection error)."""
        self.ledger.release(reservation.admission)
