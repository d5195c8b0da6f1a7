"""The resumer: at start-up, finish every run the last process left in flight.

It reads the library's journal (`Library.unfinished()`), takes the lease on each run nobody alive
holds (`Library.claim()`: two processes on one folder never follow one prediction twice), and
hands it to `Studio.resume` on the runner, which polls the run's one prediction to its end and
saves the output. It never creates a prediction, so a restart cannot pay twice.

Runs made with a visitor's own key cannot be resumed without it (the key is never stored): they
wait, marked "waiting_for_key", until that visitor comes back and enters it
(`resume_with_key`), which is said in their library.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from . import library as lib
from .config import Secret
from .errors import KlingError
from .runner import RunHandle

if TYPE_CHECKING:
    from .library import Run
    from .service import Studio

log = logging.getLogger(__name__)

RESTARTED_IN_LINE = ("The Studio restarted while this run waited in line, before it reached "
                     "Replicate, so nothing was billed. Run it again.")
WAITING_NOTE = ("This run was made with your own key before the Studio restarted. Enter the "
                "same key to fetch its result.")


def resume_unfinished(studio: Studio) -> list[str]:
    """Submit every unfinished run this process may take; returns the ids now being resumed."""
    resumed: list[str] = []
    for run in studio.library.unfinished():
        if run.status == lib.QUEUED and run.worker == studio.library.worker:
            continue  # in this process's line right now (its handle may not be registered yet)
        if studio.runner.get(run.id) is not None or not studio.library.claim(run.id):
            continue  # ours already, or another live process follows it
        if run.status == lib.QUEUED:  # it never left the line: nothing reached Replicate
            studio.library.update(run.id, status=lib.FAILED, error=RESTARTED_IN_LINE,
                                  log_line=RESTARTED_IN_LINE)
            continue
        if run.key_kind == "visitor":
            studio.library.update(run.id, status=lib.WAITING_FOR_KEY, log_line=WAITING_NOTE)
            continue
        _submit(studio, run, None)
        resumed.append(run.id)
    if resumed:
        log.info("resuming %d run(s) left in flight: %s", len(resumed), ", ".join(resumed))
    return resumed


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
        return await studio.resume(run, visitor_token=token, on_progress=handle.report,
                                   cancel_event=handle.cancel_event)

    return studio.runner.submit(run.id, job, tab=run.tab, owner=run.owner)
