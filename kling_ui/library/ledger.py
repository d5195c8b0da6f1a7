"""The host's spending ledger (kling_ui.hosting.access.Guard): one row per admitted run.

Admissions are recorded atomically across processes (`BEGIN IMMEDIATE`): the quota check and the
insert are one transaction, so two app processes on one folder never both admit the last run.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from ..hosting.access import Usage
from .schema import Database


class Ledger(Database):
    """Admissions: who ran when and at what estimated cost; usage per visitor and per day."""

    def admit(self, visitor: str, at: float, cost: float, check: Callable[[Usage], None], *,
              hour: float = 3600.0, day_seconds: float = 86400.0) -> int:
        """Record one admission atomically (across processes) after `check` accepts it.

        `check(usage)` (this visitor's runs in the last hour and today, everyone's spend today)
        raises to refuse. Returns the admission id.
        """
        day = int(at // day_seconds)
        with self._tx(immediate=True) as conn:
            check(self._usage(conn, visitor, at, hour, day))
            cur = conn.execute("INSERT INTO admissions (visitor, at, day, cost) VALUES (?, ?, ?, ?)",
                               (visitor, at, day, cost))
            admission = int(cur.lastrowid or 0)
            # Old admissions say nothing any more: keep the table small.
            conn.execute("DELETE FROM admissions WHERE at < ?", (at - 2 * day_seconds,))
        return admission

    def usage(self, visitor: str, at: float, *, hour: float = 3600.0,
              day_seconds: float = 86400.0) -> Usage:
        """This visitor's admissions in the last hour and today, and everyone's spend today."""
        with self._tx() as conn:
            return self._usage(conn, visitor, at, hour, int(at // day_seconds))

    @staticmethod
    def _usage(conn: sqlite3.Connection, visitor: str, at: float, hour: float,
               day: int) -> Usage:
        times = tuple(float(r[0]) for r in conn.execute(
            "SELECT at FROM admissions WHERE visitor = ? AND at > ? ORDER BY at",
            (visitor, at - hour)))
        today = int(conn.execute("SELECT COUNT(*) FROM admissions WHERE visitor = ? AND day = ?",
                                 (visitor, day)).fetchone()[0])
        spent = float(conn.execute("SELECT COALESCE(SUM(cost), 0) FROM admissions WHERE day = ?",
                                   (day,)).fetchone()[0])
        return Usage(hour_times=times, runs_today=today, spent_today=spent)

    def release(self, admission_id: int) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM admissions WHERE id = ?", (admission_id,))

    def settle(self, admission_id: int, cost: float) -> None:
        """An admission's cost, once known (it was reserved at the run's most)."""
        with self._tx() as conn:
            conn.execute("UPDATE admissions SET cost = ? WHERE id = ?", (cost, admission_id))

    def spent_on(self, day: int) -> float:
        with self._tx() as conn:
            value = conn.execute("SELECT COALESCE(SUM(cost), 0) FROM admissions WHERE day = ?",
                                 (day,)).fetchone()[0]
        return round(float(value), 2)


