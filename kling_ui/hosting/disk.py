"""Disk space: whether the data folder has room for a run's output, and what a write that failed
for want of it means (issue #20, point 5).

A run's output is paid for before it is downloaded, so the Studio refuses a run up front when the
data folder's disk is nearly full (`check_room`, before any upload or paid request), and a write
that fails anyway (`is_disk_trouble`: full, over quota, an I/O error, read-only) keeps the run
waiting to fetch the output again rather than failing it (kling_ui.runs.service, kling_ui.runs.resumer).

Pure over the filesystem: no library, no clock but the one passed in.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
from datetime import datetime, timezone

from ..core.errors import StorageError

log = logging.getLogger(__name__)

MB = 1_000_000
# Replicate deletes an API prediction's output files about an hour after it ends
# (shared/reference/kling-o1.md, "Output files are served from replicate.delivery ...").
OUTPUT_LIFETIME = 3600.0
# Errors that say "this disk cannot take the file now", not "this is a bug": no space, over
# quota, an I/O error, a read-only folder, a folder we may not write.
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EACCES,
                         errno.EPERM, errno.EFBIG})

LOW_SPACE = ("The server is almost out of disk space ({free} MB free; a run needs {need} MB), "
             "so this run was not started and nothing was billed. Your files are kept: try again "
             "in a few minutes, or tell the host.")
WAITING = ("Waiting for disk space: the output is paid for and will be saved as soon as there is "
           "room.")
EXPIRED = ("The output expired before there was disk space to save it: Replicate deletes outputs "
           "about an hour after a run ends. Run it again.")


def free_bytes(path: str | os.PathLike[str]) -> int:
    """Bytes an unprivileged writer may still use on the disk holding `path` (0 when unknown)."""
    try:
        return int(shutil.disk_usage(path).free)
    except OSError:
        return 0


def has_room(path: str | os.PathLike[str], floor_bytes: int) -> bool:
    return floor_bytes <= 0 or free_bytes(path) >= floor_bytes


def check_room(path: str | os.PathLike[str], floor_bytes: int) -> None:
    """Raise StorageError (a plain message, no path) when the disk holding `path` has less than
    `floor_bytes` free; logged for the host with the folder. A floor of 0 checks nothing."""
    if floor_bytes <= 0:
        return
    free = free_bytes(path)
    if free >= floor_bytes:
        return
    log.warning("refused a run: %s has %.0f MB free, below KLING_MIN_FREE_MB=%.0f; free some "
                "space or attach more storage", path, free / MB, floor_bytes / MB)
    raise StorageError(LOW_SPACE.format(free=f"{free / MB:.0f}", need=f"{floor_bytes / MB:.0f}"))


def is_disk_trouble(exc: BaseException) -> bool:
    """True for an OSError that says the disk cannot take a file now (see DISK_ERRNOS)."""
    return isinstance(exc, OSError) and exc.errno in DISK_ERRNOS


def output_until(completed_at: str | None, now: float) -> float:
    """Until when a prediction's output can still be fetched (a time.time() value): an hour
    after Replicate says it completed, or after `now` when it does not say."""
    if completed_at:
        try:
            when = datetime.fromisoformat(completed_at)
        except ValueError:
            return now + OUTPUT_LIFETIME
        if when.tzinfo is None:  # Replicate's times are UTC
            when = when.replace(tzinfo=timezone.utc)
        return when.timestamp() + OUTPUT_LIFETIME
    return now + OUTPUT_LIFETIME
