"""Files and their lifetimes: what is kept with a run, what is temporary, and when each goes.

- A run's folder (`library.run_dir`) holds the inputs actually sent (after fixes), the clip as
  uploaded when it was cut or re-encoded (for splicing back and restoring), the output and its
  poster. It stays until the user deletes the run, `KLING_KEEP_DAYS` passes, or `KLING_MAX_GB`
  needs the room (oldest finished runs first, said in the log).
- Temporary files (previews, fixes made by the Fix button, a job's work files) live under the
  library's `tmp/` and go after `KLING_MAX_AGE_HOURS`. Nothing is deleted when a session ends.
  Their names carry 128 random bits (`media.paths.out_path`), since they are served by path.
- One-off downloads (a run's export zip) each get a folder named with 128 random bits under
  `downloads` (the UI points it into Gradio's cache, so Gradio serves that very file instead of
  keeping a copy of its own), and go `KLING_DOWNLOAD_MINUTES` after they were made (issue #20).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import threading
import time
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..core.jobs import JobSpec
from ..core.models import ImageInfo, JobRequest, VideoInfo
from ..library.store import RUNS_DIR, Library, tree_size

log = logging.getLogger(__name__)

GB = 1_000_000_000
DOWNLOAD_BYTES = 16  # secrets.token_urlsafe(16): 128 random bits in each download's folder name


class Files:
    """Where the Studio's files go, and the sweeper that keeps the folder bounded."""

    def __init__(self, library: Library, *, max_age_hours: float, keep_days: float,
                 max_gb: float, download_minutes: float = 30.0) -> None:
        self.library = library
        self.max_age_hours = max_age_hours
        self.keep_days = keep_days
        self.max_bytes = int(max_gb * GB) if max_gb > 0 else 0
        self.download_seconds = max(0.0, min(60.0, download_minutes)) * 60
        self.downloads = self.tmp / "downloads"
        self._stop: threading.Event | None = None

    @property
    def tmp(self) -> Path:
        return self.library.tmp_dir

    def session_dir(self, session_id: str) -> Path:
        """A browser session's temporary folder (fixes made with the Fix button)."""
        safe = "".join(c for c in session_id if c.isalnum() or c in "-_")[:64] or "anon"
        path = self.tmp / "sessions" / safe
        path.mkdir(parents=True, exist_ok=True)
        return path

    def temp_dir(self, name: str) -> Path:
        path = self.tmp / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def serve_downloads_from(self, folder: str | os.PathLike[str]) -> None:
        """Make one-off downloads in `folder` (the UI gives Gradio's cache: served as is)."""
        self.downloads = Path(folder)

    def download_dir(self) -> Path:
        """A new folder for one download, named with 128 random bits and nothing else, so its
        URL cannot be guessed; `sweep_downloads` removes it after its lifetime."""
        self.downloads.mkdir(parents=True, exist_ok=True)
        path = self.downloads / secrets.token_urlsafe(DOWNLOAD_BYTES)
        path.mkdir()
        return path

    # -- a run's inputs --------------------------------------------------------------------

    def keep_inputs(self, run_id: str, job: JobRequest, spec: JobSpec) -> tuple[JobRequest, dict[str, Any]]:
        """Copy the files a run will send into its folder; the job then points at the copies.

        Returns the job and the run's `inputs` (field -> path). When the video sent differs
        from the one uploaded (cut or re-encoded), the upload is kept too, as `source_video`.
        """
        folder = self.library.run_dir(run_id) / "inputs"
        folder.mkdir(parents=True, exist_ok=True)
        inputs: dict[str, Any] = {}

        def keep(info: Any, name: str) -> Any:
            if info is None:
                return None
            dest = folder / (name + Path(info.path).suffix.lower())
            _link_or_copy(info.path, dest)
            return replace(info, path=str(dest))

        start = keep(job.start_image, "start_image")
        end = keep(job.end_image, "end_image")
        refs = tuple(keep(img, f"reference_image_{i}") for i, img in enumerate(job.reference_images, 1))
        video = keep(job.reference_video, "reference_video")
        if start is not None:
            inputs["start_image"] = start.path
        if end is not None:
            inputs["end_image"] = end.path
        if refs:
            inputs["reference_images"] = [r.path for r in refs]
        if video is not None:
            inputs["reference_video"] = video.path
            uploaded = spec.reference_video
            if uploaded and job.reference_video and os.path.abspath(uploaded) != os.path.abspath(
                    job.reference_video.path) and os.path.exists(uploaded):
                source = folder / ("source_video" + Path(uploaded).suffix.lower())
                _link_or_copy(uploaded, source)
                inputs["source_video"] = str(source)
        kept = replace(job, start_image=_image(start), end_image=_image(end),
                       reference_images=tuple(r for r in refs if isinstance(r, ImageInfo)),
                       reference_video=video if isinstance(video, VideoInfo) else None)
        return kept, inputs

    def export_zip(self, run: Any) -> Path:
        """A zip of a run: output, inputs as sent, the uploaded source, and settings.json."""
        stem = Path(run.output).stem if run.output else ""
        # Named like its video (unique per run); runs from before download names keep the id.
        name = stem if stem and stem != "output" else f"kling-run-{run.id[:8]}"
        out = self.download_dir() / f"{name}.zip"  # the folder is the secret, not the name
        settings = {"run_id": run.id, "tab": run.tab, "status": run.status,
                    "created_at": run.created_at, "prompt": run.prompt,
                    "prompt_sent": run.prompt_sent, "settings": run.settings,
                    "input_sent": run.input_sent, "prediction_id": run.prediction_id,
                    "estimated_cost_usd": run.estimated_cost, "predict_time": run.predict_time,
                    "warnings": run.warnings, "fixes": run.fixes, "output": run.output_facts}
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as z:  # mp4s are packed
            z.writestr("settings.json", json.dumps(settings, indent=2, default=str))
            if run.output and os.path.isfile(run.output):
                z.write(run.output, os.path.basename(run.output))  # its download name
            for value in run.inputs.values():
                for path in value if isinstance(value, list) else [value]:
                    if path and os.path.isfile(path):
                        z.write(path, "inputs/" + os.path.basename(path))
        return out

    # -- lifetimes -------------------------------------------------------------------------

    def sweep(self, max_age_hours: float | None = None) -> int:
        """Delete temporary files older than the configured age; returns how many went."""
        age = (max_age_hours if max_age_hours is not None else self.max_age_hours) * 3600
        cutoff = time.time() - age
        removed = 0
        for dirpath, _dirs, names in os.walk(self.tmp):
            for name in names:
                path = os.path.join(dirpath, name)
                try:
                    if os.stat(path).st_mtime < cutoff:
                        os.unlink(path)
                        removed += 1
                except OSError:
                    continue
        return removed

    def sweep_downloads(self, max_age_seconds: float | None = None) -> int:
        """Delete one-off downloads older than their lifetime; returns how many folders went."""
        age = self.download_seconds if max_age_seconds is None else max_age_seconds
        cutoff = time.time() - age
        removed = 0
        try:
            folders = list(os.scandir(self.downloads))
        except OSError:
            return 0
        for entry in folders:
            try:
                if entry.is_dir(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                    shutil.rmtree(entry.path)
                    removed += 1
            except OSError:
                continue
        return removed

    def prune(self) -> list[str]:
        """Apply KLING_KEEP_DAYS and KLING_MAX_GB to finished runs; log what went.

        tmp/ counts under KLING_MAX_GB too (issue #20): when runs and temporary files together
        hold more, the oldest temporary files go first, then the oldest finished runs."""
        budget = self.max_bytes
        if budget:
            tmp_left = self.trim_tmp(budget - tree_size(self.library.root / RUNS_DIR))
            budget = max(1, budget - tmp_left)
        deleted = self.library.prune(keep_days=self.keep_days, max_bytes=budget)
        if deleted:
            log.warning("deleted %d old run(s) to keep the library within KLING_KEEP_DAYS=%g / "
                        "KLING_MAX_GB=%g: %s", len(deleted), self.keep_days,
                        self.max_bytes / GB, ", ".join(deleted))
        return deleted

    def trim_tmp(self, room: int) -> int:
        """Delete the oldest temporary files until tmp/ holds at most `room` bytes; returns what
        it holds then. A file in use stays readable to whoever has it open."""
        files: list[tuple[float, int, str]] = []
        for dirpath, _dirs, names in os.walk(self.tmp):
            for name in names:
                path = os.path.join(dirpath, name)
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                files.append((st.st_mtime, st.st_size, path))
        total = sum(size for _t, size, _p in files)
        removed = 0
        for _mtime, size, path in sorted(files):
            if total <= max(0, room):
                break
            try:
                os.unlink(path)
            except OSError:
                continue
            total -= size
            removed += 1
        if removed:
            log.warning("deleted %d temporary file(s) to keep the data folder within "
                        "KLING_MAX_GB=%g", removed, self.max_bytes / GB)
        return total

    def start_sweeper(self) -> threading.Event:
        """Sweep and prune in a daemon thread, a few times per max age (at most every 10 min),
        and downloads a few times per their lifetime."""
        stop = threading.Event()
        interval = min(600.0, max(1.0, self.max_age_hours * 3600 / 4),
                       max(1.0, self.download_seconds / 4))

        def loop() -> None:
            while True:
                try:
                    self.sweep_downloads()
                    self.sweep()
                    self.prune()
                except Exception:  # never let cleanup take the app down
                    log.exception("sweeping old files failed")
                if stop.wait(interval):
                    return

        threading.Thread(target=loop, name="kling-sweeper", daemon=True).start()
        self._stop = stop
        return stop

    def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()


def _image(value: Any) -> ImageInfo | None:
    return value if isinstance(value, ImageInfo) else None


def _link_or_copy(src: str, dest: Path) -> None:
    """A hard link when the file is on the same disk (instant, no space), else a copy."""
    if dest.exists():
        dest.unlink()
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)
