"""Host protection: what keeps a public Space from spending its owner's credits for strangers.

Applies to runs on the host's key (or the host's simulator); a visitor who brings their own key
is limited only by Replicate. Limits: an optional password, runs per visitor per hour, and a daily
budget in estimated USD. Each refusal is an `AccessError` that says why and when to come back.
The clock is injected so tests need not wait.
"""

from __future__ import annotations

import hmac
import math
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass

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


class Guard:
    """Per-visitor rate limit and daily budget for runs on the host's key. Thread-safe."""

    def __init__(
        self,
        *,
        runs_per_hour: int = 0,
        daily_budget_usd: float = 0.0,
        password: Secret | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.runs_per_hour = max(0, int(runs_per_hour))
        self.daily_budget_usd = max(0.0, float(daily_budget_usd))
        self._password = password
        self._clock = clock
        self._lock = threading.Lock()
        self._runs: dict[str, deque[float]] = defaultdict(deque)
        self._spent: dict[int, float] = defaultdict(float)

    @property
    def needs_password(self) -> bool:
        return bool(self._password)

    def check_password(self, attempt: str | None) -> bool:
        """True when no password is set, or `attempt` matches it (constant-time compare)."""
        if not self._password:
            return True
        return hmac.compare_digest((attempt or "").encode(), self._password.reveal().encode())

    def spent_today(self) -> float:
        with self._lock:
            return round(self._spent[int(self._clock() // DAY)], 2)

    def admit(self, visitor_id: str, cost_usd: float) -> Reservation:
        """Reserve one run of `cost_usd` for `visitor_id`, or raise AccessError saying why not."""
        now = self._clock()
        day = int(now // DAY)
        with self._lock:
            runs = self._runs[visitor_id]
            while runs and runs[0] <= now - HOUR:
                runs.popleft()
            if self.runs_per_hour and len(runs) >= self.runs_per_hour:
                wait_min = max(1, math.ceil((runs[0] + HOUR - now) / 60))
                raise AccessError(
                    f"This demo allows {self.runs_per_hour} runs per visitor per hour on the "
                    f"host's key. Try again in about {wait_min} min, or enter your own "
                    "Replicate API key to run without this limit."
                )
            spent = self._spent[day]
            if self.daily_budget_usd and spent + cost_usd > self.daily_budget_usd + 1e-9:
                left = max(0.0, self.daily_budget_usd - spent)
                raise AccessError(
                    f"Today's budget for this demo is used up (${left:.2f} of "
                    f"${self.daily_budget_usd:.2f} left; this run is estimated at ${cost_usd:.2f}). "
                    "It resets at midnight UTC; or enter your own Replicate API key."
                )
            runs.append(now)
            self._spent[day] = spent + cost_usd
        return Reservation(visitor_id, cost_usd, now, day)

    def release(self, reservation: Reservation) -> None:
        """Give back a run that never reached Replicate (refused input, connection error)."""
        with self._lock:
            runs = self._runs[reservation.visitor_id]
            try:
                runs.remove(reservation.at)
            except ValueError:
                pass
            self._spent[reservation.day] = max(0.0, self._spent[reservation.day] - reservation.cost_usd)
