"""The service: the `Studio` facade the UI and the API call, over the parts that do the work.

The Studio runs one job end to end, probe -> validate -> (fix) -> journal -> upload -> create ->
wait -> download, and keeps it in the library at every step. This module only builds the parts
and names what each does; the work is in one module per responsibility (issue #21):

    checks    checking inputs: probe, check, preview, fix; a spec's preflight
    running   running: admit, wait in line, run, cancel
    journal   the run's row before each side effect; a disk too full; quota given back
    outputs   a run's output named, tagged, measured; derived runs; settings read back
    routes    backends and keys: which client and key a job goes to; a pasted key checked
    reattach  finishing a run a restart interrupted, never paying twice

It does not import gradio. It is handed its Replicate transport, its data folder and its clock,
so tests can pass fakes or point it at the simulator. Blocking media work runs in worker threads
so the event loop stays responsive. Every visitor's key travels as an argument, never in a
global. What it leans on besides: `library` (the runs, in SQLite: the only SQL), `files` (run
folders, temporary files and their lifetimes), `runner` (the event loop jobs run on, so a job
outlives the page that started it), `resumer` (finishes what a restart interrupted), `access`
(the host's limits, kept in the library's ledger).
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.config import Secret, Settings
from ..core.errors import LibraryError
from ..core.jobs import JobResult, JobSpec, Preflight, UploadCheck
from ..core.models import Tab
from ..hosting import bounds
from ..hosting.access import Guard
from ..library.store import Library
from ..replicate.protocol import RecentTimes
from .checks import Checks
from .files import Files
from .journal import Journal
from .orphans import StrayWatch, delete_strays
from .outputs import Outputs
from .pool import Pool
from .reattach import Reattach
from .resumer import DISK_RETRY_SECONDS, ORPHAN_SWEEP_SECONDS, DiskWatch, ResumeWatch
from .routes import SIMULATOR_TOKEN, Routes
from .runner import Runner
from .running import Running
from .shares import Sharing
from .speculative import Speculation

if TYPE_CHECKING:  # the service is handed its transport; it never builds HTTP itself
    import httpx

__all__ = ["SIMULATOR_TOKEN", "JobResult", "JobSpec", "Preflight", "Studio", "UploadCheck"]

log = logging.getLogger(__name__)


def open_library(root: str) -> tuple[Library, str | None]:
    """The library in `root`, or, when that folder cannot be used, one in a temporary folder
    with the reason (shown at start-up and in the page): runs still work, but are not kept."""
    try:
        return Library(root), None
    except LibraryError as exc:
        log.error("%s", exc.message)
        fallback = tempfile.mkdtemp(prefix="kling-library-fallback-")
        return Library(fallback), (exc.message + " Until then this Studio keeps runs in a "
                                   "temporary folder, lost when it stops.")


class Studio:
    """Runs Kling O1 jobs for every session of the app: checks, fixes, uploads, runs, downloads.

    `settings` picks the backend for the host's key: Replicate at settings.base_url, or the
    simulator started in-process on 127.0.0.1. A visitor who brings their own key always goes to
    Replicate (settings.base_url) with that key, for that visitor's requests only. Every run is
    journaled in `self.library` from before its paid request to its last byte.

    A facade: each method below is its part's own (same name, same signature), so the UI, the
    API and the tests call one object while each responsibility lives in its own module.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        data_dir: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout | None = None,
        disk_retry_seconds: float = DISK_RETRY_SECONDS,
        orphan_sweep_seconds: float = ORPHAN_SWEEP_SECONDS,
    ) -> None:
        self.settings = settings
        self.backend = settings.backend
        root = data_dir or settings.data_dir or os.path.join(tempfile.gettempdir(), "kling-studio")
        self.library, self.library_problem = open_library(root)
        self.data_dir = self.library.root
        self.files = Files(self.library, max_age_hours=settings.max_age_hours,
                           keep_days=settings.keep_days, max_gb=settings.max_gb,
                           download_minutes=settings.download_minutes)
        self.guard = Guard(
            runs_per_hour=settings.runs_per_hour,
            runs_per_day=settings.runs_per_day,
            daily_budget_usd=settings.daily_budget_usd,
            sign_in=settings.sign_in,
            password=settings.app_password,
            ledger=self.library,
        )
        # Model times (predict_time) per tab: when to poll densely. The library remembers them
        # across restarts, so even the first run after one is noticed fast.
        self.predict_times = RecentTimes()
        for tab in Tab:
            for seconds in reversed(self.library.recent_predict_times(tab.value)):
                self.predict_times.add(tab.value, seconds)
        # One line for every run, UI and API alike: KLING_CONCURRENCY at once, KLING_QUEUE_SIZE
        # waiting (kling_ui.runs.pool); waits are estimated from the modes' usual times.
        self.runner = Runner(pool=Pool(
            settings.concurrency, settings.queue_size,
            expected=lambda tab: self.predict_times.median(tab) if tab else None))
        # Probes, fixes, previews, filmstrips and finishing share the process's bounded pool:
        # a worker per core, each visitor a share of them (kling_ui.hosting.bounds).
        self.media = bounds.media_pool()
        self.media.budget = settings.media_minutes_per_hour * 60.0
        self._clock = clock
        self._sweeper_stop: Any = None
        # Outputs waiting for disk space are fetched again from here (kling_ui.runs.resumer).
        self.disk_watch = DiskWatch(self, disk_retry_seconds)
        # Runs a process still stopping held at start-up are taken once it has ended.
        self.resume_watch = ResumeWatch(self, orphan_sweep_seconds)

        # The parts, each handed what it needs.
        self.routes = Routes(settings, transport=transport, timeout=timeout, book=self.library)
        # Uploads a killed process left on Replicate, deleted by this one (runs.orphans).
        self.strays = StrayWatch(self.library, self.routes, self.runner)
        self.checks = Checks(self.media, self.files)
        self.journal = Journal(settings, self.library, self.guard, self.data_dir, self.disk_watch)
        self.outputs = Outputs(settings, self.library, self.media, self.files, self.checks)
        # The page's inputs uploaded before Run (issue #22 part 5; runs.speculative).
        self.speculation = Speculation(routes=self.routes, runner=self.runner, guard=self.guard,
                                       checks=self.checks)
        self.running = Running(settings, library=self.library, guard=self.guard, files=self.files,
                               runner=self.runner, predict_times=self.predict_times, clock=clock,
                               routes=self.routes, checks=self.checks, journal=self.journal,
                               outputs=self.outputs, speculation=self.speculation)
        self.reattach = Reattach(settings, library=self.library, clock=clock, routes=self.routes,
                                 journal=self.journal, outputs=self.outputs,
                                 disk_watch=self.disk_watch)

        self.sharing = Sharing(settings, self.library)  # share links, the showcase (issue #26)

        # Backends and keys (runs.routes).
        self.backend_for = self.routes.backend_for
        self.backend_note = self.routes.backend_note
        self.simulator_url = self.routes.simulator_url
        self.check_key = self.routes.check_key
        self._route = self.routes.route
        self._route_run = self.routes.route_run
        self._client_for = self.routes.client_for
        # Checking inputs (runs.checks).
        self.check_image = self.checks.check_image
        self.check_video = self.checks.check_video
        self.video_preview = self.checks.video_preview
        self.video_poster = self.checks.video_poster
        self.filmstrip = self.checks.filmstrip
        self.fix_image = self.checks.fix_image
        self.fix_video = self.checks.fix_video
        self.preflight = self.checks.preflight
        self._probe = self.checks.probe
        # Running (runs.running).
        self.start = self.running.start
        self.run = self.running.run
        self.handle = self.running.handle
        self.cancel_run = self.running.cancel_run
        self.speculate = self.speculation.offer
        # The journal, the disk and the quota (runs.journal).
        self.expire_disk_wait = self.journal.expire_disk_wait
        self.has_room = self.journal.has_room
        self.give_back_quota = self.journal.give_back_quota
        # Reattaching after a restart (runs.reattach; runs.resumer decides what).
        self.resume = self.reattach.resume
        # Outputs and derived runs (runs.outputs).
        self.keep_derived = self.outputs.keep_derived
        self.spec_from_video = self.outputs.spec_from_video
        self.code_snippets = self.outputs.code_snippets

    @property
    def _sim(self) -> Any:
        """The in-process simulator server, once started (tests read its state)."""
        return self.routes._sim

    @property
    def min_free_bytes(self) -> int:
        """KLING_MIN_FREE_MB in bytes: the free space a run needs before it may start."""
        return self.journal.min_free_bytes

    def expected_predict_time(self, tab: Tab) -> float | None:
        """The usual model time of `tab` (median of recent predict_times, seeded from the
        library at start-up), None when unknown."""
        return self.predict_times.median(tab.value)

    # -- files (kling_ui.runs.files) -----------------------------------------------------------

    def session_dir(self, session_id: str) -> Path:
        return self.files.session_dir(session_id)

    def start_sweeper(self) -> Any:
        self._sweeper_stop = self.files.start_sweeper()
        self.strays.start()
        self.resume_watch.start()
        return self._sweeper_stop

    async def delete_strays(self, visitor_token: Secret | None = None) -> int:
        """Delete the uploads stopped processes left whose key is known (runs.orphans)."""
        return await delete_strays(self.library, self.routes, visitor_token)

    def sweep(self, max_age_hours: float | None = None) -> int:
        return self.files.sweep(max_age_hours)

    async def aclose(self) -> None:
        """Close every client (each on the loop it belongs to), the runner and the simulator;
        speculative uploads are deleted first (best effort)."""
        await asyncio.to_thread(self.speculation.close)
        await self.routes.close_clients(self.runner)
        self.disk_watch.stop()
        self.resume_watch.stop()
        self.strays.stop()
        self.runner.stop()
        self.files.stop()
        self.routes.stop_simulator()
