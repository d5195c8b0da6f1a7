"""Share links (issue #26): a row per shared run, in the library's file (migration 3).

A share is a bearer token that opens one run's read-only page at `/share/<token>`. The row
lives beside the run: it survives restarts, is deleted with its run (ON DELETE CASCADE; the
run's folder holds the share's comparison MP4, so it counts under KLING_MAX_GB with the run),
and a revoked share is simply a deleted row. One share per run (a unique index): sharing again
hands back the same link until it is revoked or expires. `pinned` puts it on the showcase.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from .schema import Database


@dataclass(frozen=True)
class Share:
    token: str
    run_id: str
    created_at: float
    expires_at: float | None  # None: until revoked (KLING_SHARE_DAYS=0)
    pinned: bool = False

    def live(self, now: float) -> bool:
        return self.expires_at is None or now < self.expires_at


def _share(row: sqlite3.Row | None) -> Share | None:
    if row is None:
        return None
    return Share(token=row["token"], run_id=row["run_id"], created_at=float(row["created_at"]),
                 expires_at=None if row["expires_at"] is None else float(row["expires_at"]),
                 pinned=bool(row["pinned"]))


class Shares(Database):
    """The share rows: add, find by token or by run, pin, revoke, the showcase's list."""

    def add_share(self, share: Share) -> Share:
        """Store `share`, replacing the run's expired one (a live one is returned instead)."""
        with self._tx(immediate=True) as conn:
            old = _share(conn.execute("SELECT * FROM shares WHERE run_id = ?",
                                      (share.run_id,)).fetchone())
            if old is not None and old.live(share.created_at):
                return old
            conn.execute("DELETE FROM shares WHERE run_id = ?", (share.run_id,))
            conn.execute("INSERT INTO shares (token, run_id, created_at, expires_at, pinned) "
                         "VALUES (?, ?, ?, ?, ?)", (share.token, share.run_id, share.created_at,
                                                    share.expires_at, int(share.pinned)))
        return share

    def share_of_run(self, run_id: str) -> Share | None:
        with self._tx() as conn:
            return _share(conn.execute("SELECT * FROM shares WHERE run_id = ?",
                                       (run_id,)).fetchone())

    def share_by_token(self, token: str) -> Share | None:
        with self._tx() as conn:
            return _share(conn.execute("SELECT * FROM shares WHERE token = ?",
                                       (token,)).fetchone())

    def revoke_share(self, run_id: str) -> bool:
        with self._tx() as conn:
            return conn.execute("DELETE FROM shares WHERE run_id = ?", (run_id,)).rowcount > 0

    def pin_share(self, run_id: str, pinned: bool) -> bool:
        with self._tx() as conn:
            return conn.execute("UPDATE shares SET pinned = ? WHERE run_id = ?",
                                (int(pinned), run_id)).rowcount > 0

    def pinned_shares(self, now: float, limit: int = 60) -> list[Share]:
        """Pinned shares still live, newest first."""
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT * FROM shares WHERE pinned = 1 AND (expires_at IS NULL OR expires_at > ?) "
                "ORDER BY created_at DESC LIMIT ?", (now, int(limit))).fetchall()
        return [s for s in map(_share, rows) if s is not None]
