"""The run's journal: its library row written before each side effect, and a disk too full.

Journal before side effects, as a write-ahead log does: the row exists before the paid request
and every later step updates it, so a restart can pick up where it stopped (runs.resumer). A paid
output the disk cannot take waits for room with its output URL journaled (`wait_for_disk`; the
`DiskWatch` fetches it later). A run that ended unbilled gives its visitor's quota back. Part of
the `Studio` (runs.service); no gradio.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

from ..core.config import Settings
from ..core.errors import (
    KlingError,
    LibraryError,
    PredictionError,
    StorageError,
)
from ..core.models import Progress
from ..hosting import disk
from ..hosting.access import Guard
from ..library import store as lib
from ..library.store import Library, Run
from ..replicate.protocol import Prediction
from .resumer import DiskWatch

log = logging.getLogger(__name__)

PROGRESS_WRITE_EVERY = 1.0  # seconds between journal writes of an unchanged status


class Journal:
    """Writes a run's row at each step; knows the disk's room and the quota given back."""

    def __init__(self, settings: Settings, library: Library, guard: Guard, data_dir: Path,
                 disk_watch: DiskWatch) -> None:
        self.settings = settings
        self.library = library
        self.guard = guard
        self.data_dir = data_dir
        self.disk_watch = disk_watch

    def start(self, run: Run) -> None:
        """Journal a run about to upload: a new row, or its queued row filled in (it keeps the
        time it joined the line, so the library's order stays the order runs were asked for)."""
        if self.library.get(run.id) is None:
            self.library.create(run)
            return
        skip = {"id", "created_at", "updated_at", "finished_at", "worker", "lease_until"}
        self.library.update(run.id, **{f.name: getattr(run, f.name) for f in fields(Run)
                                       if f.name not in skip})

    def progress(self, run_id: str, emit: Callable[[Progress], None]) -> Callable[[Progress], None]:
        """An on_update that shows progress and writes it to the run's row (status changes at
        once, the rest at most every PROGRESS_WRITE_EVERY seconds)."""
        last: dict[str, Any] = {"status": None, "at": 0.0}

        def on_update(p: Progress) -> None:
            if p.stage == "done":
                return  # the client's download ended; the run is done once Outputs.finish says so
            emit(p)
            line = p.log_line or ""
            if p.stage == "downloading" or p.status == "succeeded":
                status = lib.DOWNLOADING
                if p.stage != "downloading":
                    line = ""  # the model's last word ("Video ready") is not the download's
            elif p.status in (lib.STARTING, lib.PROCESSING):
                status = p.status
            else:
                return
            now = time.monotonic()
            if status == last["status"] and now - last["at"] < PROGRESS_WRITE_EVERY:
                return
            last.update(status=status, at=now)
            try:
                # A held create's prediction is known (and journaled) before the create answers,
                # so a restart meanwhile follows it instead of looking for it.
                known = {"prediction_id": p.prediction_id} if p.prediction_id else {}
                self.library.update(run_id, status=status, log_line=line, fraction=p.fraction,
                                    **known)
            except LibraryError as exc:  # progress is a nicety; the run goes on
                log.warning("could not journal progress of run %s: %s", run_id, exc)

        return on_update

    def failure(self, run_id: str, exc: BaseException, created: list[str]) -> None:
        """Write how a run ended badly; what the user sees in the library."""
        if isinstance(exc, PredictionError):
            status = exc.status if exc.status in lib.TERMINAL else lib.FAILED
            message = exc.message
        elif isinstance(exc, asyncio.CancelledError):
            status = lib.CANCELED if created else lib.FAILED
            message = ("Stopped; the prediction was canceled on Replicate." if created else
                       "Stopped before it reached Replicate; nothing was billed.")
        elif isinstance(exc, KlingError):
            status, message = lib.FAILED, exc.message
        else:
            status, message = lib.FAILED, "The Studio hit an unexpected error (see the server log)."
        try:
            self.library.update(run_id, status=status, error=message, log_line=message)
        except LibraryError as write_error:
            log.error("could not journal the end of run %s: %s", run_id, write_error)

    @property
    def min_free_bytes(self) -> int:
        """KLING_MIN_FREE_MB in bytes: the free space a run needs before it may start."""
        return int(self.settings.min_free_mb * disk.MB)

    def output(self, run_id: str) -> Callable[[Prediction], None]:
        """An on_finished that journals where a succeeded prediction's output is, and until
        when Replicate keeps it, before the download: what a full disk needs to fetch it again."""

        def on_finished(p: Prediction) -> None:
            url = p.output[0] if isinstance(p.output, (list, tuple)) and p.output else p.output
            if not isinstance(url, str) or url.startswith("data:"):
                return  # nothing to fetch again (a data: URI is in hand; no output: an error)
            try:
                self.library.update(run_id, output_url=url, predict_time=p.predict_time,
                                    output_until=disk.output_until(p.completed_at, time.time()))
            except LibraryError as exc:  # the download goes on; a restart still polls it
                log.warning("could not journal the output of run %s: %s", run_id, exc)

        return on_finished

    def wait_for_disk(self, run_id: str, exc: StorageError) -> StorageError:
        """A paid output that could not be written: the run waits for disk space (its output
        URL is journaled) and the disk watch fetches it once there is room. Returns the error
        the visitor sees."""
        until = None
        with contextlib.suppress(LibraryError):
            run = self.library.get(run_id)
            until = run.output_until if run is not None else None
        log.warning("run %s: its paid output could not be saved in %s (%s); waiting for disk "
                    "space to fetch it again%s. Free some space.", run_id, self.data_dir,
                    exc.message, f" (until {time.ctime(until)})" if until else "")
        try:
            self.library.update(run_id, status=lib.WAITING_FOR_DISK, log_line=disk.WAITING,
                                error=None)
        except LibraryError as write_error:  # the row stays in flight: a restart resumes it
            log.error("could not journal that run %s waits for disk space: %s", run_id,
                      write_error)
        self.disk_watch.poke()
        return StorageError(disk.WAITING)

    def expire_disk_wait(self, run: Run) -> bool:
        """End a run that waits for disk space once Replicate no longer keeps its output
        (its hour is over); True when it ended so."""
        if run.output_until is None or time.time() < run.output_until:
            return False
        log.warning("run %s: its output expired on Replicate before there was disk space to "
                    "save it", run.id)
        self.library.update(run.id, status=lib.FAILED, error=disk.EXPIRED, log_line=disk.EXPIRED)
        return True

    def has_room(self) -> bool:
        """Whether the data folder's disk has KLING_MIN_FREE_MB free."""
        return disk.has_room(self.data_dir, self.min_free_bytes)

    def give_back_quota(self, run: Run) -> None:
        """A run that ended unbilled no longer counts against its visitor's runs or the day's
        budget: its ledger admission goes."""
        if run.admission is None:
            return
        self.guard.ledger.release(run.admission)
        self.library.update(run.id, admission=None)
