"""The library's file: one SQLite database, its schema and numbered migrations, its connections.

`Database` opens `<data dir>/library.sqlite3` (WAL mode, one connection per thread, a busy
timeout), applies `MIGRATIONS` in order at start-up (`PRAGMA user_version` counts them), and
gives short transactions (`_tx`) whose sqlite errors become `LibraryError` with a message to act
on. The runs (`store.Library`) and the ledger (`ledger.Ledger`) build on it.
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..core.errors import LibraryError

log = logging.getLogger(__name__)

DB_NAME = "library.sqlite3"
RUNS_DIR = "runs"
TMP_DIR = "tmp"
BUSY_TIMEOUT_MS = 10_000

# Statuses. In flight: the row may still change. Terminal: it will not (but for deletion).
QUEUED = "queued"  # waiting in the Studio's line for a free slot (kling_ui.runs.pool); nothing sent
PREPARING = "preparing"  # inputs copied, uploads under way; no prediction yet
STARTING, PROCESSING, DOWNLOADING = "starting", "processing", "downloading"
WAITING_FOR_KEY = "waiting_for_key"  # a visitor's key run found after a restart
# Paid for, but its output could not be written (disk full, read-only): fetched again from
# `output_url` once there is room, until `output_until` (kling_ui.hosting.disk, kling_ui.runs.resumer).
WAITING_FOR_DISK = "waiting_for_disk"
SUCCEEDED, FAILED, CANCELED, ABORTED = "succeeded", "failed", "canceled", "aborted"
TIMED_OUT, LOST = "timed out", "lost"
IN_FLIGHT = (QUEUED, PREPARING, STARTING, PROCESSING, DOWNLOADING, WAITING_FOR_KEY,
             WAITING_FOR_DISK)
TERMINAL = (SUCCEEDED, FAILED, CANCELED, ABORTED, TIMED_OUT, LOST)

# Numbered migrations, applied in order at start-up (PRAGMA user_version counts them). Never edit
# one that has shipped: add the next.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        tab TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        finished_at REAL,
        prompt TEXT NOT NULL DEFAULT '',
        prompt_sent TEXT NOT NULL DEFAULT '',
        settings TEXT NOT NULL DEFAULT '{}',
        inputs TEXT NOT NULL DEFAULT '{}',
        request TEXT,
        input_sent TEXT NOT NULL DEFAULT '{}',
        prediction_id TEXT,
        backend TEXT NOT NULL DEFAULT 'simulator',
        key_kind TEXT NOT NULL DEFAULT 'host',
        estimated_cost REAL NOT NULL DEFAULT 0,
        predict_time REAL,
        output TEXT,
        poster TEXT,
        original TEXT,
        original_label TEXT NOT NULL DEFAULT '',
        output_facts TEXT NOT NULL DEFAULT '{}',
        original_facts TEXT NOT NULL DEFAULT '{}',
        warnings TEXT NOT NULL DEFAULT '[]',
        fixes TEXT NOT NULL DEFAULT '[]',
        parent_id TEXT,
        metrics TEXT NOT NULL DEFAULT '{}',
        error TEXT,
        log_line TEXT NOT NULL DEFAULT '',
        fraction REAL,
        worker TEXT,
        lease_until REAL
    );
    CREATE INDEX runs_owner_created ON runs (owner, created_at DESC);
    CREATE INDEX runs_status ON runs (status);
    CREATE TABLE admissions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        visitor TEXT NOT NULL,
        at REAL NOT NULL,
        day INTEGER NOT NULL,
        cost REAL NOT NULL
    );
    CREATE INDEX admissions_visitor_at ON admissions (visitor, at);
    CREATE INDEX admissions_day ON admissions (day);
    """,
    # 2 (issue #20): the ledger admission a run holds (given back when it ends unbilled), and
    # where its paid output can be fetched again, and until when (a full disk).
    """
    ALTER TABLE runs ADD COLUMN admission INTEGER;
    ALTER TABLE runs ADD COLUMN output_url TEXT;
    ALTER TABLE runs ADD COLUMN output_until REAL;
    """,
    # 3 (issue #25): the model a run was made with, as Replicate names it: "owner/name", or
    # "owner/name:version" when the host pinned one. Older rows were all Kling O1.
    """
    ALTER TABLE runs ADD COLUMN model TEXT NOT NULL DEFAULT 'kwaivgi/kling-o1';
    """,
    # 4 (issue #26): share links. A row per shared run: its bearer token (>= 128 random bits),
    # when it stops working, and whether the host pinned it to the showcase. Deleted with the run
    # (foreign keys are on in every connection); a revoked share is a deleted row.
    """
    CREATE TABLE shares (
        token TEXT PRIMARY KEY,
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        created_at REAL NOT NULL,
        expires_at REAL,
        pinned INTEGER NOT NULL DEFAULT 0
    );
    CREATE UNIQUE INDEX shares_run ON shares (run_id);
    CREATE INDEX shares_pinned ON shares (pinned, created_at);
    """,
    # 5 (issue #22): every file uploaded to Replicate's Files API until it is deleted, so one
    # a killed process left behind (a take group's shared upload, a run's own, the page's
    # speculative one) is deleted by the next, with the key it was made with. `key_hash` is
    # sha256 of the server, the file's id and the key: never the key, and no two rows alike.
    # `workers`: each process's last sign of life, so one on another host (a Space's restart
    # is a new container) is known to be gone once it stops beating.
    """
    CREATE TABLE uploads (
        id TEXT NOT NULL,
        base_url TEXT NOT NULL,
        key_hash TEXT NOT NULL,
        worker TEXT NOT NULL,
        created_at REAL NOT NULL,
        expires_at REAL,
        PRIMARY KEY (base_url, id)
    );
    CREATE TABLE workers (
        worker TEXT PRIMARY KEY,
        seen_at REAL NOT NULL
    );
    """,
)


def worker_name() -> str:
    """This process, as the library names whoever holds a run or made an upload."""
    return f"{socket.gethostname()}:{os.getpid()}"


def worker_gone(worker: str | None) -> bool:
    """Whether `worker` is a process of this host that no longer exists (killed, restarted).
    A process of another host is never known to be gone."""
    host, _, pid = str(worker or "").rpartition(":")
    return host == socket.gethostname() and pid.isdigit() and not _pid_alive(int(pid))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Database:
    """One SQLite file in `root`, its schema brought up to date on open.

    Raises LibraryError (never a bare OSError or sqlite3 error) when the folder cannot be used:
    read-only, full, or holding a database from a newer version of the Studio.
    """

    def __init__(self, root: str | os.PathLike[str], *, clock: Callable[[], float] = time.time) -> None:
        self.root = Path(root).expanduser().resolve()
        self._clock = clock
        self._local = threading.local()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            (self.root / RUNS_DIR).mkdir(exist_ok=True)
            (self.root / TMP_DIR).mkdir(exist_ok=True)
        except OSError as exc:
            raise LibraryError(_folder_message(self.root, exc)) from exc
        if not os.access(self.root, os.W_OK):
            raise LibraryError(_folder_message(self.root, PermissionError("read-only")))
        self.path = self.root / DB_NAME
        self._migrate()

    # -- connection and schema -------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000,
                                       isolation_level=None, check_same_thread=False)
                conn.row_factory = sqlite3.Row
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute("PRAGMA foreign_keys = ON")
            except sqlite3.Error as exc:
                raise LibraryError(_db_message(self.path, exc)) from exc
            self._local.conn = conn
        return conn

    @contextmanager
    def _tx(self, immediate: bool = False) -> Iterator[sqlite3.Connection]:
        """One short transaction; sqlite errors become LibraryError with a message to act on."""
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise LibraryError(_db_message(self.path, exc)) from exc

    def _migrate(self) -> None:
        with self._tx(immediate=True) as conn:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version > len(MIGRATIONS):
                raise LibraryError(
                    f"The library in {self.root} was made by a newer version of Kling O1 Studio "
                    f"(schema {version}; this version knows {len(MIGRATIONS)}). Update the app, "
                    "or point KLING_DATA_DIR at another folder. Nothing was changed or deleted.")
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in filter(str.strip, script.split(";")):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")
                log.info("library schema migrated to %d", number)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None



def _folder_message(root: Path, exc: BaseException) -> str:
    return (f"The library folder {root} cannot be written ({exc.__class__.__name__}: "
            f"{getattr(exc, 'strerror', None) or exc}). Runs are not kept until it can: make it "
            "writable, free some space, or point KLING_DATA_DIR at another folder.")


def _db_message(path: Path, exc: sqlite3.Error) -> str:
    text = str(exc)
    if "full" in text:
        why = "the disk is full"
    elif "readonly" in text or "read-only" in text or "unable to open" in text:
        why = "it cannot be written"
    elif "locked" in text or "busy" in text:
        why = "another process holds it locked"
    elif "not a database" in text or "malformed" in text:
        why = "the file is not a Kling O1 Studio library (or it is damaged)"
    else:
        why = text
    return (f"The library {path} cannot be used: {why}. Nothing was deleted. Free some space, make "
            "the folder writable, or point KLING_DATA_DIR at another folder.")
