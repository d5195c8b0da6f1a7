"""Uploads a dead process left on Replicate, deleted by the next (issue #22).

The client writes each upload down until it is deleted (kling_ui.library.uploads). A process
killed between an upload and its delete (a take group's shared clip, a run's own inputs, the
page's speculative upload) leaves rows behind; `delete_strays` deletes those files with the
key each was made with, when this process knows that key:

- the host's key (REPLICATE_API_TOKEN) at the server it was used with;
- a visitor's own key, when that visitor comes back and enters it (a resumed run of theirs
  deletes its group's strays once it ends; the key is never stored);
- the in-process simulator's: a dead process's simulator died with it, so its rows are
  simply forgotten.

A file whose key this process does not know stays until Replicate's own expiry (its row goes
then). `StrayWatch` beats for this process (so another host's Studio can tell it is alive) and
makes a pass every WORKER_BEAT_SECONDS: at start-up the pass finds what a killed predecessor
left; a run resumed after the restart keeps its inputs until it ends, and the next pass after
that deletes them.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from ..core.config import Secret
from ..core.errors import LibraryError
from ..library.uploads import WORKER_BEAT_SECONDS
from .routes import SIMULATOR_TOKEN

if TYPE_CHECKING:
    from ..library.store import Library
    from .routes import Routes
    from .runner import Runner

log = logging.getLogger(__name__)


async def delete_strays(library: Library, routes: Routes,
                        visitor_token: Secret | None = None) -> int:
    """Delete the stray uploads whose key this process knows; returns how many went."""
    keys = [k for k in (routes.settings.token, visitor_token) if k is not None]
    sim_base = routes.simulator_base()
    gone = 0
    for upload in library.stray_uploads():
        if upload.made_with(SIMULATOR_TOKEN):
            if upload.base_url != sim_base:  # a dead process's own simulator: gone with it
                library.upload_gone(upload.base_url, upload.id)
                gone += 1
                continue
            token: Secret | None = SIMULATOR_TOKEN
        else:
            token = next((k for k in keys if upload.made_with(k)), None)
        if token is None:
            continue  # a key this process does not know: it expires on Replicate's schedule
        client = await routes.client_for(upload.base_url)
        gone += await client.delete_file(upload.id, token)  # a 404 forgets the row too
    if gone:
        log.info("deleted %d upload(s) a stopped Studio left on Replicate", gone)
    return gone


class StrayWatch:
    """Beats for this process and deletes strays every `interval` seconds, on the runner's
    loop (the clients live there), in a daemon thread."""

    def __init__(self, library: Library, routes: Routes, runner: Runner,
                 interval: float = WORKER_BEAT_SECONDS) -> None:
        self.library, self.routes, self.runner = library, routes, runner
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        try:  # alive from the start: no other process mistakes us for gone
            library.beat()
        except LibraryError as exc:  # a full disk must not stop the Studio from starting
            log.warning("could not note this process in the library: %s", exc.message)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="kling-strays", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def once(self) -> int:
        self.library.beat()
        return int(self.runner.call(delete_strays(self.library, self.routes), 120.0))

    def _loop(self) -> None:
        while True:
            try:
                self.once()
            except Exception:  # noqa: BLE001 - the watch must outlive one bad pass
                log.exception("deleting uploads a stopped Studio left failed")
            if self._stop.wait(self.interval):
                return
