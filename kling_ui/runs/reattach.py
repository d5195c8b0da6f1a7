"""Reattaching: finish a run a restart interrupted, never paying twice.

`resume` finds or polls a journaled run's one prediction (`runs.resumer` decides which runs) and
saves its output; a run that waits for disk space is fetched from its journaled URL. It never
creates a prediction. Part of the `Studio` (runs.service); no gradio.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace

from ..core.config import Secret, Settings
from ..core.errors import (
    KlingError,
    NotFoundError,
    StorageError,
)
from ..core.jobs import JobResult
from ..core.models import Progress
from ..hosting import disk
from ..library import store as lib
from ..library.store import Library, Run
from ..replicate.client import ReplicateClient
from ..replicate.protocol import Prediction
from .journal import Journal
from .outputs import Outputs
from .resumer import DiskWatch
from .routes import Routes

RESUME_MIN_DEADLINE = 120.0  # a resumed run gets at least this long to finish


class Reattach:
    """Resume journaled runs: find or poll their prediction, save the output."""

    def __init__(self, settings: Settings, *, library: Library, clock: Callable[[], float],
                 routes: Routes, journal: Journal, outputs: Outputs,
                 disk_watch: DiskWatch) -> None:
        self.settings = settings
        self.library = library
        self._clock = clock
        self.routes = routes
        self.journal = journal
        self.outputs = outputs
        self.disk_watch = disk_watch

    async def resume(
        self,
        run: Run,
        *,
        visitor_token: Secret | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        cancel_event: asyncio.Event | None = None,
    ) -> JobResult | None:
        """Finish a run a restart interrupted: find or poll its one prediction, save the output.

        Never creates a prediction. Returns the result, or None when the run ended otherwise
        (written to its row: nothing was billed, the output is gone, the key is needed).
        """
        t0 = self._clock()

        def emit(p: Progress) -> None:
            if on_progress is not None:
                on_progress(replace(p, elapsed=p.elapsed or self._clock() - t0))

        if run.status == lib.WAITING_FOR_DISK and run.output_url and run.prediction_id:
            return await self._fetch_saved(run, visitor_token, emit)
        route = await self.routes.route_run(run, visitor_token)
        if route is None:
            self.library.update(run.id, status=lib.WAITING_FOR_KEY, log_line=(
                "Waiting for the key this run was made with: enter it to fetch the result."))
            return None
        client, token, _backend = route
        emit(Progress(log_line="Resuming after a restart",
                      prediction_id=run.prediction_id))
        try:
            if run.prediction_id is None:
                found = await self._find_journaled(client, token, run)
                if found is None:
                    self.library.update(run.id, status=lib.FAILED, error=(
                        "The Studio stopped before this run reached Replicate, and no prediction "
                        "was made for it, so nothing was billed. Run it again."))
                    self.journal.give_back_quota(run)
                    return None
                prediction = found
                self.library.update(run.id, prediction_id=found.id, status=lib.PROCESSING)
            else:
                prediction = await client.get_prediction(run.prediction_id, token)
        except NotFoundError:
            why = ("The offline simulator restarted with the Studio, so this simulated run was "
                   "lost (nothing was billed). Run it again." if run.backend == "simulator" else
                   "Replicate no longer has this prediction (outputs go about an hour after a "
                   "run), so its video cannot be fetched.")
            self.library.update(run.id, status=lib.LOST, error=why, log_line=why)
            if run.backend == "simulator":
                self.journal.give_back_quota(run)  # nothing was billed, and nothing came of it
            return None
        age = time.time() - run.created_at
        deadline = max(RESUME_MIN_DEADLINE, self.settings.job_timeout - age)
        try:
            prediction, _ = await client.follow(
                prediction, token, dest=str(self.library.run_dir(run.id) / "output.mp4"),
                on_update=self.journal.progress(run.id, emit), cancel_event=cancel_event,
                deadline=deadline, on_finished=self.journal.output(run.id))
        except StorageError as exc:
            raise self.journal.wait_for_disk(run.id, exc) from exc
        except BaseException as exc:
            self.journal.failure(run.id, exc, [prediction.id])
            raise
        return await self.outputs.finish(run.id, prediction, emit)

    async def _fetch_saved(self, run: Run, visitor_token: Secret | None,
                           emit: Callable[[Progress], None]) -> JobResult | None:
        """Save the output of a run that waits for disk space, from its journaled URL: no key
        needed (delivery hosts never get one), no poll, never a second prediction. None while
        there is still no room, or when the output expired (written to its row)."""
        assert run.output_url is not None and run.prediction_id is not None
        if self.journal.expire_disk_wait(run):
            return None
        if not self.journal.has_room():
            self.disk_watch.poke()
            return None
        route = await self.routes.route_run(run, visitor_token)
        client = route[0] if route is not None else await self.routes.client_for(self.settings.base_url)
        token = route[1] if route is not None else None
        emit(Progress(log_line="Saving the output now that there is room",
                      prediction_id=run.prediction_id))
        self.library.update(run.id, log_line="Saving the output now that there is room")
        try:
            await client.download_output(run.output_url,
                                         self.library.run_dir(run.id) / "output.mp4", token)
        except StorageError as exc:
            raise self.journal.wait_for_disk(run.id, exc) from exc
        except NotFoundError:
            self.library.update(run.id, status=lib.FAILED, error=disk.EXPIRED,
                                log_line=disk.EXPIRED)
            return None
        except BaseException as exc:
            self.journal.failure(run.id, exc, [run.prediction_id])
            raise
        prediction = Prediction(id=run.prediction_id, status="succeeded",
                                predict_time=run.predict_time)
        return await self.outputs.finish(run.id, prediction, emit)

    async def _find_journaled(self, client: ReplicateClient, token: Secret, run: Run
                              ) -> Prediction | None:
        """The prediction a journaled create made before the Studio stopped, if any."""
        if run.request is None:
            return None  # stopped before the body existed: nothing can have been created
        cause = KlingError("The Studio stopped while starting this run.")
        return await client._find_created(run.request, token, since=run.created_at, cause=cause)
