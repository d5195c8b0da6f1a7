"""The runner: jobs run on one event loop of their own, so a job outlives the page that started it.

A Gradio handler lives as long as its browser connection: a reload, a closed tab or an API caller
that hangs up cancels it. A paid prediction must not follow it (issue #10), so the Studio submits
every job here and handlers only watch: `submit()` returns a `RunHandle` at once; its progress,
result and cancel are safe to use from any thread or loop. Only Cancel, the app's own deadline
or Replicate's `Cancel-After` stop a run.

How many run at once is the pool's to say (`kling_ui.runs.pool`, `Runner.pool`): a new run waits in
its line, and while it waits its handle's `progress` says where it stands (stage "queued").
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from ..core.models import Progress
from .pool import Pool

log = logging.getLogger(__name__)

JobFactory = Callable[["RunHandle"], Coroutine[Any, Any, Any]]
KEEP_FINISHED = 256  # finished handles kept for late watchers (the library has the rest)


@dataclass
class RunHandle:
    """One job on the runner: its latest progress, its outcome, and a cancel that works anywhere."""

    run_id: str
    tab: str = ""
    owner: str = ""
    started: float = field(default_factory=time.monotonic)
    reported: Progress | None = None  # the job's own latest progress
    future: concurrent.futures.Future[Any] | None = None
    _cancel: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    cancel_requested: bool = False
    line: Pool | None = None  # the pool whose line it joined (None: it never waits)
    ended: float | None = None  # monotonic time the job ended (None while it runs)

    def report(self, progress: Progress) -> None:
        self.reported = progress

    @property
    def progress(self) -> Progress | None:
        """The latest progress; while the run waits in line, where it stands (stage "queued",
        `position` runs ahead, `wait` the pool's estimate in seconds), always current."""
        spot = self.line.spot(self) if self.line is not None else None
        if spot is None:
            return self.reported
        return Progress(stage="queued", elapsed=time.monotonic() - self.started,
                        position=spot.ahead, wait=spot.wait, log_line="Waiting for a free slot",
                        extra={"late": spot.late, "waited": spot.waited})

    @property
    def waiting(self) -> bool:
        return self.line is not None and self.line.position(self) is not None

    @property
    def cancel_event(self) -> asyncio.Event:
        assert self._cancel is not None  # noqa: S101 - set before the job starts
        return self._cancel

    def cancel(self) -> None:
        """Ask the job to cancel its prediction (thread-safe; the job confirms by ending)."""
        self.cancel_requested = True
        if self._loop is not None and self._cancel is not None:
            self._loop.call_soon_threadsafe(self._cancel.set)

    @property
    def elapsed(self) -> float:
        """Seconds from its start to its end (to now while it runs): a page that comes back
        to a finished run later reads how long it took, not how long ago it began."""
        return (self.ended if self.ended is not None else time.monotonic()) - self.started

    @property
    def done(self) -> bool:
        return self.future is not None and self.future.done()

    def outcome(self) -> tuple[Any, BaseException | None]:
        """(result, None) or (None, exception) once done."""
        assert self.future is not None and self.future.done()  # noqa: S101
        exc = self.future.exception()
        return (None, exc) if exc is not None else (self.future.result(), None)

    async def wait(self) -> Any:
        """Await the outcome from any loop, without ever cancelling the job itself."""
        assert self.future is not None  # noqa: S101
        return await asyncio.shield(asyncio.wrap_future(self.future))


class Runner:
    """A daemon thread running an asyncio loop; every job of the Studio runs on it."""

    def __init__(self, name: str = "kling-runner", *, pool: Pool | None = None) -> None:
        self._name = name
        self.pool = pool or Pool(slots=4, line_size=32)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._handles: dict[str, RunHandle] = {}

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def serve() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                self._thread = threading.Thread(target=serve, name=self._name, daemon=True)
                self._thread.start()
                ready.wait(10)
                self._loop = loop
            return self._loop

    def submit(self, run_id: str, job: JobFactory, *, tab: str = "", owner: str = "",
               queued: bool = False,
               settle: Callable[[BaseException], None] | None = None) -> RunHandle:
        """Start `job(handle)` on the runner's loop; returns its handle at once.

        With `queued`, the run first joins the pool's line (raising AccessError, before anything
        starts, when the line is full) and `job` starts once it holds a slot, which it keeps
        until it ends. A run cancelled while it waits ends with PredictionError("canceled")
        and `job` never starts. `settle(exc)` is called on the runner's loop, before anyone
        waiting sees the outcome, when the run ends with an exception (in line or not).
        """
        handle = RunHandle(run_id=run_id, tab=tab, owner=owner)
        loop = self.loop
        if queued:
            self.pool.join(handle)

        async def start() -> Any:
            handle._loop = asyncio.get_running_loop()
            handle._cancel = asyncio.Event()
            if handle.cancel_requested:
                handle._cancel.set()
            try:
                if not queued:
                    return await job(handle)
                async with self.pool.slot(handle):
                    return await job(handle)
            except BaseException as exc:
                if settle is not None:
                    try:
                        settle(exc)
                    except Exception:  # noqa: BLE001 - the run's own outcome matters more
                        log.exception("run %s: could not settle its end", run_id)
                raise

        with self._lock:
            self._handles[run_id] = handle
            self._trim()
        handle.future = asyncio.run_coroutine_threadsafe(start(), loop)
        handle.future.add_done_callback(lambda f: _log_failure(run_id, f))
        handle.future.add_done_callback(lambda _f: setattr(handle, "ended", time.monotonic()))
        return handle

    def get(self, run_id: str) -> RunHandle | None:
        with self._lock:
            return self._handles.get(run_id)

    def active(self) -> list[RunHandle]:
        with self._lock:
            return [h for h in self._handles.values() if not h.done]

    def call(self, coro: Awaitable[Any], timeout: float = 30.0) -> Any:
        """Run `coro` on the runner's loop and wait for it (from another thread)."""
        async def wrap() -> Any:
            return await coro

        return asyncio.run_coroutine_threadsafe(wrap(), self.loop).result(timeout)

    def stop(self) -> None:
        with self._lock:
            loop, self._loop = self._loop, None
            thread, self._thread = self._thread, None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
            if thread is not None:
                thread.join(5)

    def _trim(self) -> None:
        finished = [k for k, h in self._handles.items() if h.done]
        for key in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            self._handles.pop(key, None)


def _log_failure(run_id: str, future: concurrent.futures.Future[Any]) -> None:
    if future.cancelled():
        return
    exc = future.exception()
    if exc is not None and not _expected(exc):
        log.error("run %s ended with an unexpected error", run_id, exc_info=exc)


def _expected(exc: BaseException) -> bool:
    from ..core.errors import KlingError

    return isinstance(exc, KlingError)
