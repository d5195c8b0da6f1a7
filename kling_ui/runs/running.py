"""Running one job: admitted, waiting in line, then probe -> validate -> (fix) -> journal ->
upload -> create -> wait -> download.

`start` admits a run (cheap checks and the visitor's quota first, issue #20), gives it a queued
row and hands it to the runner's line; `run` is the job itself. Every visitor's key travels as an
argument, never in a global. Part of the `Studio` (runs.service); no gradio.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..core import rules
from ..core.config import Secret, Settings
from ..core.errors import (
    AccessError,
    InputError,
    KlingError,
    LibraryError,
    PredictionError,
    StorageError,
)
from ..core.jobs import JobResult, JobSpec, spec_settings
from ..core.models import Fix, ImageInfo, JobRequest, Progress, VideoInfo
from ..core.payload import build_input, shorten_urls
from ..core.pricing import estimate_cost
from ..core.prompt import normalize_tokens
from ..hosting import bounds, disk
from ..hosting.access import Guard, Reservation
from ..library import store as lib
from ..library.store import Library, Run, new_run_id
from ..replicate.protocol import Prediction, RecentTimes, UploadedFile
from . import sending
from .checks import Checks
from .files import Files
from .journal import Journal
from .outputs import Outputs, facts_of
from .pool import CANCELED_IN_LINE
from .routes import Routes
from .runner import RunHandle, Runner
from .speculative import FileKey, Speculation, key_id, slot_paths
from .takeshare import FIXED, TakeShare, TakeShares

log = logging.getLogger(__name__)


def _original_of(job: JobRequest) -> tuple[ImageInfo | VideoInfo | None, str]:
    """What plays beside the output, and what to call it."""
    if job.reference_video is not None:
        return job.reference_video, "Original clip"
    if job.start_image is not None:
        return job.start_image, "Start frame"
    if job.reference_images:
        return job.reference_images[0], "Reference image 1"
    return None, "No original (text to video)"



class Running:
    """Start, run and cancel jobs; the parts it orchestrates are handed in."""

    def __init__(self, settings: Settings, *, library: Library, guard: Guard, files: Files,
                 runner: Runner, predict_times: RecentTimes, clock: Callable[[], float],
                 routes: Routes, checks: Checks, journal: Journal, outputs: Outputs,
                 speculation: Speculation | None = None) -> None:
        self.settings = settings
        self.library = library
        self.guard = guard
        self.files = files
        self.runner = runner
        self.predict_times = predict_times
        self._clock = clock
        self.routes = routes
        self.checks = checks
        self.journal = journal
        self.outputs = outputs
        self.speculation = speculation  # the page's uploads made before Run (issue #22)
        self.shares = TakeShares()  # what the takes of one Run share: fixes, uploads (#22)
        self.data_dir = library.root

    def start(self, spec: JobSpec, *, visitor_token: Secret | None, visitor_id: str,
              owner: str = "local", parent_id: str | None = None,
              takes: dict[str, Any] | None = None) -> RunHandle:
        """Start a run on the runner and return its handle at once.

        The run belongs to no page or connection: a reload, a closed tab or a caller that hangs
        up does not stop it; `cancel_run` (the Cancel button), our deadline or Cancel-After do.
        `takes` ({"group", "index", "of"}) marks one take of several of the same settings; it
        is kept in the run's metrics. Each take is its own run, admitted by the Guard alone.

        The run first waits in the Studio's line for a free slot (`kling_ui.runs.pool`), with a row
        in the library saying "queued", so a reloaded page finds it and its place is kept.
        Raises AccessError at once, with nothing kept, when the line is full, and StorageError
        when the disk has too little room for an output (checked again when the run starts).

        Cheap refusals come first (issue #20): too many files, a file too large, no sign-in, no
        quota left end the run at once, before it takes a place in line or opens a file, with
        nothing kept. The visitor's quota is reserved here at the run's most, so runs waiting
        in line count; the run settles it, and gives it back if it ends without a prediction.
        """
        disk.check_room(self.data_dir, self.journal.min_free_bytes)
        run_id = new_run_id()
        try:
            reservation = self._reserve(spec, visitor_token=visitor_token, visitor_id=visitor_id)
        except KlingError as exc:
            refusal = exc

            async def refused(_handle: RunHandle) -> JobResult:
                raise refusal

            return self.runner.submit(run_id, refused, tab=spec.tab.value, owner=owner)
        began: list[bool] = []

        async def job(handle: RunHandle) -> JobResult:
            began.append(True)  # from here on, run() gives the reservation back if it must
            return await self.run(spec, visitor_token=visitor_token, visitor_id=visitor_id,
                                  owner=owner, on_progress=handle.report,
                                  cancel_event=handle.cancel_event, run_id=run_id,
                                  parent_id=parent_id, takes=takes, reservation=reservation)

        def settle(exc: BaseException) -> None:
            if reservation is not None and not began:  # ended in line: never ran
                self.guard.release(reservation)
            self._settle_queued(run_id, exc)

        try:  # the row first: the run may start (and fill it in) at once
            row = self._queued_row(run_id, spec, visitor_token=visitor_token, owner=owner,
                                   parent_id=parent_id)
            # Its admission too: a restart that finds it never run gives the quota back.
            self.library.create(replace(row, admission=reservation.admission)
                                if reservation is not None else row)
        except LibraryError as exc:  # the row is a nicety while it waits; the run goes on
            log.warning("could not journal queued run %s: %s", run_id, exc)
        try:
            return self.runner.submit(run_id, job, tab=spec.tab.value, owner=owner, queued=True,
                                      settle=settle)
        except AccessError as exc:  # the line is full: nothing is kept
            settle(exc)
            raise

    def _reserve(self, spec: JobSpec, *, visitor_token: Secret | None,
                 visitor_id: str) -> Reservation | None:
        """The cheap checks, then the visitor's quota reserved at the run's most (None with
        their own key). Raises InputError / AccessError; opens no file beyond one stat each."""
        bounds.check_spec(spec)
        if visitor_token:
            return None
        self.guard.check_sign_in(visitor_id)
        return self.guard.admit(visitor_id, bounds.max_cost(spec))

    def _queued_row(self, run_id: str, spec: JobSpec, *, visitor_token: Secret | None,
                    owner: str, parent_id: str | None) -> Run:
        """The row of a run waiting in line: what was asked, so the library lists it and a
        reloaded tab shows it (its inputs too); `run()` fills in the rest once it starts."""
        inputs: dict[str, Any] = {k: v for k, v in (
            ("start_image", spec.start_image), ("end_image", spec.end_image),
            ("reference_images", list(spec.reference_images)),
            ("source_video", spec.reference_video)) if v}
        return Run(id=run_id, owner=owner, tab=spec.tab.value, status=lib.QUEUED,
                   created_at=time.time(), prompt=spec.prompt,
                   prompt_sent=normalize_tokens(spec.prompt), settings=spec_settings(spec),
                   inputs=inputs, backend=self.routes.backend_for(visitor_token),
                   key_kind="visitor" if visitor_token else "host", parent_id=parent_id,
                   log_line="Waiting in line for a free slot", model=self._model_ref(spec))

    def _model_ref(self, spec: JobSpec) -> str:
        """What the run's model is called on Replicate (a pinned version where the host set
        one): recorded with the run, and the name its create is sent to."""
        try:
            return self.settings.models.ref(spec.model)
        except KeyError:
            return self.settings.models.ref(None)

    def _settle_queued(self, run_id: str, exc: BaseException) -> None:
        """A run that ended before `run()` journaled it: cancelled in line (kept, as canceled),
        or refused by its checks or the host's limits (its row goes: such runs were never
        kept, and the page says why)."""
        row = self.library.get(run_id)
        if row is None or row.status != lib.QUEUED:
            return
        if isinstance(exc, PredictionError) and exc.status == "canceled":
            self.library.update(run_id, status=lib.CANCELED, error=CANCELED_IN_LINE,
                                log_line=CANCELED_IN_LINE)
            return
        self.library.update(run_id, status=lib.FAILED)
        self.library.delete(run_id)

    def handle(self, run_id: str) -> RunHandle | None:
        return self.runner.get(run_id)

    def cancel_run(self, run_id: str) -> bool:
        """Cancel a run in flight in this process; True when there was one to cancel."""
        handle = self.runner.get(run_id)
        if handle is None or handle.done:
            return False
        handle.cancel()
        return True

    async def run(
        self,
        spec: JobSpec,
        *,
        visitor_token: Secret | None,
        visitor_id: str,
        owner: str = "local",
        session_id: str | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        cancel_event: asyncio.Event | None = None,
        run_id: str | None = None,
        parent_id: str | None = None,
        takes: dict[str, Any] | None = None,
        reservation: Reservation | None = None,
    ) -> JobResult:
        """probe -> validate -> (fix) -> journal -> upload -> create -> wait -> download.

        `visitor_id` is who counts against the host's limits; `owner` whose library the run
        goes into. Raises InputError before anything is journaled or sent when the job cannot
        run as it is. The run's row is written before the paid request and updated after every
        step, so a restart can finish it (kling_ui.runs.resumer). `session_id` is accepted for
        callers of the old signature and no longer used: files belong to runs, not sessions.

        Cheap first (issue #20): counts, sizes, the sign-in and the visitor's quota, reserved at
        the run's most, before any probe (`reservation`, when `start` made it already); it is
        settled to the estimate once probed, and given back whenever the run ends without a
        prediction. Its media work runs in the bounded pool as the visitor's (kling_ui.hosting.bounds).
        """
        del session_id
        # A disk too full for the output: refused before any fix, upload or paid request.
        disk.check_room(self.data_dir, self.journal.min_free_bytes)
        if reservation is None:
            reservation = self._reserve(spec, visitor_token=visitor_token, visitor_id=visitor_id)
        created: list[str] = []  # the prediction id, once Replicate has made one (and billed)
        share = self.shares.join(takes)
        try:
            with bounds.acting_for(visitor_id):
                return await self._run(
                    spec, visitor_token=visitor_token, owner=owner, on_progress=on_progress,
                    cancel_event=cancel_event, run_id=run_id, parent_id=parent_id, takes=takes,
                    reservation=reservation, created=created, visitor_id=visitor_id,
                    share=share)
        except BaseException:
            if reservation is not None and not created:
                # Never reached Replicate as a paid run: give the visitor their run back. Once
                # a prediction exists it counts, even if the download fails afterwards.
                self.guard.release(reservation)
            raise
        finally:
            await self.shares.leave(share)  # the last take of a group deletes its uploads

    async def _run(self, spec: JobSpec, *, visitor_token: Secret | None, owner: str,
                   on_progress: Callable[[Progress], None] | None,
                   cancel_event: asyncio.Event | None, run_id: str | None,
                   parent_id: str | None, takes: dict[str, Any] | None,
                   reservation: Reservation | None, created: list[str],
                   visitor_id: str = "", share: TakeShare | None = None) -> JobResult:
        """`run` once its reservation is made: `created` gets the prediction's id. `share` is
        what this take's group shares (kling_ui.runs.takeshare): one fix, one upload each."""
        t0 = self._clock()

        def emit(p: Progress) -> None:
            if on_progress is not None:
                on_progress(replace(p, elapsed=p.elapsed or self._clock() - t0))

        emit(Progress(log_line="Checking inputs"))
        job = await self.checks.request(spec)
        problems = rules.validate(job)
        fixes: list[Fix] = []
        wants_window = bool(job.reference_video) and (
            spec.video_start > 0 or spec.video_length is not None)
        if spec.auto_fix and (wants_window or any(p.fixable for p in problems)):
            probed = job

            async def fix() -> tuple[JobRequest, list[Fix]]:
                return await self.checks.doctor(spec, probed, self.files.temp_dir("work"), emit)

            if share is not None and share.making(FIXED) and job.reference_video is not None:
                emit(Progress(log_line="Fixing the video (this can take a while)"))  # take 1's
            shared = await share.once(FIXED, fix) if share is not None else None
            job, fixes = (shared[0], list(shared[1])) if shared is not None else await fix()
            problems = rules.validate(job)
        if rules.errors_of(problems):
            raise InputError.from_problems(problems)
        warnings = tuple(f"{p.field}: {p.message}" for p in problems if not p.is_error)

        cost = estimate_cost(job)
        if reservation is not None:
            reservation = self.guard.settle(reservation, cost)
        client, token, backend = await self.routes.route(visitor_token)
        run_id = run_id or new_run_id()
        journaled = False
        uploaded: list[UploadedFile] = []  # this run's own uploads (a group's are its share's)
        shared_files: list[UploadedFile] = []
        deleting: list[asyncio.Future[int]] = []  # uploads deleted while the output downloads
        early: dict[str, concurrent.futures.Future[UploadedFile]] = {}
        try:
            # The page's speculative uploads of exactly these files with this key (before the
            # files are kept: the kept copy may be a new inode); the run deletes them with its own.
            early = (self.speculation.claim(visitor_id, spec.tab.value, slot_paths(job),
                                            key_id(backend, token))
                     if self.speculation is not None else {})
            # Which exact files these are, before the run keeps its own copies (a group's
            # takes send the same files: one upload of each for all of them).
            ids = {slot: FileKey.of(path) for slot, path in slot_paths(job).items()}
            job, inputs = await asyncio.to_thread(self.files.keep_inputs, run_id, job, spec)
            original, label = _original_of(job)
            self.journal.start(Run(
                id=run_id, owner=owner, tab=spec.tab.value, status=lib.PREPARING,
                created_at=time.time(), prompt=spec.prompt,
                prompt_sent=normalize_tokens(spec.prompt), settings=spec_settings(spec),
                inputs=inputs, backend=backend, key_kind="visitor" if visitor_token else "host",
                estimated_cost=cost, original=original.path if original else None,
                original_label=label, original_facts=facts_of(original), warnings=list(warnings),
                fixes=[{"field": f.field, "action": f.action, "detail": f.detail} for f in fixes],
                parent_id=parent_id, log_line="Uploading inputs",
                metrics={"takes": dict(takes)} if takes else {},
                admission=reservation.admission if reservation is not None else None,
                model=self._model_ref(spec)))
            journaled = True
            emit(Progress(log_line="Uploading inputs"))
            paths = [i.path for i in job.images]
            if job.reference_video is not None:
                paths.append(job.reference_video.path)
            urls, uploaded, shared_files = await sending.input_urls(
                client, token, job, paths, early, share=share, ids=ids,
                key=key_id(backend, token))
            body = build_input(job, urls)
            # The exact body, before the create: after a restart it identifies the prediction.
            self.library.update(run_id, request=body, input_sent=shorten_urls(body),
                                status=lib.STARTING, log_line="Creating the prediction")
            if cancel_event is not None and cancel_event.is_set():
                raise PredictionError("Canceled before the job started; nothing was billed.",
                                      prediction_id=None, status="canceled")
            emit(Progress(log_line="Creating the prediction"))

            def on_created(p: Prediction) -> None:
                created.append(p.id)
                # "Creating the prediction" is over: the row's line waits for the model's own.
                self.library.update(run_id, prediction_id=p.id, log_line="",
                                    status=lib.STARTING if p.status == "starting" else lib.PROCESSING)

            journal_output = self.journal.output(run_id)

            def on_finished(p: Prediction) -> None:
                journal_output(p)
                deleting.append(asyncio.ensure_future(client.delete_files(uploaded, token)))

            prediction, _ = await client.run(
                body, token, dest=str(self.library.run_dir(run_id) / "output.mp4"),
                on_update=self.journal.progress(run_id, emit), cancel_event=cancel_event,
                deadline=self.settings.job_timeout, on_created=on_created,
                expected_seconds=self.predict_times.median(spec.tab.value),
                on_finished=on_finished, model=self._model_ref(spec),
            )
            self.predict_times.add(spec.tab.value, prediction.predict_time)
        except BaseException as exc:
            if journaled and created and isinstance(exc, StorageError):
                raise self.journal.wait_for_disk(run_id, exc) from exc  # paid for: never lost
            if journaled:
                self.journal.failure(run_id, exc, created)
            raise
        finally:
            if deleting:
                await deleting[0]
            else:
                await client.delete_files(uploaded, token)
            await sending.drop_unused(client, token, early, uploaded + shared_files)
        return await self.outputs.finish(run_id, prediction, emit)
