"""One mode tab's run: start it on the Studio's runner, watch it, reattach a reloaded page to
it, cancel it. The job never belongs to a handler: a reload or a closed tab leaves it running.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import gradio as gr

from ..core.errors import KlingError
from ..core.models import Progress
from ..i18n import t
from ..library.results import result_from_run
from .common import Changes, facts_html, progress_html, run_progress_html
from .compare import compare_html
from .finish import run_outputs
from .tab_checks import TabChecks
from .tab_layout import WATCH_EVERY, _failure_html, live_status, spec_from, spec_values
from .takes import (
    take_count,
)
from .visitor import Session, visitor_id


class TabRun(TabChecks):
    """The running half of a tab's handlers."""

    # -- run / cancel -------------------------------------------------------------------------

    def outputs_run(self) -> list[Any]:
        ui = self.ui
        return [ui.progress, ui.compare, ui.facts, ui.download, ui.summary, *run_outputs(ui.finish)]

    def outputs_reattach(self) -> list[Any]:
        return [*self.outputs_run(), self.ui.cancel]

    def after_result(self, event: Any) -> None:
        """After `event` (a page reattaching to the tab's run) the finishing panel follows the
        tab's result too (issue #13); tabs without a video original have none."""
        if self._after_result is not None:
            self._after_result(event)

    async def run(self, request: gr.Request, session: Session, *values: Any) -> Any:
        """Start the job on the Studio's runner, then watch it.

        The job does not belong to this handler: when the page reloads or closes, Gradio drops
        the handler and the job goes on; the reloaded page reattaches (`reattach`).
        """
        session.claim(request)  # Run pressed before the page's load answered
        v = dict(zip(self.input_names(), values, strict=False))
        spec = spec_from(self.ui.tab, v, library=self.studio.library, owner=session.owner)
        if take_count(v.get("takes")) > 1:  # several takes side by side (ui/takes.py)
            async for update in self.takes.run(request, session, spec, take_count(v["takes"])):
                yield update
            return
        grid = [*self.takes.hidden(), gr.skip()]  # one take: the tab as it always was
        handle = self.studio.start(spec, visitor_token=session.key,
                                   visitor_id=visitor_id(request, self.studio.settings.trusted_proxies), owner=session.run_owner(),
                                   parent_id=session.parents.pop(self.ui.tab.value, None))
        session.watching[self.ui.tab.value] = handle.run_id
        yield [progress_html(None, 0.0, message=t("status.checking_inputs")),
               *[gr.skip()] * (len(self.outputs_run()) - 1), *grid]
        async for update in self._watch(handle.run_id):
            yield [*update, *grid]

    async def _watch(self, run_id: str) -> Any:
        """Yield the run's progress until it ends, then its result (or say how it ended).

        Reads the runner's live handle when this process runs the job, else the library's
        journal (a run resumed elsewhere, or one that ended before the page came back).
        """
        skip = [gr.skip()] * (len(self.outputs_run()) - 1)
        changes = Changes()  # a message only when the status changes (the page counts seconds)
        while True:
            handle = self.studio.handle(run_id)
            if handle is not None:
                if handle.done:
                    break
                status = live_status(handle)
                if changes.new(status):
                    yield [status, *skip]
            else:
                run = self.studio.library.get(run_id)
                if run is None or not run.in_flight:
                    break
                status = run_progress_html(run)
                if changes.new(status):
                    yield [status, *skip]
                if run.status in ("waiting_for_key", "waiting_for_disk"):
                    return
            await asyncio.sleep(WATCH_EVERY)
        waiting = self.studio.library.get(run_id)
        if waiting is not None and waiting.status == "waiting_for_disk":
            # Paid for, saved once the disk has room (kling_ui.hosting.disk): a wait, not a failure.
            yield [run_progress_html(waiting), *skip]
            return
        handle = self.studio.handle(run_id)
        if handle is not None and handle.outcome()[0] is None and handle.outcome()[1] is None:
            handle = None  # a resumed run that ended without a result: its row says how
        if handle is not None:
            result, exc = handle.outcome()
            # The run's own time, from its row: a run resumed after a restart has a handle
            # only since then ("Done · 2 s" after a 40 s run; issue #23).
            row = self.studio.library.get(run_id)
            elapsed = max(handle.elapsed, (row.finished_at or row.updated_at) - row.created_at
                          if row is not None and not row.in_flight else 0.0)
            if exc is not None:
                # The whole message goes in the status, not under Gradio's red Error pill.
                yield [_failure_html(exc, handle.progress, elapsed), *skip]
                if not isinstance(exc, KlingError):
                    raise exc  # a bug: `guarded` logs it (and re-raises it under tests)
                return
            message = t("stage.done")
        else:
            run = self.studio.library.get(run_id)
            if run is None:
                yield [progress_html(None, 0.0, state="failed", message=t("status.gone")), *skip]
                return
            if run.status != "succeeded":
                yield [run_progress_html(run), *skip]
                return
            result = result_from_run(run)
            message = t("stage.done")
            elapsed = max(0.0, (run.finished_at or run.updated_at) - run.created_at)
        done = Progress(stage="done", status=result.status, prediction_id=result.prediction_id)
        yield [progress_html(done, elapsed, state="done", message=message),
               compare_html(result), facts_html(result),
               gr.File(value=result.output_path, visible=True),
               gr.JSON(value=result.summary(), visible=True),
               *([result] if self.ui.finish is not None else [])]

    async def reattach(self, session: Session, run_id: str | None) -> Any:
        """On page load: show this tab's latest run, and follow it while it runs, so a reload
        or a new tab picks up where the last one was. Cancel is live while the run is in flight.

        `run_id` is that run, this visitor's own, found at page load or when the tab is first
        opened (page.latest_id). Its inputs come back separately (`restore_inputs`), field by
        field, only where the person has not typed or dropped anything; a run this page already
        started here stays the one shown and cancelled."""
        if session.watching.get(self.ui.tab.value):
            yield [gr.skip()] * len(self.outputs_reattach())
            return
        run = self.studio.library.get(run_id) if run_id else None
        if run is None:
            yield [gr.skip()] * len(self.outputs_reattach())
            return
        session.watching[self.ui.tab.value] = run.id
        first = True
        async for update in self._watch(run.id):
            yield update + [gr.Button(interactive=run.in_flight) if first else gr.skip()]
            first = False
        if run.in_flight:
            yield [gr.skip()] * len(self.outputs_run()) + [gr.Button(interactive=False)]

    def outputs_restore(self) -> list[Any]:
        return [self.ui.restore, *self.ui.twins.values()]

    def restore_inputs(self, session: Session, run_id: str | None) -> Any:
        """The tab's latest run's inputs, for the browser to apply (issue #23).

        A plan, `{name: [value, default]}` as JSON text, and for each file field its file,
        into the field's hidden twin (the plan's value is then null): Gradio makes the file
        one the page may show and send back, as for any output. `assets/studio.js`'s
        `klingRestore` applies the plan when it lands, into the fields still left alone *then*:
        a field the person typed in, picked, pasted into or dropped a file on (uploads in
        flight included) keeps theirs, and so does one no longer at its default (a preset
        clicked meanwhile). Deciding when the run id set out let a clip dropped while this
        answer travelled, and uploaded before it landed, be replaced by the last run's."""
        twins = self.ui.twins
        names = self.input_names()
        run = self.studio.library.get(run_id) if run_id else None
        mine = run is not None and (self.studio.settings.library_scope == "all"
                                    or run.owner == session.run_owner())
        spec = result_from_run(run).spec if run is not None and mine else None
        files: dict[str, Any] = {name: gr.skip() for name in twins}
        plan: dict[str, Any] = {}
        if spec is not None:
            for name, comp, again in zip(names, self.input_components(),
                                         spec_values(spec, names), strict=False):
                if isinstance(again, dict):  # gr.skip(): the run has no value for it
                    continue
                if name in twins:
                    files[name] = again
                    again = None
                plan[name] = [again, comp.value]
        out = [json.dumps(plan, default=str), *files.values()]
        return out if len(out) > 1 else out[0]

    def running(self, session: Session) -> Any:
        """The live handle of the run this page follows in this tab, while it is in flight."""
        run_id = session.watching.get(self.ui.tab.value)
        handle = self.studio.handle(run_id) if run_id else None
        return handle if handle is not None and not handle.done else None

    def cancel(self, session: Session) -> tuple[Any, Any]:
        if self.takes.cancel(session):
            return progress_html(None, 0.0, state="canceling"), gr.Button(interactive=False)
        run_id = session.watching.get(self.ui.tab.value)
        if not run_id or not self.studio.cancel_run(run_id):
            return gr.skip(), gr.Button(interactive=False)
        # The watcher keeps "Canceling…" on screen until the prediction is confirmed stopped.
        return progress_html(None, 0.0, state="canceling"), gr.Button(interactive=False)


