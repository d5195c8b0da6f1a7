"""The resumer: at start-up, finish every run the last process left in flight.

It reads the library's journal (`Library.unfinished()`), takes the lease on each run nobody alive
holds (`Library.claim()`: two processes on one folder never follow one prediction twice), and
hands it to `Studio.resume` on the runner, which polls the run's one prediction to its end and
saves the output. It never creates a prediction, so a restart cannot pay twice. A process that
was still stopping when this one started holds its runs a few seconds longer: `ResumeWatch`
takes them once it has ended (`adopt_orphans`).

Runs made with a visitor's own key cannot be resumed without it (the key is never stored): they
wait, marked "waiting_for_key", until that visitor comes back and enters it
(`resume_with_key`), which is said in their library.

A paid output the disk could not take waits too, marked "waiting_for_disk" with its output URL
(kling_ui.hosting.disk): the `DiskWatch` fetches it once there is room, every DISK_RETRY_SECONDS while
any such run exists (and at start-up, through `resume_unfinished`), until Replicate's hour is
over. No key is needed for that, so a visitor's key run does not wait for its key as well.

A run this module ends as "nothing was billed" gives its visitor's quota back
(`Studio.give_back_quota`): it no longer counts against their runs or the day's budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from ..core.config import Secret
from ..core.errors import KlingError
from ..core.models import Progress
from ..library import store as lib
from ..library.schema import worker_gone
from ..library.store import Library, Run
from ..replicate.client import ReplicateClient
from .runner import RunHandle, Runner

log = logging.getLogger(__name__)

RESTARTED_IN_LINE = ("The Studio restarted while this run waited in line, before it reached "
                     "Replicate, so nothing was billed. Run it again.")
WAITING_NOTE = ("This run was made with your own key before the Studio restarted. Enter the "
                "same key to fetch its result.")
DISK_RETRY_SECONDS = 30.0  # how often outputs waiting for disk space look for room
ORPHAN_SWEEP_SECONDS = 30.0  # how often runs a process left after start-up are looked for
# The first look comes sooner: a stopping process takes up to 5 s (its speculative uploads), and
# a page reloaded after a quick restart showed its run "processing" for the 30 s until then.
FIRST_SWEEP_SECONDS = 6.0
_TAKING = threading.Lock()  # the start-up pass and the sweep never claim one run both


class Studio(Protocol):
    """What the resumer needs of the Studio (`runs.service.Studio` is one). Named here so the
    service imports the resumer and never the other way: no circle (issue #21)."""

    library: Library
    runner: Runner

    def give_back_quota(self, run: Run) -> None: ...

    def expire_disk_wait(self, run: Run) -> bool: ...

    def has_room(self) -> bool: ...

    async def delete_strays(self, visitor_token: Secret | None = None) -> int: ...

    async def _route_run(self, run: Run, visitor_token: Secret | None
                         ) -> tuple[ReplicateClient, Secret, str] | None: ...

    async def resume(self, run: Run, *, visitor_token: Secret | None = None,
                     on_progress: Callable[[Progress], None] | None = None,
                     cancel_event: asyncio.Event | None = None) -> Any: ...


def resume_unfinished(studio: Studio) -> list[str]:
    """Submit every unfinished run this process may take; returns the ids now being resumed."""
    with _TAKING:
        resumed = [run.id for run in studio.library.unfinished() if _take(studio, run)]
    if resumed:
        log.info("resuming %d run(s) left in flight: %s", len(resumed), ", ".join(resumed))
    return resumed


def adopt_orphans(studio: Studio) -> list[str]:
    """Resume the in-flight runs whose holder, another process of this host, has ended since.

    A restart can be quicker than the stop: the old process still deletes its speculative
    uploads (up to 5 s) when the new one's start-up pass looks, so its runs are not free yet and
    that pass leaves them. Nothing else would follow them again, and their pages would show the
    last progress for ever. `ResumeWatch` calls this every ORPHAN_SWEEP_SECONDS. A run whose
    holder is alive is never taken here, however old its lease: a live process may be waiting
    on a slow prediction without writing to its row.
    """
    with _TAKING:  # worker_gone: another process of this host (never this one), ended
        adopted = [run.id for run in studio.library.unfinished()
                   if worker_gone(run.worker) and _take(studio, run)]
    if adopted:
        log.info("resuming %d run(s) a stopped process left: %s", len(adopted), ", ".join(adopted))
    return adopted


def _take(studio: Studio, run: Run) -> bool:
    """Claim `run` and do with it what a restart does; True when it is being followed again."""
    if run.status == lib.QUEUED and run.worker == studio.library.worker:
        return False  # in this process's line right now (its handle may not be registered yet)
    if studio.runner.get(run.id) is not None or not studio.library.claim(run.id):
        return False  # ours already, or another live process follows it
    if run.status == lib.QUEUED:  # it never left the line: nothing reached Replicate
        studio.library.update(run.id, status=lib.FAILED, error=RESTARTED_IN_LINE,
                              log_line=RESTARTED_IN_LINE)
        studio.give_back_quota(run)
        return False
    if run.key_kind == "visitor" and run.status != lib.WAITING_FOR_DISK:
        if run.status != lib.WAITING_FOR_KEY:
            studio.library.update(run.id, status=lib.WAITING_FOR_KEY, log_line=WAITING_NOTE)
        return False
    _submit(studio, run, None)
    return True


async def resume_with_key(studio: Studio, owner: str | None, token: Secret) -> list[str]:
    """Resume this visitor's runs that wait for their key, if `token` is the key they were made
    with (Replicate answers for the prediction with it). Returns the ids resumed."""
    resumed: list[str] = []
    for run in studio.library.runs(owner=owner, status=lib.WAITING_FOR_KEY, limit=50):
        if run.prediction_id and not await _key_owns(studio, run, token):
            continue
        if not studio.library.claim(run.id):
            continue
        _submit(studio, run, token)
        resumed.append(run.id)
    # Uploads a stopped process made with this key and no run sends (the page's speculative
    # ones): this key is known only now (runs.orphans).
    with contextlib.suppress(KlingError, OSError):
        await studio.delete_strays(token)
    return resumed


async def _key_owns(studio: Studio, run: Run, token: Secret) -> bool:
    route = await studio._route_run(run, token)
    if route is None or run.prediction_id is None:
        return False
    client, key, _backend = route
    try:
        await client.get_prediction(run.prediction_id, key)
    except KlingError:
        return False
    return True


def _submit(studio: Studio, run: Run, token: Secret | None) -> RunHandle:
    async def job(handle: RunHandle) -> Any:
        try:
            return await studio.resume(run, visitor_token=token, on_progress=handle.report,
                                       cancel_event=handle.cancel_event)
        finally:
            # Its inputs (and what else its stopped process left with the same key) go now;
            # a visitor's key is known only here (runs.orphans).
            with contextlib.suppress(KlingError, OSError):
                await studio.delete_strays(token)

    return studio.runner.submit(run.id, job, tab=run.tab, owner=run.owner)


def retry_disk_waits(studio: Studio) -> list[str]:
    """Fetch the outputs that wait for disk space, if the disk has room now; end those whose
    hour on Replicate is over. Returns the ids now being fetched."""
    fetching: list[str] = []
    room: bool | None = None
    for run in studio.library.runs(owner=None, status=lib.WAITING_FOR_DISK, limit=500):
        handle = studio.runner.get(run.id)
        if handle is not None and not handle.done:
            continue  # being fetched right now
        if not studio.library.claim(run.id):
            continue  # another live process has it
        if studio.expire_disk_wait(run):
            continue
        room = studio.has_room() if room is None else room
        if room:
            _submit(studio, run, None)
            fetching.append(run.id)
    if fetching:
        log.info("disk space is back: fetching %d waiting output(s): %s", len(fetching),
                 ", ".join(fetching))
    return fetching


class _Watch:
    """A daemon thread that calls its `_loop` once started, until `stop()`."""

    name = "kling-watch"

    def __init__(self, studio: Studio, interval: float) -> None:
        self._studio = studio
        self.interval = interval
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def _start(self) -> None:
        with self._lock:
            if self._stop.is_set() or (self._thread is not None and self._thread.is_alive()):
                return
            self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        raise NotImplementedError


class DiskWatch(_Watch):
    """Calls `retry_disk_waits` every `interval` seconds while any run waits for disk space.

    `poke()` starts it (a run began to wait); it stops by itself when none waits any more, and
    for good with `stop()`.
    """

    name = "kling-disk-watch"

    def __init__(self, studio: Studio, interval: float = DISK_RETRY_SECONDS) -> None:
        super().__init__(studio, interval)

    def poke(self) -> None:
        self._start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                retry_disk_waits(self._studio)
                with self._lock:  # a run that starts to wait now pokes after this: no gap
                    if not self._studio.library.runs(owner=None, status=lib.WAITING_FOR_DISK,
                                                     limit=1):
                        self._thread = None
                        return
            except Exception:  # noqa: BLE001 - the watch must outlive one bad pass
                log.exception("fetching outputs that wait for disk space failed")


class ResumeWatch(_Watch):
    """Calls `adopt_orphans` every `interval` seconds, in a daemon thread, until `stop()`."""

    name = "kling-orphan-sweep"

    def __init__(self, studio: Studio, interval: float = ORPHAN_SWEEP_SECONDS) -> None:
        super().__init__(studio, interval)

    def start(self) -> None:
        self._start()

    def _loop(self) -> None:
        wait = min(self.interval, FIRST_SWEEP_SECONDS)
        while not self._stop.wait(wait):
            wait = self.interval
            try:
                adopt_orphans(self._studio)
            except Exception:  # noqa: BLE001 - the sweep must outlive one bad pass
                log.exception("looking for runs a stopped process left failed")
