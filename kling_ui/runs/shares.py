"""Share links and the showcase (issue #26): who may share, what a token opens, the comparison MP4.

`Sharing` is the service side of `/share/<token>`: a finished run's owner shares it (a token of
SHARE_BYTES random bytes, stored with the run in the library) and revokes it; a token resolves
to its run only while it is live (not revoked, not past KLING_SHARE_DAYS) and the run still has
its output. The page's downloadable comparison MP4 (original beside output, made with the
finishing package's comparison export) is made once, in the background when the run is shared
and on the first request if that has not finished, and kept in the run's folder: it goes with
the run and counts under KLING_MAX_GB with it. The showcase lists pinned shares; pinning needs
the run's owner and the host's KLING_ADMIN_KEY, whose wrong guesses are throttled per visitor.
No gradio, no HTTP: the UI's routes (kling_ui.ui.share_routes) and panel (kling_ui.ui.share)
call in.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import re
import secrets
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core.config import Settings
from ..core.errors import InputError, KlingError
from ..core.models import VideoInfo
from ..finishing.results import Finisher, original_still
from ..i18n import t
from ..library.shares import Share
from ..library.store import SUCCEEDED, Library, Run
from ..media.comparison import export_size

log = logging.getLogger(__name__)

SHARE_BYTES = 24  # 192 random bits, 32 URL-safe characters (the issue asks for >= 128)
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{22,64}")  # what a token can look like: refused before SQL
COMPARE_NAME = "share-compare.mp4"  # in the run's folder: deleted with it, counted with it
ADMIN_FAILURES = 5  # wrong admin keys per visitor per ADMIN_WINDOW, as the APP_PASSWORD rule
ADMIN_WINDOW = 60.0


def new_share_token() -> str:
    return secrets.token_urlsafe(SHARE_BYTES)


class Sharing:
    """Share, revoke, pin and resolve share links; make the comparison MP4 a share offers."""

    def __init__(self, settings: Settings, library: Library, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.library = library
        self.clock = clock
        self._making: dict[str, asyncio.Future[str]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._wrong: dict[str, deque[float]] = {}

    @property
    def showcase_enabled(self) -> bool:
        return bool(self.settings.admin_key)

    # -- the owner's side --------------------------------------------------------------------

    def _own(self, run_id: str, owner: str | None) -> Run:
        """The run when `owner` may share it (None: a single-user Studio, every run)."""
        run = self.library.get(run_id) if run_id else None
        if run is None or (owner is not None and run.owner != owner):
            raise InputError(t("error.not_in_library"))
        return run

    def current(self, run_id: str, owner: str | None) -> Share | None:
        """The run's live share, if it has one (and `owner` may see it)."""
        try:
            self._own(run_id, owner)
        except InputError:
            return None
        share = self.library.share_of_run(run_id)
        return share if share is not None and share.live(self.clock()) else None

    def share(self, run_id: str, owner: str | None) -> Share:
        """The run's share link: its live one, or a new one. Only a finished run with its
        output can be shared. Starts making the comparison MP4 in the background."""
        run = self._own(run_id, owner)
        if run.status != SUCCEEDED or not run.output or not Path(run.output).is_file():
            raise InputError(t("share.not_finished"))
        now = self.clock()
        days = self.settings.share_days
        share = self.library.add_share(Share(token=new_share_token(), run_id=run.id,
                                             created_at=now,
                                             expires_at=now + days * 86400 if days > 0 else None))
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None and run.original:
            task = loop.create_task(self._quietly(run))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return share

    async def _quietly(self, run: Run) -> None:
        try:
            await self.original_poster(run)
            await self.comparison(run)
        except KlingError as exc:
            log.info("no comparison for shared run %s yet: %s", run.id, exc.message)

    def revoke(self, run_id: str, owner: str | None) -> bool:
        self._own(run_id, owner)
        return self.library.revoke_share(run_id)

    # -- the host's showcase -----------------------------------------------------------------

    def admin_ok(self, key: str | None, visitor: str) -> bool:
        """Whether `key` is KLING_ADMIN_KEY; after ADMIN_FAILURES wrong keys in ADMIN_WINDOW
        seconds a visitor is refused without the key being compared."""
        admin = self.settings.admin_key
        if not admin:
            return False
        now = time.monotonic()
        times = self._wrong.setdefault(visitor, deque())
        while times and times[0] <= now - ADMIN_WINDOW:
            times.popleft()
        if len(times) >= ADMIN_FAILURES:
            return False
        if hmac.compare_digest((key or "").strip().encode(), admin.reveal().encode()):
            self._wrong.pop(visitor, None)
            return True
        times.append(now)
        if len(self._wrong) > 10_000:
            self._wrong.pop(next(iter(self._wrong)))
        return False

    def pin(self, run_id: str, owner: str | None, pinned: bool) -> Share:
        """Pin (or unpin) the run's share to the showcase, sharing it first when needed.
        The caller checked the admin key (`admin_ok`)."""
        if not self.showcase_enabled:
            raise InputError(t("share.showcase_off"))
        share = self.share(run_id, owner) if pinned else self.current(run_id, owner)
        if share is None:
            raise InputError(t("share.not_shared"))
        self.library.pin_share(run_id, pinned)
        return Share(share.token, share.run_id, share.created_at, share.expires_at, pinned)

    def showcase(self) -> list[tuple[Share, Run]]:
        """The pinned shares still live whose run still has its output, newest first."""
        if not self.showcase_enabled:
            return []
        out = []
        for share in self.library.pinned_shares(self.clock()):
            run = self._run_of(share)
            if run is not None:
                out.append((share, run))
        return out

    # -- what a token opens ------------------------------------------------------------------

    def resolve(self, token: str) -> tuple[Share, Run] | None:
        """The share and its run for a live token; None for anything else (malformed, unknown,
        revoked, expired, or a run whose output is gone): the same answer for all of them."""
        if not TOKEN_RE.fullmatch(token or ""):
            return None
        share = self.library.share_by_token(token)
        if share is None or not share.live(self.clock()):
            return None
        run = self._run_of(share)
        return (share, run) if run is not None else None

    def _run_of(self, share: Share) -> Run | None:
        run = self.library.get(share.run_id)
        if run is None or run.status != SUCCEEDED or not run.output or not os.path.isfile(run.output):
            return None
        return run

    def comparison_path(self, run: Run) -> str | None:
        """The comparison MP4 if it is made (a run without an original: its output)."""
        if not run.original:
            return run.output
        path = self.library.run_dir(run.id) / COMPARE_NAME
        return str(path) if path.is_file() else None

    def comparison_size(self, run: Run) -> tuple[int, int] | None:
        """The comparison MP4's frame size, from the output's facts (no probe)."""
        w, h = run.output_facts.get("width"), run.output_facts.get("height")
        if not w or not h:
            return None
        if not run.original:
            return int(w), int(h)
        info = VideoInfo(path=run.output or "", container="mp4", video_codec="h264",
                         duration=0.0, width=int(w), height=int(h), fps=24.0, bytes=0)
        return export_size(info, "side_by_side")

    async def comparison(self, run: Run) -> str:
        """The comparison MP4 of a shared run, made once (concurrent askers wait for the same
        making) into the run's folder."""
        done = self.comparison_path(run)
        if done:
            return done
        making = self._making.get(run.id)
        if making is None:
            making = asyncio.ensure_future(self._make(run))
            self._making[run.id] = making
            making.add_done_callback(lambda _f: self._making.pop(run.id, None))
        return await asyncio.shield(making)

    async def original_poster(self, run: Run) -> str | None:
        """A still of an original clip (made once, into the run's folder), so the share page
        shows both sides without a phone decoding any video as it loads; None for an image
        original or none."""
        if not run.original or run.original_facts.get("kind") != "video":
            return None
        # The run made it as it finished; a run older than that gets it here, once.
        return await original_still(run.original)

    async def _make(self, run: Run) -> str:
        folder = self.library.run_dir(run.id)
        finisher = Finisher(self.library.tmp_dir)
        try:
            made, _ = await finisher.compare_export(run.original, run.output, audio="output",
                                                    stills=False, out_dir=folder)
        except InputError as exc:
            if "no sound" not in exc.message:
                raise
            made, _ = await finisher.compare_export(run.original, run.output, audio="none",
                                                    stills=False, out_dir=folder)
        final = folder / COMPARE_NAME
        os.replace(made, final)
        return str(final)
