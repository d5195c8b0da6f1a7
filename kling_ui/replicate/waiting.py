"""The wire's waiting seam: a prediction polled (or held with `Prefer: wait`) to its end, densely
near its expected end, with progress reported and cancel honoured anywhere.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque

from ..core.config import Secret
from ..core.errors import (
    PredictionError,
)
from .predictions import Predictions, prediction_progress
from .protocol import (
    POLL_LEAD,
    POLL_TRAIL,
    Prediction,
    expected_end,
    poll_delay,
)
from .wire import OnUpdate, _notify

log = logging.getLogger(__name__)


TRIPS_KEPT = 8  # round trips remembered, for the one-way time polls are sent ahead by
BURST_GAP = 0.02  # GETs this far apart around the expected end: heard within a trip + 20 ms
BURST_MAX = 40  # GETs in one burst at most (Replicate allows 3000 GETs a minute per key)


class Waiting(Predictions):
    """Wait for a prediction to end; pause between polls, cancellable."""

    _trips: deque[float] | None = None

    @property
    def one_way(self) -> float:
        """About how long a request takes to reach Replicate: half the shortest recent round
        trip of a poll (0 until one is measured)."""
        return min(self._trips) / 2 if self._trips else 0.0

    def note_trip(self, seconds: float) -> None:
        if self._trips is None:
            self._trips = deque(maxlen=TRIPS_KEPT)
        self._trips.append(max(0.0, seconds))

    async def wait(
        self,
        prediction: Prediction,
        token: Secret,
        *,
        on_update: OnUpdate | None = None,
        deadline: float | None = None,
        cancel_event: asyncio.Event | None = None,
        expected_seconds: float | None = None,
        sent_at: float | None = None,
    ) -> Prediction:
        """Poll until the prediction ends; returns it when done, else raises PredictionError.

        `on_update` (sync or async) gets a `Progress` after every poll. When `cancel_event` is
        set or `deadline` seconds pass, the prediction is cancelled on the server first.
        `expected_seconds` (this mode's usual model time) makes polls sparse until just before
        the expected end and dense around it (`protocol.poll_delay`); `sent_at` is when the
        create was sent, on this client's clock (default: as this client recorded it, or now).
        """
        start = self._clock()
        sent = sent_at if sent_at is not None else self._claimed.get(prediction.id) or start
        current = prediction
        attempt = 0
        burst_done = False
        while True:
            elapsed = self._clock() - start
            await _notify(on_update, prediction_progress(current, elapsed))
            if current.is_done:
                return current
            if current.is_terminal:
                raise _ended_badly(current)
            if cancel_event is not None and cancel_event.is_set():
                stopped = await self._cancel_quietly(current, token)
                if stopped is not None and stopped.is_terminal:
                    # The last word is Replicate's answer to the cancel ("canceled"), not the
                    # "starting" of the poll before it.
                    await _notify(on_update, prediction_progress(stopped, self._clock() - start))
                raise PredictionError("Canceled: the prediction was stopped on Replicate.",
                                      prediction_id=current.id, status="canceled")
            if deadline is not None and elapsed >= deadline:
                await self._cancel_quietly(current, token)
                raise PredictionError(
                    f"Timed out: no result after {deadline:.0f} s, so the prediction was "
                    "canceled on Replicate. Try again later or raise KLING_JOB_TIMEOUT.",
                    prediction_id=current.id, status="timed out")
            now = self._clock()
            end_at = expected_end(current, sent_at=sent, now=now, expected_seconds=expected_seconds)
            if end_at is not None:
                # Sent a trip early, a poll arrives as the model ends: heard one trip after it
                # (issue #22), not two.
                end_at -= self.one_way
                # A burst's first GETs may open connections: one more round trip early.
                early = 2 * self.one_way
                if not burst_done and -POLL_TRAIL <= end_at - now <= POLL_LEAD + early:
                    burst_done = True
                    current = await self._burst(current, token, end_at + POLL_TRAIL,
                                                cancel_event)
                    continue
                end_at -= early
            delay = poll_delay(now, attempt, end_at, self._rng)
            if deadline is not None:
                delay = max(0.0, min(delay, deadline - elapsed))
            attempt += 1
            await self._pause(delay, cancel_event)
            if cancel_event is not None and cancel_event.is_set():
                continue
            asked = self._clock()
            current = await self.get_prediction(current, token)
            self.note_trip(self._clock() - asked)

    async def _burst(self, current: Prediction, token: Secret, stop_at: float,
                     cancel_event: asyncio.Event | None) -> Prediction:
        """GETs sent BURST_GAP apart without waiting for each other's answers (each on a
        connection of its own), from just before the expected end until `stop_at`: one arrives
        at Replicate within BURST_GAP of the end, so the end is heard one trip + BURST_GAP
        after it, where a poll after each answer (a round trip apart) would hear it up to a
        round trip later (issue #22: 183 ms at 40 ms each way for a 60 s model). At most
        BURST_MAX GETs, once per wait; returns the first ended answer, else the newest one."""
        pending: set[asyncio.Future[tuple[float, Prediction]]] = set()
        latest, latest_at = current, -math.inf
        sent = 0
        next_at = self._clock()
        try:
            while True:
                now = self._clock()
                sending = sent < BURST_MAX and now < stop_at and not (
                    cancel_event is not None and cancel_event.is_set())
                if sending and now >= next_at:
                    pending.add(asyncio.ensure_future(self._timed_get(current, token, now)))
                    sent += 1
                    next_at = now + BURST_GAP
                if not pending:
                    return latest
                wait_s = max(0.0, next_at - self._clock()) if sending else None
                done, pending = await asyncio.wait(pending, timeout=wait_s,
                                                   return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    at, got = task.result()
                    if got.is_done or got.is_terminal:
                        return got
                    if at > latest_at:
                        latest, latest_at = got, at
        finally:
            for task in pending:
                task.cancel()

    async def _timed_get(self, current: Prediction, token: Secret,
                         asked: float) -> tuple[float, Prediction]:
        got = await self.get_prediction(current, token)
        self.note_trip(self._clock() - asked)
        return asked, got


def _ended_badly(p: Prediction) -> PredictionError:
    if p.status == "failed":
        text = (p.error or "no reason given").strip()
        return PredictionError(f"The prediction failed on Replicate: {text}",
                               prediction_id=p.id, status="failed")
    if p.status == "aborted":
        return PredictionError(
            "The prediction was aborted: its deadline (Cancel-After) passed before it started "
            "running, usually because Replicate was busy. Try again.",
            prediction_id=p.id, status="aborted")
    return PredictionError("The prediction was canceled on Replicate before it finished.",
                           prediction_id=p.id, status="canceled")
