"""Host protection: what keeps a public Space from spending its owner's credits for strangers.

Applies to runs on the host's key (or the host's simulator); a visitor who brings their own key
is limited only by Replicate. Limits: an optional password, runs per visitor per hour and per UTC
day, and a daily budget in estimated USD. Each refusal is an `AccessError` that says why and when
to come back. The clock is injected so tests need not wait.

Who a "visitor" is comes from the UI: a client address, an APP_PASSWORD login, or, when the host
requires a Hugging Face sign-in (issue #15), the signed-in user (`signed_in_id`). With sign-in
required, a run on the host's key from anyone not signed in is refused before anything else, so
the per-hour and per-day counts follow the person, not the connection.

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
from dataclasses import dataclass, replace
from typing import Protocol

from ..core.config import Secret
from ..core.errors import AccessError

HOUR = 3600.0
DAY = 86400.0
SIGNED_IN_PREFIX = "hf:"  # visitor ids of people signed in with Hugging Face
SIGN_IN_MESSAGE = "Sign in with Hugging Face to run on the host's key (or use your own key)."


def signed_in_id(username: str) -> str:
    """The visitor id of a Hugging Face user: what their host-key runs are counted under."""
    return SIGNED_IN_PREFIX + username


def is_signed_in(visitor_id: str) -> bool:
    return visitor_id.startswith(SIGNED_IN_PREFIX) and len(visitor_id) > len(SIGNED_IN_PREFIX)


@dataclass(frozen=True)
class Usage:
    """What a ledger holds for one visitor at one moment."""

    hour_times: tuple[float, ...] = ()  # this visitor's admissions in the last hour, oldest first
    runs_today: int = 0  # this visitor's admissions this UTC day
    spent_today: float = 0.0  # everyone's estimated spend this UTC day (the host's budget)


@dataclass(frozen=True)
class Quota:
    """What is left for one visitor on the host's key; None where there is no limit."""

    runs_hour_left: int | None
    runs_per_hour: int
    runs_day_left: int | None
    runs_per_day: int
    budget_left: float | None
    daily_budget_usd: float
    next_run_in: float | None  # seconds until the hourly window frees a run, when none is left


@dataclass(frozen=True)
class Reservation:
    """A run admitted against the limits; released with `Guard.release` if it never started."""

    visitor_id: str
    cost_usd: float
    at: float
    day: int
    admission: int = 0


class Ledger(Protocol):
    """Where admissions are kept (kling_ui.library.store.Library is one; `MemoryLedger` another)."""

    def admit(self, visitor: str, at: float, cost: float, check: Callable[[Usage], None], *,
              hour: float = HOUR, day_seconds: float = DAY) -> int: ...

    def usage(self, visitor: str, at: float, *, hour: float = HOUR,
              day_seconds: float = DAY) -> Usage: ...

    def release(self, admission_id: int) -> None: ...

    def settle(self, admission_id: int, cost: float) -> None: ...

    def spent_on(self, day: int) -> float: ...


class MemoryLedger:
    """Admissions in memory, for a Studio without a library (and for tests)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[int, tuple[str, float, int, float]] = {}
        self._next = 1

    def admit(self, visitor: str, at: float, cost: float, check: Callable[[Usage], None], *,
              hour: float = HOUR, day_seconds: float = DAY) -> int:
        day = int(at // day_seconds)
        with self._lock:
            check(self._usage(visitor, at, hour, day))
            admission, self._next = self._next, self._next + 1
            self._rows[admission] = (visitor, at, day, cost)
        return admission

    def usage(self, visitor: str, at: float, *, hour: float = HOUR,
              day_seconds: float = DAY) -> Usage:
        with self._lock:
            return self._usage(visitor, at, hour, int(at // day_seconds))

    def _usage(self, visitor: str, at: float, hour: float, day: int) -> Usage:
        rows = self._rows.values()
        return Usage(
            hour_times=tuple(sorted(t for v, t, _d, _c in rows if v == visitor and t > at - hour)),
            runs_today=sum(1 for v, _t, d, _c in rows if v == visitor and d == day),
            spent_today=sum(c for _v, _t, d, c in rows if d == day),
        )

    def release(self, admission_id: int) -> None:
        with self._lock:
            self._rows.pop(admission_id, None)

    def settle(self, admission_id: int, cost: float) -> None:
        with self._lock:
            row = self._rows.get(admission_id)
            if row is not None:
                self._rows[admission_id] = (*row[:3], cost)

    def spent_on(self, day: int) -> float:
        with self._lock:
            return round(sum(c for _v, _t, d, c in self._rows.values() if d == day), 2)


class Guard:
    """Per-visitor rate limits and daily budget for runs on the host's key. Thread-safe.

    `sign_in=True`: only visitors signed in with Hugging Face (`signed_in_id`) may run on the
    host's key, and the limits count per signed-in user.
    """

    def __init__(
        self,
        *,
        runs_per_hour: int = 0,
        runs_per_day: int = 0,
        daily_budget_usd: float = 0.0,
        sign_in: bool = False,
        password: Secret | None = None,
        clock: Callable[[], float] = time.time,
        ledger: Ledger | None = None,
    ) -> None:
        self.runs_per_hour = max(0, int(runs_per_hour))
        self.runs_per_day = max(0, int(runs_per_day))
        self.daily_budget_usd = max(0.0, float(daily_budget_usd))
        self.sign_in = bool(sign_in)
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

    @property
    def limited(self) -> bool:
        """True when any limit applies to runs on the host's key."""
        return bool(self.runs_per_hour or self.runs_per_day or self.daily_budget_usd)

    def needs_sign_in(self, visitor_id: str) -> bool:
        """True when this visitor must sign in before running on the host's key."""
        return self.sign_in and not is_signed_in(visitor_id)

    def check_sign_in(self, visitor_id: str) -> None:
        """Raise AccessError when the host requires a sign-in this visitor has not made."""
        if self.needs_sign_in(visitor_id):
            raise AccessError(SIGN_IN_MESSAGE + " API callers: send your own key in the "
                              "X-Replicate-Api-Token header.")

    def quota(self, visitor_id: str) -> Quota:
        """What `visitor_id` has left on the host's key now (for the meter; nothing reserved)."""
        now = self._clock()
        use = self.ledger.usage(visitor_id, now)
        hour_left = day_left = budget_left = next_in = None
        if self.runs_per_hour:
            hour_left = max(0, self.runs_per_hour - len(use.hour_times))
            if not hour_left and use.hour_times:
                # The oldest run that still counts leaves the window first.
                next_in = max(0.0, use.hour_times[-self.runs_per_hour] + HOUR - now)
        if self.runs_per_day:
            day_left = max(0, self.runs_per_day - use.runs_today)
        if self.daily_budget_usd:
            budget_left = round(max(0.0, self.daily_budget_usd - use.spent_today), 2)
        return Quota(hour_left, self.runs_per_hour, day_left, self.runs_per_day, budget_left,
                     self.daily_budget_usd, next_in)

    def day_resets_in(self) -> float:
        """Seconds until midnight UTC, when the per-day counts and the budget start again."""
        return DAY - self._clock() % DAY

    def admit(self, visitor_id: str, cost_usd: float) -> Reservation:
        """Reserve one run of `cost_usd` for `visitor_id`, or raise AccessError saying why not."""
        self.check_sign_in(visitor_id)
        now = self._clock()
        who = "signed-in user" if is_signed_in(visitor_id) else "visitor"

        def check(use: Usage) -> None:
            runs = use.hour_times
            if self.runs_per_hour and len(runs) >= self.runs_per_hour:
                wait_min = max(1, math.ceil((runs[-self.runs_per_hour] + HOUR - now) / 60))
                raise AccessError(
                    f"This demo allows {self.runs_per_hour} runs per {who} per hour on the "
                    f"host's key. Try again in about {wait_min} min, or enter your own "
                    "Replicate API key to run without this limit."
                )
            if self.runs_per_day and use.runs_today >= self.runs_per_day:
                raise AccessError(
                    f"This demo allows {self.runs_per_day} runs per {who} per day on the host's "
                    "key, and today's are used. They reset at midnight UTC; or enter your own "
                    "Replicate API key to run without this limit."
                )
            spent = use.spent_today
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

    def settle(self, reservation: Reservation, cost_usd: float) -> Reservation:
        """Lower a reservation made at a run's most (before its files were probed) to its
        estimate: the budget then counts what the run will cost (issue #20)."""
        cost = min(reservation.cost_usd, max(0.0, cost_usd))
        self.ledger.settle(reservation.admission, cost)
        return replace(reservation, cost_usd=cost)
