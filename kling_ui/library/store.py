"""The library: every run the Studio makes, kept in one SQLite file beside the run folders.

This module is the only place with SQL (STYLE.md, "What lasts, and where"). Layout on disk:

    <data dir>/library.sqlite3      runs and the host's spending ledger (WAL mode)
    <data dir>/runs/<run id>/       the inputs actually sent, the output (named
                                    edit-crown-on-girl-2026-11-25.mp4, see naming.py), poster.jpg
    <data dir>/tmp/                 previews and half-made fixes, swept by age (not ours)

A run's row is written before the paid request ("journal first") and updated at every step after
it, so a restart can find what was in flight (`unfinished()`) and the resumer can finish it. Rows
come back as frozen `Run` dataclasses with absolute paths; paths are stored relative to the data
folder, so the folder can be moved.

Concurrency: one connection per thread, short transactions, `BEGIN IMMEDIATE` where a read must
decide a write (admissions, claims). Several processes may open one folder (SQLite's locking keeps
the file whole); a run in flight is worked on by one process at a time through a lease
(`claim()`), so two app processes never poll or download the same prediction twice.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ..core.errors import LibraryError
from .ledger import Ledger
from .schema import (  # the statuses live with the schema; callers read them here (lib.QUEUED)
    ABORTED,
    CANCELED,
    DB_NAME,
    DOWNLOADING,
    FAILED,
    IN_FLIGHT,
    LOST,
    MIGRATIONS,
    PREPARING,
    PROCESSING,
    QUEUED,
    RUNS_DIR,
    STARTING,
    SUCCEEDED,
    TERMINAL,
    TIMED_OUT,
    TMP_DIR,
    WAITING_FOR_DISK,
    WAITING_FOR_KEY,
    worker_gone,
    worker_name,
)
from .shares import Shares
from .uploads import Uploads

# The schema's names and the runs' statuses, read here by callers of the store (lib.QUEUED,
# tests, the UI's allowed paths).
__all__ = ["ABORTED", "CANCELED", "DB_NAME", "DOWNLOADING", "FAILED", "IN_FLIGHT", "LOST",
           "MIGRATIONS", "PREPARING", "PROCESSING", "QUEUED", "RUNS_DIR", "STARTING", "SUCCEEDED",
           "TERMINAL", "TIMED_OUT", "TMP_DIR", "WAITING_FOR_DISK", "WAITING_FOR_KEY", "Library",
           "Run", "Totals"]

log = logging.getLogger(__name__)

SECRET_NAME = "browser-secret"
LEASE_SECONDS = 120.0  # a worker renews its lease on every update; a dead one's lapses



_JSON = ("settings", "inputs", "request", "input_sent", "output_facts", "original_facts",
         "warnings", "fixes", "metrics")
_PATHS = ("output", "poster", "original")


@dataclass(frozen=True)
class Run:
    """One row of the library. Paths are absolute; `inputs` maps a field to its file(s)."""

    id: str
    owner: str
    tab: str
    status: str
    created_at: float
    updated_at: float = 0.0
    finished_at: float | None = None
    prompt: str = ""
    prompt_sent: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)  # field -> path or [paths]
    request: dict[str, Any] | None = None  # the exact body sent on create (for exact matching)
    input_sent: dict[str, Any] = field(default_factory=dict)  # shortened, for display
    prediction_id: str | None = None
    backend: str = "simulator"
    key_kind: str = "host"  # host (the host's key or simulator) or visitor (their own key)
    estimated_cost: float = 0.0
    predict_time: float | None = None
    output: str | None = None
    poster: str | None = None
    original: str | None = None
    original_label: str = ""
    output_facts: dict[str, Any] = field(default_factory=dict)
    original_facts: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    fixes: list[dict[str, str]] = field(default_factory=list)  # {field, action, detail}
    parent_id: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    log_line: str = ""
    fraction: float | None = None
    worker: str | None = None
    lease_until: float | None = None
    admission: int | None = None  # its row in the host's ledger (kling_ui.hosting.access), if admitted
    output_url: str | None = None  # the prediction's output, journaled once it succeeded
    output_until: float | None = None  # time.time() after which Replicate no longer has it
    model: str = "kwaivgi/kling-o1"  # the Replicate model it ran on (owner/name[:version])

    @property
    def in_flight(self) -> bool:
        return self.status in IN_FLIGHT

    @property
    def charged(self) -> bool | None:
        """Whether Replicate bills this run its estimated cost: None while that is not known
        (in flight, or lost track of), True once it made a video, False when it ended without
        one. Kling O1 is billed per second of output (shared/reference/kling-o1.md, "Prices"),
        so a prediction canceled or failed before its video costs nothing; one canceled or
        failed here after Replicate made the video (during the download) is billed. A simulated
        run is never billed: `backend` says so beside this."""
        if self.status == SUCCEEDED or self.output or self.output_url:
            return True
        if self.in_flight or self.status == LOST:
            return None
        return False


@dataclass(frozen=True)
class Totals:
    runs: int
    in_flight: int
    spent_today: float  # estimated, on Replicate: runs with a prediction, not simulated
    spent_all: float
    simulated: int = 0  # runs on the offline simulator (never billed)


_COLUMNS = tuple(f.name for f in fields(Run))


def new_run_id() -> str:
    """A run's id: unguessable, since its files are served by path (96 random bits)."""
    return secrets.token_hex(12)



class Library(Shares, Uploads, Ledger):
    """The runs of this Studio in `root` (and, from `Ledger`, the host's spending ledger).

    Raises LibraryError (never a bare OSError or sqlite3 error) when the folder cannot be used:
    read-only, full, or holding a database from a newer version of the Studio.
    """

    def __init__(self, root: str | os.PathLike[str], *, clock: Callable[[], float] = time.time) -> None:
        self.worker = worker_name()  # whose lease a claimed run is (`claim`, runs.resumer)
        super().__init__(root, clock=clock)

    # -- paths -----------------------------------------------------------------------------

    def run_dir(self, run_id: str) -> Path:
        safe = "".join(c for c in run_id if c.isalnum())[:64]
        if not safe or safe != run_id:
            raise LibraryError(f"{run_id!r} is not a run id.")
        path = self.root / RUNS_DIR / safe
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def tmp_dir(self) -> Path:
        return self.root / TMP_DIR

    def legacy_browser_secret(self) -> str | None:
        """The secret that encrypted browsers' library keys in localStorage before the library
        cookie (kling_ui.hosting.identity), if this folder has one: only to adopt those keys once.
        Gradio sent it to every visitor, so it protects nothing now; it is never made anew."""
        try:
            return (self.root / SECRET_NAME).read_text(encoding="utf-8").strip() or None
        except OSError:
            return None

    def reassign(self, old_owner: str, new_owner: str) -> int:
        """Move every run of `old_owner` to `new_owner` (a browser's old key adopted into its
        cookie); returns how many moved."""
        if not old_owner or not new_owner or old_owner == new_owner:
            return 0
        with self._tx() as conn:
            return conn.execute("UPDATE runs SET owner = ? WHERE owner = ?",
                                (new_owner, old_owner)).rowcount

    def private_paths(self) -> list[str]:
        """Files in the data folder that must never be served to a browser."""
        return [str(self.root / name) for name in
                (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm", SECRET_NAME)]

    def _rel(self, path: str | None) -> str | None:
        if not path:
            return None
        p = Path(path).resolve()
        return str(p.relative_to(self.root)) if p.is_relative_to(self.root) else str(p)

    def _abs(self, rel: str | None) -> str | None:
        if not rel:
            return None
        return str(self.root / rel) if not os.path.isabs(rel) else rel

    # -- rows ------------------------------------------------------------------------------

    def _to_row(self, values: dict[str, Any]) -> dict[str, Any]:
        row = dict(values)
        for key in _JSON:
            if key in row:
                row[key] = None if row[key] is None else json.dumps(row[key], default=str)
        for key in _PATHS:
            if key in row:
                row[key] = self._rel(row[key])
        if "inputs" in values:
            row["inputs"] = json.dumps({k: self._rel_any(v) for k, v in (values["inputs"] or {}).items()})
        return row

    def _rel_any(self, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return [self._rel(v) for v in value]
        return self._rel(value) if isinstance(value, str) else value

    def _abs_any(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self._abs(v) for v in value]
        return self._abs(value) if isinstance(value, str) else value

    def _from_row(self, row: sqlite3.Row) -> Run:
        values = {k: row[k] for k in row.keys() if k in _COLUMNS}  # noqa: SIM118 - a Row iterates values
        for key in _JSON:
            raw = values.get(key)
            values[key] = None if raw is None else json.loads(raw)
        for key in _PATHS:
            values[key] = self._abs(values.get(key))
        values["inputs"] = {k: self._abs_any(v) for k, v in (values.get("inputs") or {}).items()}
        if values.get("settings") is None:
            values["settings"] = {}
        return Run(**values)

    def create(self, run: Run) -> Run:
        """Journal a new run (before anything is spent on it); returns it as stored."""
        now = self._clock()
        run = replace(run, created_at=run.created_at or now, updated_at=now,
                      worker=self.worker, lease_until=now + LEASE_SECONDS)
        row = self._to_row({name: getattr(run, name) for name in _COLUMNS})
        cols = ", ".join(row)
        marks = ", ".join(f":{k}" for k in row)
        with self._tx() as conn:
            conn.execute(f"INSERT INTO runs ({cols}) VALUES ({marks})", row)
        return run

    def update(self, run_id: str, **values: Any) -> None:
        """Change some fields of a run (and renew this worker's lease on it)."""
        unknown = set(values) - set(_COLUMNS)
        if unknown:
            raise ValueError(f"unknown run fields: {sorted(unknown)}")
        now = self._clock()
        values.setdefault("updated_at", now)
        if values.get("status") in TERMINAL:
            values.setdefault("finished_at", now)
            values.setdefault("lease_until", None)
        elif "lease_until" not in values:
            values["lease_until"] = now + LEASE_SECONDS
            values.setdefault("worker", self.worker)
        row = self._to_row(values)
        sets = ", ".join(f"{k} = :{k}" for k in row)
        with self._tx() as conn:
            conn.execute(f"UPDATE runs SET {sets} WHERE id = :_id", {**row, "_id": run_id})

    def get(self, run_id: str) -> Run | None:
        with self._tx() as conn:
            row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return self._from_row(row) if row else None

    def runs(
        self,
        *,
        owner: str | None = None,
        tab: str | None = None,
        status: str | Sequence[str] | None = None,
        search: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[Run]:
        """Runs newest first. `owner=None` means every owner (a local single-user Studio)."""
        where, args = self._filters(owner=owner, tab=tab, status=status, search=search)
        sql = f"SELECT * FROM runs {where} ORDER BY created_at DESC LIMIT ? OFFSET ?"
        with self._tx() as conn:
            rows = conn.execute(sql, [*args, int(limit), int(offset)]).fetchall()
        return [self._from_row(r) for r in rows]

    @staticmethod
    def _filters(*, owner: str | None, tab: str | None = None,
                 status: str | Sequence[str] | None = None,
                 search: str | None = None) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []
        if owner is not None:
            clauses.append("owner = ?")
            args.append(owner)
        if tab:
            clauses.append("tab = ?")
            args.append(tab)
        if status:
            wanted = [status] if isinstance(status, str) else list(status)
            clauses.append(f"status IN ({', '.join('?' * len(wanted))})")
            args += wanted
        if search and search.strip():
            clauses.append("(prompt LIKE ? ESCAPE '\\' OR prompt_sent LIKE ? ESCAPE '\\')")
            pattern = "%" + search.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            args += [pattern, pattern]
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", args

    def latest(self, owner: str | None, tab: str) -> Run | None:
        """The tab's latest run of its own: a file made from one (a splice, issue #24) is not
        what the tab ran, so a reload shows the edit, not its splice."""
        for run in self.runs(owner=owner, tab=tab, limit=20):
            if not run.settings.get("derived"):
                return run
        return None

    def children(self, parent_id: str) -> list[Run]:
        """Runs made from `parent_id` (next shots, splices, sequences), oldest first."""
        with self._tx() as conn:
            rows = conn.execute("SELECT * FROM runs WHERE parent_id = ? ORDER BY created_at",
                                (parent_id,)).fetchall()
        return [self._from_row(r) for r in rows]

    def output_names(self, stem: str) -> set[str]:
        """File names of the outputs already called `stem*` (a new output's must differ)."""
        pattern = "%" + stem.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self._tx() as conn:
            rows = conn.execute("SELECT output FROM runs WHERE output LIKE ? ESCAPE '\\'",
                                (pattern,)).fetchall()
        return {os.path.basename(r[0]) for r in rows if r[0]}

    def takes(self, group: str) -> list[Run]:
        """The runs of one group of takes (issue #14), in take order."""
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT * FROM runs WHERE json_extract(metrics, '$.takes.group') = ? "
                "ORDER BY json_extract(metrics, '$.takes.index'), created_at", (group,)).fetchall()
        return [self._from_row(r) for r in rows]

    def set_keeper(self, group: str, run_id: str) -> bool:
        """Mark `run_id` the keeper of its group of takes (metrics["keeper"] = True) and unmark
        the others, in one transaction (a finished run's metrics change nowhere else at the
        same time). False when `run_id` is not a take of `group`."""
        with self._tx(immediate=True) as conn:
            rows = conn.execute(
                "SELECT id, metrics FROM runs WHERE json_extract(metrics, '$.takes.group') = ?",
                (group,)).fetchall()
            if run_id not in {r["id"] for r in rows}:
                return False
            for row in rows:
                metrics = json.loads(row["metrics"] or "{}")
                if row["id"] == run_id:
                    metrics["keeper"] = True
                else:
                    metrics.pop("keeper", None)
                conn.execute("UPDATE runs SET metrics = ?, updated_at = ? WHERE id = ?",
                             (json.dumps(metrics), self._clock(), row["id"]))
        return True

    def recent_predict_times(self, tab: str, limit: int = 20) -> list[float]:
        """Model times of the newest succeeded runs of `tab` on Replicate (not simulated)."""
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT predict_time FROM runs WHERE tab = ? AND status = ? AND backend != "
                "'simulator' AND predict_time IS NOT NULL ORDER BY created_at DESC LIMIT ?",
                (tab, SUCCEEDED, int(limit))).fetchall()
        return [float(r[0]) for r in rows]

    def unfinished(self) -> list[Run]:
        """Every run still in flight, oldest first (what the resumer looks at on start-up)."""
        marks = ", ".join("?" * len(IN_FLIGHT))
        with self._tx() as conn:
            rows = conn.execute(f"SELECT * FROM runs WHERE status IN ({marks}) "
                                "ORDER BY created_at", IN_FLIGHT).fetchall()
        return [self._from_row(r) for r in rows]

    def claim(self, run_id: str) -> bool:
        """Take the lease on an in-flight run, if nobody alive holds it. True when ours now.

        A lease lapses after LEASE_SECONDS without an update; a lease held by a process of this
        host that no longer exists (killed, restarted) lapses at once.
        """
        now = self._clock()
        with self._tx(immediate=True) as conn:
            row = conn.execute("SELECT status, worker, lease_until FROM runs WHERE id = ?",
                               (run_id,)).fetchone()
            if row is None or row["status"] not in IN_FLIGHT:
                return False
            holder, until = row["worker"], row["lease_until"]
            free = holder is None or holder == self.worker or until is None or until < now
            if not free and holder:
                free = worker_gone(holder)
            if not free:
                return False
            conn.execute("UPDATE runs SET worker = ?, lease_until = ?, updated_at = ? WHERE id = ?",
                         (self.worker, now + LEASE_SECONDS, now, run_id))
        return True

    def delete(self, run_id: str) -> bool:
        """Delete a run's row and its folder. In-flight runs are refused (cancel them first)."""
        run = self.get(run_id)
        if run is None:
            return False
        if run.in_flight and run.status != WAITING_FOR_KEY:
            raise LibraryError("This run is still in flight; cancel it before deleting it.")
        with self._tx() as conn:
            conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        shutil.rmtree(self.root / RUNS_DIR / run_id, ignore_errors=True)
        return True

    def totals(self, *, owner: str | None = None, day_start: float | None = None) -> Totals:
        """How many runs, how many in flight, and the estimated spend on Replicate today (UTC)
        and in all: runs that made a prediction there (simulated runs are never billed)."""
        now = self._clock()
        start = day_start if day_start is not None else now - (now % 86400)
        where, args = self._filters(owner=owner)
        marks = ", ".join("?" * len(IN_FLIGHT))
        # As Run.charged: a run that ended without a video (canceled, failed) cost nothing.
        billed = ("prediction_id IS NOT NULL AND backend != 'simulator' AND (status NOT IN "
                  "('failed', 'canceled', 'aborted', 'timed out') OR output IS NOT NULL "
                  "OR output_url IS NOT NULL)")
        sql = (f"SELECT COUNT(*), SUM(status IN ({marks})), "
               f"SUM(CASE WHEN {billed} THEN estimated_cost ELSE 0 END), "
               f"SUM(CASE WHEN {billed} AND created_at >= ? THEN estimated_cost ELSE 0 END), "
               f"SUM(backend = 'simulator') FROM runs {where}")
        with self._tx() as conn:
            count, flying, spent, today, simulated = conn.execute(
                sql, [*IN_FLIGHT, start, *args]).fetchone()
        return Totals(runs=int(count or 0), in_flight=int(flying or 0),
                      spent_today=round(float(today or 0.0), 2),
                      spent_all=round(float(spent or 0.0), 2), simulated=int(simulated or 0))

    # -- retention -------------------------------------------------------------------------

    def prune(self, *, keep_days: float, max_bytes: int) -> list[str]:
        """Delete finished runs older than `keep_days` (0: keep), then the oldest finished ones
        while the run folders hold more than `max_bytes` (0: no cap). Returns the ids deleted.
        Runs in flight are never deleted.
        """
        deleted: list[str] = []
        marks = ", ".join("?" * len(TERMINAL))
        if keep_days > 0:
            cutoff = self._clock() - keep_days * 86400
            with self._tx() as conn:
                old = [r[0] for r in conn.execute(
                    f"SELECT id FROM runs WHERE status IN ({marks}) AND created_at < ?",
                    [*TERMINAL, cutoff])]
            for run_id in old:
                if self.delete(run_id):
                    deleted.append(run_id)
        if max_bytes > 0:
            with self._tx() as conn:
                finished = [r[0] for r in conn.execute(
                    f"SELECT id FROM runs WHERE status IN ({marks}) ORDER BY created_at", TERMINAL)]
            total = tree_size(self.root / RUNS_DIR)
            for run_id in finished:
                if total <= max_bytes:
                    break
                size = tree_size(self.root / RUNS_DIR / run_id)
                if self.delete(run_id):
                    deleted.append(run_id)
                    total -= size
        return deleted


def tree_size(path: Path) -> int:
    """Bytes of the files under `path` (one that vanishes meanwhile counts as none)."""
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.stat(os.path.join(dirpath, name)).st_size
            except OSError:
                continue
    return total
