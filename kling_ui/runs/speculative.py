"""Speculative uploads (issue #22 part 5): a page's input is uploaded once its card is settled,
so Run creates the prediction one round trip after the click instead of after a 20 MB upload.

- `offer(spec, ...)`, called by the page after each check of a tab, makes the visitor's
  speculative uploads for that tab match what Run would send now: a slot whose file changed or
  was cleared loses its upload (DELETE /v1/files/{id}); a file Run would send as it is, and
  that is not inlined (over 256 KB), is uploaded in the background with the key Run would use.
- `claim(...)`, at a run's upload step, hands the run the uploads made of exactly the files it
  sends (same slot, same file by path, size, mtime and inode, same key and backend), awaiting one
  still in flight; the run deletes them afterwards with its own. Anything else uploads as before.
- An upload unused for `ttl` (10 minutes; a tab left alone) is deleted, and on shutdown all are.

A file Run would fix first (a trim window, a re-encode, an image the doctor pads or shrinks) is
not speculated: the fix would spend the host's media time (and the visitor's media budget) for
a run that may never come, and its output changes with every move of the window. Such a run
uploads after its fix, as before.

Bounds (docs/SECURITY.md): per visitor (the run path's `visitor_id`) one upload per tab and slot
and `max_bytes` in all; none for a visitor with no usable key, or who would be refused a run on
the host's key (signed out, out of runs or of today's budget). Files come only from the spec the
page built through `ui.edge.own_upload`. Keys are compared by a hash, never kept beyond the
upload's life. Uploads and deletes run on the runner's loop. No gradio.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..core import rules
from ..core.config import Secret
from ..core.errors import KlingError
from ..core.jobs import JobSpec
from ..core.models import ImageInfo, JobRequest, VideoInfo
from ..hosting import bounds
from ..hosting.access import Guard
from ..replicate.protocol import UploadedFile
from ..replicate.wire import INLINE_MAX_BYTES
from .checks import Checks
from .routes import SIMULATOR_TOKEN, Routes
from .runner import Runner

log = logging.getLogger(__name__)

TTL_SECONDS = 600.0  # an upload unused this long (a tab left alone) is deleted [issue #22]
VISITOR_MAX_BYTES = 200_000_000  # one visitor's speculative uploads together: two 100 MB clips
TOTAL_MAX_BYTES = 2_000_000_000  # every visitor's together: many addresses cannot make it unbounded
SWEEP_EVERY = 60.0  # how often unused uploads are looked for (at most; a quarter of the TTL)
CLOSE_SECONDS = 5.0  # how long shutdown waits for its deletes


def key_id(backend: str, token: Secret) -> str:
    """Which key (and backend) an upload was made with, as a hash: never the key itself."""
    return hashlib.sha256(f"{backend}\0{token.reveal()}".encode()).hexdigest()


@dataclass(frozen=True)
class FileKey:
    """The exact file: its path, size, modification time and inode (Gradio's uploads are never
    rewritten in place; a fixed file is a new one)."""

    path: str
    size: int
    mtime_ns: int
    inode: int

    @classmethod
    def of(cls, path: str) -> FileKey | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return cls(os.path.abspath(path), st.st_size, st.st_mtime_ns, st.st_ino)


@dataclass
class Speculative:
    """One speculative upload: the file, the key it went with, and the upload (in flight or
    made) on the runner's loop."""

    file: FileKey
    key: str  # key_id of the key and backend
    visitor_token: Secret | None  # routes to the same key and backend to delete it
    future: concurrent.futures.Future[UploadedFile]
    touched: float


Slot = tuple[str, str, str]  # (visitor, tab, slot)


class Speculation:
    """The registry of speculative uploads, per visitor, tab and slot. Thread-safe."""

    def __init__(self, *, routes: Routes, runner: Runner, guard: Guard, checks: Checks,
                 clock: Callable[[], float] = time.monotonic, ttl: float = TTL_SECONDS,
                 max_bytes: int = VISITOR_MAX_BYTES, total_max_bytes: int = TOTAL_MAX_BYTES
                 ) -> None:
        self.routes = routes
        self.runner = runner
        self.guard = guard
        self.checks = checks
        self.clock = clock
        self.ttl = ttl
        self.max_bytes = max_bytes
        self.total_max_bytes = total_max_bytes
        self._entries: dict[Slot, Speculative] = {}
        self._lock = threading.Lock()
        self._sweeper: concurrent.futures.Future[None] | None = None
        self.deleting: list[concurrent.futures.Future[bool]] = []  # the latest deletes (tests)

    # -- the page's side ---------------------------------------------------------------------

    async def offer(self, spec: JobSpec, *, visitor_token: Secret | None,
                    visitor_id: str) -> list[str]:
        """Make `visitor_id`'s speculative uploads for `spec.tab` match what Run would send:
        stale ones deleted, missing ones started. Returns the slots uploading or uploaded.
        Never raises for a bad input or key: the checks and the run say what is wrong."""
        kid = self._key_for(spec, visitor_token, visitor_id)
        try:
            wanted = await self._wanted(spec) if kid is not None else {}
        except KlingError:
            wanted = {}
        tab = spec.tab.value
        stale: list[Speculative] = []
        start: list[tuple[Slot, FileKey]] = []
        now = self.clock()
        with self._lock:
            for slot in [s for s in self._entries if s[0] == visitor_id and s[1] == tab]:
                entry = self._entries[slot]
                if wanted.get(slot[2]) == entry.file and entry.key == kid and not _failed(entry):
                    entry.touched = now
                    continue
                stale.append(self._entries.pop(slot))
            held = sum(e.file.size for s, e in self._entries.items() if s[0] == visitor_id)
            total = sum(e.file.size for e in self._entries.values())
            for name, file in wanted.items():
                slot = (visitor_id, tab, name)
                if slot in self._entries:
                    continue
                if held + file.size > self.max_bytes or total + file.size > self.total_max_bytes:
                    log.info("speculative upload skipped: the visitor's %d MB or all visitors' "
                             "%d MB are taken", self.max_bytes // 1_000_000,
                             self.total_max_bytes // 1_000_000)
                    continue
                held += file.size
                total += file.size
                start.append((slot, file))
            for slot, file in start:
                self._entries[slot] = Speculative(
                    file, kid or "", visitor_token,
                    self._on_runner(self._upload(file, visitor_token)), now)
        for entry in stale:
            self._delete(entry)
        if start:
            self._start_sweeper()
        return sorted(name for (v, t, name) in self._entries if v == visitor_id and t == tab)

    def _key_for(self, spec: JobSpec, visitor_token: Secret | None,
                 visitor_id: str) -> str | None:
        """The key_id of the key Run would use, or None when Run would be refused: no key,
        or the host's key for a visitor signed out or out of quota."""
        backend = self.routes.backend_for(visitor_token)
        if backend == "simulator":
            token: Secret | None = SIMULATOR_TOKEN
        else:
            token = visitor_token or self.routes.settings.token
        if not token:
            return None
        if not visitor_token:  # the host's key: only for a visitor it would admit now
            if self.guard.needs_sign_in(visitor_id):
                return None
            if self.guard.limited:
                q = self.guard.quota(visitor_id)
                if q.runs_hour_left == 0 or q.runs_day_left == 0 or (
                        q.budget_left is not None and q.budget_left < bounds.max_cost(spec)):
                    return None
        return key_id(backend, token)

    async def _wanted(self, spec: JobSpec) -> dict[str, FileKey]:
        """slot -> the file Run would upload as it is (no fix first, not inlined)."""
        bounds.check_spec(spec)  # counts and sizes, before any probe (cached after the card)
        out: dict[str, FileKey] = {}
        slots: list[tuple[str, str | None, str]] = [
            ("start_image", spec.start_image, "image"), ("end_image", spec.end_image, "image"),
            *((f"reference_images[{i}]", p, "image")
              for i, p in enumerate(spec.reference_images, 1)),
            ("reference_video", spec.reference_video, "video")]
        for slot, path, kind in slots:
            file = FileKey.of(path) if path else None
            if path is None or file is None or file.size <= INLINE_MAX_BYTES:
                continue
            info = await self.checks.probe(path, kind)
            if isinstance(info, VideoInfo):
                problems = rules.check_video(info)
                wants_window = spec.video_start > 0 or (
                    spec.video_length is not None and spec.video_length < info.duration - 0.05)
                fixed = spec.auto_fix and (wants_window or any(p.fixable for p in problems))
            elif isinstance(info, ImageInfo):
                problems = rules.check_image(info, slot)
                fixed = spec.auto_fix and any(p.fixable for p in problems)
            else:
                continue
            if fixed or any(p.is_error and not p.fixable for p in problems):
                continue  # fixed first (see the module's docstring), or refused: not sent as is
            out[slot] = file
        return out

    async def _upload(self, file: FileKey, visitor_token: Secret | None) -> UploadedFile:
        client, token, _backend = await self.routes.route(visitor_token)
        return await client.upload_file(file.path, token)

    # -- the run's side ----------------------------------------------------------------------

    def claim(self, visitor_id: str, tab: str, files: Mapping[str, str], key: str
              ) -> dict[str, concurrent.futures.Future[UploadedFile]]:
        """The speculative uploads of exactly `files` ({slot: path}, as the run will send
        them) made with `key`; each leaves the registry (the run deletes it with its own).
        A file that differs keeps its entry: the page may still show it."""
        out: dict[str, concurrent.futures.Future[UploadedFile]] = {}
        with self._lock:
            for slot, path in files.items():
                entry = self._entries.get((visitor_id, tab, slot))
                if entry is None or entry.key != key or FileKey.of(path) != entry.file:
                    continue
                del self._entries[(visitor_id, tab, slot)]
                out[slot] = entry.future
        return out

    # -- lifetimes ---------------------------------------------------------------------------

    def sweep(self) -> int:
        """Delete the uploads unused for `ttl`; returns how many went."""
        cutoff = self.clock() - self.ttl
        with self._lock:
            old = [s for s, e in self._entries.items() if e.touched <= cutoff]
            gone = [self._entries.pop(s) for s in old]
        for entry in gone:
            self._delete(entry)
        return len(gone)

    def held(self, visitor_id: str | None = None) -> dict[Slot, FileKey]:
        """What is held now (for the page's tests and the log)."""
        with self._lock:
            return {s: e.file for s, e in self._entries.items()
                    if visitor_id is None or s[0] == visitor_id}

    def close(self, timeout: float = CLOSE_SECONDS) -> int:
        """On shutdown: delete every speculative upload, best effort, waiting up to `timeout`
        seconds. Returns how many were deleted."""
        with self._lock:
            gone = list(self._entries.values())
            self._entries.clear()
            sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None:
            sweeper.cancel()
        if self.runner._loop is None:
            return 0  # nothing ever ran: nothing was uploaded
        futures = [self._delete(e) for e in gone]
        done, _ = concurrent.futures.wait(futures, timeout)
        deleted = sum(1 for f in done if not f.cancelled() and f.exception() is None
                      and f.result())
        for f in done:
            if not f.cancelled() and f.exception() is not None:
                log.warning("could not delete a speculative upload: %s", f.exception())
        if gone:
            log.info("deleted %d of %d unused speculative upload(s) on the way out",
                     deleted, len(gone))
        return deleted

    def _delete(self, entry: Speculative) -> concurrent.futures.Future[bool]:
        """DELETE the upload once it is made (a failed one has nothing to delete)."""
        async def delete() -> bool:
            try:
                made = await asyncio.wrap_future(entry.future)
            except (KlingError, OSError, concurrent.futures.CancelledError):
                return False
            client, token, _backend = await self.routes.route(entry.visitor_token)
            return await client.delete_file(made.id, token)

        future = self._on_runner(delete())
        self.deleting = [f for f in self.deleting if not f.done()] + [future]
        return future

    def _start_sweeper(self) -> None:
        with self._lock:
            if self._sweeper is not None and not self._sweeper.done():
                return
            every = max(0.05, min(SWEEP_EVERY, self.ttl / 4))

            async def loop() -> None:
                while True:
                    await asyncio.sleep(every)
                    try:
                        self.sweep()
                    except Exception:  # noqa: BLE001 - never let cleanup stop the runner
                        log.exception("sweeping speculative uploads failed")
                    with self._lock:
                        if not self._entries:
                            self._sweeper = None
                            return

            self._sweeper = self._on_runner(loop())

    def _on_runner(self, coro: Any) -> concurrent.futures.Future[Any]:
        return asyncio.run_coroutine_threadsafe(coro, self.runner.loop)



def _failed(entry: Speculative) -> bool:
    """An upload that ended in an error: replaced by a new one on the next offer."""
    f = entry.future
    return f.done() and (f.cancelled() or f.exception() is not None)


def slot_paths(job: JobRequest) -> dict[str, str]:
    """{slot: path} of the files a job sends, named as `offer` names them."""
    out = {name: info.path for name, info in (("start_image", job.start_image),
                                              ("end_image", job.end_image),
                                              ("reference_video", job.reference_video))
           if info is not None}
    out.update({f"reference_images[{i}]": img.path
                for i, img in enumerate(job.reference_images, 1)})
    return out
