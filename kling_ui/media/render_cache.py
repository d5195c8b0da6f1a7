"""The simulator renders each distinct input once per process.

The same inputs render the same bytes (kling_ui.media.render is deterministic), and a Studio
sends the same inputs again often: three takes of one prompt, a retry, a preset run twice in a
demo, and the test suite's many runs of the same few prompts. A 1080p title card costs about 4 s
of a shared core, so a second render of it is pure waste: it was a third of the CPU one browser
test file spent (measured with /proc sampling, see the commit).

A key is the job's fields plus a digest of each input file's bytes, so a changed picture behind
the same path is a new render. Entries are copies, both ways (a caller that edits its output in
place cannot spoil the cache), in one temporary folder per process, the oldest dropped past
MAX_ENTRIES and the folder removed at exit.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .render import RenderJob

MAX_ENTRIES = 48  # simulated outputs are 0.5-5 MB: at most a few hundred MB of /tmp
_lock = threading.Lock()
_folder: Path | None = None


def job_key(job: RenderJob) -> str:
    """A digest of everything the render reads: the job's fields and its input files' bytes."""
    digest = hashlib.sha256(json.dumps(asdict(job), sort_keys=True, default=list).encode())
    for path in (*job.images, *([job.video] if job.video else [])):
        with open(path, "rb") as fh:
            digest.update(hashlib.file_digest(fh, "sha256").digest())
    return digest.hexdigest()


def _cache_folder() -> Path:
    global _folder
    with _lock:
        if _folder is None or not _folder.is_dir():
            _folder = Path(tempfile.mkdtemp(prefix="kling-render-cache-"))
            atexit.register(shutil.rmtree, _folder, True)
        return _folder


def cached_render(job: RenderJob, out: Path, render: Callable[[], Path]) -> Path:
    """`out` from the cache when this job was rendered before in this process, else `render()`
    (which writes `out`), kept for next time."""
    key = job_key(job)
    folder = _cache_folder()
    entry = folder / f"{key}.mp4"
    if entry.is_file():
        part = out.with_name(out.name + ".part")
        with contextlib.suppress(OSError):
            shutil.copyfile(entry, part)
            os.replace(part, out)
            os.utime(entry)  # recently used: dropped last
            return out
    done = render()
    part = folder / f"{key}.{threading.get_ident()}.part"
    try:
        shutil.copyfile(done, part)
        os.replace(part, entry)
    except OSError:  # a full /tmp: the render stands, only the copy for next time is lost
        part.unlink(missing_ok=True)
    _trim(folder)
    return done


def _trim(folder: Path) -> None:
    def used(path: Path) -> float:
        try:
            return path.stat().st_mtime
        except OSError:  # another thread's trim took it
            return 0.0

    entries = sorted(folder.glob("*.mp4"), key=used)
    for old in entries[:-MAX_ENTRIES]:
        old.unlink(missing_ok=True)
