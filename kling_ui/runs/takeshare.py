"""What the takes of one press of Run share (issue #22): the doctor's fixes and the uploads.

Takes are runs of the same settings (kling_ui.ui.takes), each its own run in the library. Each
used to fix its inputs and upload them itself: four takes of a phone clip re-encoded it four
times (four times the host's media time and the visitor's media budget) and uploaded four
copies, so takes 2-4 paid the whole upload again. Now the first take to need a fix or an upload
makes it and the group's other takes await the same one:

- `TakeShares.join(takes)`, when a take starts, returns its group's `TakeShare` (None for a
  single run) and counts the take in; `leave(share)`, when it ends however it ends, counts it
  out. When the last take still in the group leaves, the group's uploads are deleted
  (DELETE /v1/files/{id}) and the share is forgotten. A take that starts after every other
  take of its group has ended (one that waited in line) opens a new share: it fixes and
  uploads again, never using a file already deleted.
- `TakeShare.once(key, make)` runs `make` once per group and key (FIXED for the doctor's
  answer; slot, file and key hash for an upload); the others await its answer. If the maker
  fails or is cancelled, the ones waiting make their own (it is not their failure), and
  nothing is shared for that slot after it.

The inputs are identified as the speculative uploads identify them (slot, path, size, mtime,
inode of the file sent, and the key's hash), so a file that changed is never mixed up. All of
this runs on the runner's event loop; a waiting take that is cancelled leaves the shared work
running for the others (`asyncio.shield`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..core.config import Secret
from ..core.errors import KlingError
from ..replicate.protocol import UploadedFile

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Sent:
    """One input as a prediction gets it: its URL, and the upload behind it (None when the
    file went inline as a data URL: nothing to delete)."""

    url: str
    file: UploadedFile | None


FIXED = "fixed"  # the key of the doctor's answer among a share's work


@dataclass
class TakeShare:
    """One group's shared work, while at least one of its takes runs: by key, the doctor's
    answer (FIXED) and each input's upload ((slot, file, key hash))."""

    group: str
    holders: int = 0
    work: dict[Hashable, asyncio.Future[Any]] = field(default_factory=dict)
    client: Any = None  # the client and key the uploads were made with, to delete them
    token: Secret | None = None

    def making(self, key: Hashable) -> bool:
        """Whether another take is making `key` right now."""
        future = self.work.get(key)
        return future is not None and not future.done()

    async def once(self, key: Hashable, make: Callable[[], Awaitable[T]]) -> T | None:
        """`make()` by the first take to ask for `key`; the others get its answer, or None
        to make their own (the maker failed or was cancelled: not their failure)."""
        future = self.work.get(key)
        if future is not None:
            return await asyncio.shield(future)  # type: ignore[no-any-return]
        mine: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.work[key] = mine
        try:
            made = await make()
        except BaseException:
            mine.set_result(None)
            raise
        mine.set_result(made)
        return made

    def files(self) -> list[UploadedFile]:
        """The uploads made for the group that are Replicate files (to delete at the end)."""
        out: list[UploadedFile] = []
        for future in self.work.values():
            if future.done() and not future.cancelled() and future.exception() is None:
                sent = future.result()
                if isinstance(sent, Sent) and sent.file is not None:
                    out.append(sent.file)
        return out


class TakeShares:
    """The open shares, by group id (one `Running` holds one)."""

    def __init__(self) -> None:
        self._open: dict[str, TakeShare] = {}

    def join(self, takes: dict[str, Any] | None) -> TakeShare | None:
        """The share of the group this take belongs to, counted in; None for a single run."""
        if not isinstance(takes, dict) or not takes.get("group"):
            return None
        try:
            if int(takes.get("of") or 1) < 2:
                return None
        except (TypeError, ValueError):
            return None
        group = str(takes["group"])
        share = self._open.get(group)
        if share is None:
            share = self._open[group] = TakeShare(group)
        share.holders += 1
        return share

    async def leave(self, share: TakeShare | None) -> None:
        """Count a take out; the last one out deletes the group's uploads."""
        if share is None:
            return
        share.holders -= 1
        if share.holders > 0:
            return
        if self._open.get(share.group) is share:
            del self._open[share.group]
        files = share.files()
        if files and share.client is not None and share.token is not None:
            with contextlib.suppress(KlingError, OSError):
                await share.client.delete_files(files, share.token)

    def open_groups(self) -> int:
        return len(self._open)
