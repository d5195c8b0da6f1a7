"""Files on Replicate's Files API that are not deleted yet (issue #22): a row per upload, in the
library's file (migration 5).

A run deletes its uploads when its prediction ends; a take group's last take deletes the group's;
the page's speculative uploads go when their input changes or is left. All of that lives in one
process's memory, so a process killed in between (SIGKILL, a crash, a host's restart) used to
leave the visitor's clip on Replicate until the file expired. Now the client writes a row when
an upload is made and removes it when the file is deleted (or found gone), and the next process
deletes what a dead one left (kling_ui.runs.orphans): a stray is an upload of a process that no
longer exists (on this host: its pid is gone; anywhere: it has not beaten for WORKER_GONE_AFTER),
used by no run still in flight.

The row never holds the key: `key_hash` is sha256 of the server, the file's id and the key, so
the process that knows a key can tell its rows, and rows cannot be linked to each other.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass

from ..core.config import Secret
from .schema import IN_FLIGHT, Database, worker_gone

WORKER_BEAT_SECONDS = 60.0  # how often a live process says so (kling_ui.runs.orphans)
WORKER_GONE_AFTER = 3 * WORKER_BEAT_SECONDS  # unseen this long: gone, whatever its host


def upload_stamp(base_url: str, file_id: str, key: str) -> str:
    """The `key_hash` of an upload made at `base_url` with `key` (the revealed secret)."""
    return hashlib.sha256(f"{base_url}\0{file_id}\0{key}".encode()).hexdigest()


@dataclass(frozen=True)
class Upload:
    id: str
    base_url: str
    key_hash: str
    worker: str
    created_at: float
    expires_at: float | None

    def made_with(self, token: Secret) -> bool:
        return upload_stamp(self.base_url, self.id, token.reveal()) == self.key_hash


def _upload(row: sqlite3.Row) -> Upload:
    return Upload(id=row["id"], base_url=row["base_url"], key_hash=row["key_hash"],
                  worker=row["worker"], created_at=float(row["created_at"]),
                  expires_at=None if row["expires_at"] is None else float(row["expires_at"]))


class Uploads(Database):
    """The upload rows: made, gone, and the strays a dead process left."""

    worker: str  # set by kling_ui.library.store.Library

    def upload_made(self, base_url: str, file_id: str, token: Secret,
                    expires_at: float | None) -> None:
        key_hash = upload_stamp(base_url, file_id, token.reveal())
        with self._tx() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO uploads (id, base_url, key_hash, worker, created_at, "
                "expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                (file_id, base_url, key_hash, self.worker, self._clock(), expires_at))

    def upload_gone(self, base_url: str, file_id: str) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM uploads WHERE base_url = ? AND id = ?", (base_url, file_id))

    def uploads_left(self) -> list[Upload]:
        """Every upload not deleted yet, oldest first."""
        with self._tx() as conn:
            rows = conn.execute("SELECT * FROM uploads ORDER BY created_at").fetchall()
        return [_upload(r) for r in rows]

    def stray_uploads(self) -> list[Upload]:
        """Uploads of processes that no longer exist, which no run in flight sends (a run
        resumed after the restart keeps its inputs until it ends), oldest first. Expired ones
        are forgotten here: Replicate has removed them already."""
        now = self._clock()
        marks = ",".join("?" * len(IN_FLIGHT))
        with self._tx() as conn:
            conn.execute("DELETE FROM uploads WHERE expires_at IS NOT NULL AND expires_at < ?",
                         (now,))
            rows = conn.execute(
                "SELECT * FROM uploads u WHERE worker != ? AND NOT EXISTS (SELECT 1 FROM runs r "
                f"WHERE r.status IN ({marks}) AND instr(coalesce(r.request, ''), u.id) > 0) "
                "ORDER BY created_at", (self.worker, *IN_FLIGHT)).fetchall()
            seen = {r["worker"]: float(r["seen_at"])
                    for r in conn.execute("SELECT worker, seen_at FROM workers")}
        return [u for u in map(_upload, rows)
                if worker_gone(u.worker) or seen.get(u.worker, 0.0) < now - WORKER_GONE_AFTER]

    def beat(self) -> None:
        """This process is alive (every WORKER_BEAT_SECONDS); rows of long-dead ones go."""
        now = self._clock()
        with self._tx() as conn:
            conn.execute("INSERT OR REPLACE INTO workers (worker, seen_at) VALUES (?, ?)",
                         (self.worker, now))
            conn.execute("DELETE FROM workers WHERE seen_at < ? AND worker NOT IN "
                         "(SELECT worker FROM uploads)", (now - 10 * WORKER_GONE_AFTER,))
