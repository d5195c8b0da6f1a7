"""The line: runs wait here, first come first served, for one of the app's `KLING_CONCURRENCY` slots.

Every new run goes through `Studio.start` (the tabs and the named API endpoints alike), which puts
it in this one line (`join`) before handing it to the runner; on the runner's loop the job then
waits for its turn (`slot`) and holds the slot from its first check to its last byte. So the
app itself decides who waits, and can say where each waiting run stands: `position()` (runs
ahead of it) and `estimate()` (about how long until it starts). Gradio's own queue no longer holds
runs back: a handler that only watches a run costs nothing.

A waiting run keeps its place whatever its page does (a reload reattaches to the same handle);
Cancel takes it out of the line before anything was sent to Replicate. Runs the resumer picks
up after a restart never join: their predictions are already running on Replicate.

Thread-safety: `join`, `position`, `estimate` and `snapshot` may be called from any thread;
`slot` runs on the runner's loop, which is the only place the line moves.
"""

from __future__ import annotations

import asyncio
import heapq
import random
import statistics
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

from ..core.errors import AccessError, PredictionError
from ..replicate.protocol import RecentTimes

CANCELED_IN_LINE = ("Canceled while it waited in line: nothing was sent to Replicate, so nothing "
                    "was billed.")


class Waiter(Protocol):
    """What the line needs of a run waiting in it (the runner's `RunHandle` is one). The pool
    names it here, so the runner depends on the pool and never the other way (issue #21)."""

    run_id: str
    tab: str
    cancel_requested: bool
    line: Pool | None  # set by `join`: the line it waits in

    @property
    def cancel_event(self) -> asyncio.Event: ...


@dataclass(frozen=True)
class LineSpot:
    """Where one waiting run stands: `ahead` runs before it, `wait` seconds (None: unknown).

    `late`: seconds past the time the slot it waits for should have freed (the run holding it
    is taking longer than its mode's usual time; issue #24: the page said "about 10 s" for
    minutes), 0 when on time. `waited`: seconds it has been in the line."""

    ahead: int
    wait: float | None
    late: float = 0.0
    waited: float = 0.0


def estimate_wait(running_left: Sequence[float], ahead: Sequence[float], slots: int) -> float:
    """Seconds until a slot frees for the next run after `ahead`.

    Each of the `slots` slots is free after the time left of the run holding it
    (`running_left`; an idle slot at once). The runs ahead start in order, each on the slot
    that frees first, and hold it for their own expected time; the answer is when the first
    slot frees after them. With every slot busy and equal times this is the familiar "jobs
    ahead x run time / slots" plus the time left of the runs now running.
    """
    slots = max(1, slots)
    free = sorted(max(0.0, t) for t in running_left)[:slots]
    free += [0.0] * (slots - len(free))
    heapq.heapify(free)
    for seconds in ahead:
        heapq.heappush(free, heapq.heappop(free) + max(0.0, seconds))
    return free[0]


# Runs of one mode take about its usual time, give or take: the wait for the first of 4 busy
# slots is shorter than any one run's usual time left (issue #24: a plain "usual time left"
# promised 20 s to a run that started 9 s later). Each duration is drawn from this spread
# around the usual time, the runs holding slots only from durations longer than they have run.
SPREAD = tuple(0.8 + 0.4 * i / 10 for i in range(11))  # 0.8x .. 1.2x the usual time
DRAWS = 200


def spread_wait(running: Sequence[tuple[float, float]], ahead: Sequence[float], slots: int, *,
                seed: int = 0) -> float:
    """The median wait until a slot frees after the runs `ahead` (their usual times), with
    `running` = (usual time, seconds run so far) of each run holding a slot: `estimate_wait`
    over durations drawn from `SPREAD` (deterministic: a seeded generator). A run already
    past every duration of its spread is due now."""
    rng = random.Random(seed)
    waits = []
    for _ in range(DRAWS):
        left = []
        for usual, ran in running:
            longer = [usual * f for f in SPREAD if usual * f > ran]
            left.append(rng.choice(longer) - ran if longer else 0.0)
        waits.append(estimate_wait(left, [t * rng.choice(SPREAD) for t in ahead], slots))
    return float(statistics.median(waits))


class Pool:
    """A FIFO of runs waiting for one of `slots` slots; at most `line_size` may wait.

    `expected(tab)` is the usual model time of a mode (the Studio passes its median of recent
    predict_times, seeded from the library). The pool also times how long each run held its
    slot (checks, uploads and downloads included) and prefers that median per mode once it has
    one, since a slot is held for more than the model's time.
    """

    def __init__(self, slots: int, line_size: int, *,
                 expected: Callable[[str], float | None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.slots = max(1, int(slots))
        self.line_size = max(1, int(line_size))
        self._expected = expected or (lambda _tab: None)
        self._clock = clock
        self._lock = threading.Lock()
        self._line: list[Waiter] = []
        self._joined: dict[str, float] = {}  # run id -> when it joined the line
        self._running: dict[str, tuple[str, float]] = {}  # run id -> (tab, when it took a slot)
        self._moved: asyncio.Event | None = None  # set whenever the line may have moved
        self.held = RecentTimes()  # seconds each run held its slot, per mode

    # -- any thread ------------------------------------------------------------------------

    def join(self, handle: Waiter) -> None:
        """Put a new run at the end of the line, or refuse it when the line is full."""
        with self._lock:
            if len(self._line) >= self.line_size:
                waiting = len(self._line)
                raise AccessError(
                    f"The queue is full: {waiting} run{'s' if waiting != 1 else ''} already "
                    f"wait{'' if waiting != 1 else 's'} for this Studio ({self.slots} at a time). "
                    "Try again in a few minutes.")
            self._line.append(handle)
            self._joined[handle.run_id] = self._clock()
            handle.line = self

    def position(self, handle: Waiter) -> int | None:
        """Runs ahead of `handle` in the line; None once it holds a slot (or never waited)."""
        with self._lock:
            return self._index(handle)

    def spot(self, handle: Waiter) -> LineSpot | None:
        """Where `handle` stands (runs ahead, estimated wait), or None when it is not waiting."""
        with self._lock:
            index = self._index(handle)
            if index is None:
                return None
            wait, late = self._estimate(index)
            waited = self._clock() - self._joined.get(handle.run_id, self._clock())
            return LineSpot(index, wait, late, max(0.0, waited))

    def estimate(self, handle: Waiter) -> float | None:
        spot = self.spot(handle)
        return spot.wait if spot is not None else None

    def order(self) -> list[str]:
        """Run ids holding a slot (in the order they took it), then those waiting, first first."""
        with self._lock:
            return [*self._running, *(h.run_id for h in self._line)]

    def snapshot(self) -> tuple[int, int]:
        """(runs holding a slot, runs waiting)."""
        with self._lock:
            return len(self._running), len(self._line)

    def _index(self, handle: Waiter) -> int | None:
        for i, waiting in enumerate(self._line):
            if waiting is handle:
                return i
        return None

    def _time_of(self, tab: str) -> float | None:
        held = self.held.median(tab)
        return held if held is not None else self._expected(tab)

    def _estimate(self, index: int) -> tuple[float | None, float]:
        """(seconds until the run at `index` in the line starts, seconds it is late) (lock
        held); the wait is None when a mode involved has never run here and no other mode's
        time can stand in for it. Computed afresh at each call, from the clock: the page asks
        every half second. Late: the first in line, every slot busy, and even the run that
        should end first is past its usual time."""
        now = self._clock()
        tabs = [tab for tab, _ in self._running.values()] + [h.tab for h in self._line[:index]]
        times = {tab: self._time_of(tab) for tab in set(tabs)}
        known = [t for t in times.values() if t is not None]
        if len(known) < len(times):
            if not known:
                return (None if tabs else 0.0), 0.0
            fallback = statistics.median(known)
            times = {tab: fallback if t is None else t for tab, t in times.items()}
        left = [float(times[tab] or 0.0) - (now - since) for tab, since in self._running.values()]
        late = 0.0
        if index == 0 and len(left) >= self.slots and min(left) < 0:
            late = -min(left)
        running = [(float(times[tab] or 0.0), now - since) for tab, since in self._running.values()]
        ahead = [float(times[h.tab] or 0.0) for h in self._line[:index]]
        return spread_wait(running, ahead, self.slots, seed=index), late

    # -- the runner's loop -----------------------------------------------------------------

    @asynccontextmanager
    async def slot(self, handle: Waiter) -> AsyncIterator[None]:
        """Wait for `handle`'s turn, hold a slot for the body, then pass it on.

        Raises PredictionError (status "canceled", no prediction) when the run is cancelled while
        it waits; it leaves the line at once and nothing reached Replicate.
        """
        if self._moved is None:
            self._moved = asyncio.Event()
        try:
            while True:
                with self._lock:
                    if handle.cancel_requested:
                        break
                    if self._index(handle) == 0 and len(self._running) < self.slots:
                        self._line.pop(0)
                        self._joined.pop(handle.run_id, None)
                        self._running[handle.run_id] = (handle.tab, self._clock())
                        break
                    moved = self._moved
                waits = [asyncio.ensure_future(moved.wait()),
                         asyncio.ensure_future(handle.cancel_event.wait())]
                try:
                    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for w in waits:
                        w.cancel()
        except BaseException:
            self._leave(handle)
            raise
        if handle.run_id not in self._running:
            self._leave(handle)
            raise PredictionError(CANCELED_IN_LINE, prediction_id=None, status="canceled")
        try:
            yield
        finally:
            with self._lock:
                tab, since = self._running.pop(handle.run_id)
                self.held.add(tab, self._clock() - since)
            self._wake()

    def _leave(self, handle: Waiter) -> None:
        with self._lock:
            index = self._index(handle)
            if index is not None:
                self._line.pop(index)
            self._joined.pop(handle.run_id, None)
        self._wake()

    def _wake(self) -> None:
        """Tell every waiter the line moved (a fresh event for the next change)."""
        moved, self._moved = self._moved, asyncio.Event()
        if moved is not None:
            moved.set()
