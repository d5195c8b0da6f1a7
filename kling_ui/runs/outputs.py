"""A run's output and the runs derived from it: checked, named, tagged, measured, kept.

`finish` turns a downloaded output into a finished run (poster, settings tag, facts, the motion
report); the output takes its download name (`edit-crown-on-girl-2026-11-25.mp4`) in the same
step. `keep_derived` keeps a file made from a run (a splice back) as a run of its own;
`spec_from_video` reads the settings a Studio video carries; `code_snippets` says the request
as code. Part of the `Studio` (runs.service); no gradio.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import fields
from datetime import date
from pathlib import Path
from typing import Any

from ..core import naming
from ..core.config import Settings
from ..core.errors import (
    InputError,
    KlingError,
)
from ..core.jobs import JobResult, JobSpec, shots_of
from ..core.models import ImageInfo, Progress, Tab, VideoInfo
from ..core.naming import VIDEO_SUFFIXES
from ..core.snippets import snippets
from ..finishing.results import Finisher, original_still
from ..hosting import bounds
from ..library import store as lib
from ..library.results import result_from_run
from ..library.store import Library, Run, new_run_id
from ..media import preview, tags
from ..replicate.protocol import Prediction
from .checks import Checks
from .files import Files

log = logging.getLogger(__name__)

# One output takes a download name at a time, so two runs ending together never share one.
_NAMING = threading.Lock()
DERIVED_TAGS = {"splice": "spliced"}  # what a derived run's file name says it is


def facts_of(info: ImageInfo | VideoInfo | None) -> dict[str, Any]:
    """The facts shown beside a result and returned in the API summary."""
    if isinstance(info, VideoInfo):
        return {
            "kind": "video", "duration": round(info.duration, 2), "width": info.width,
            "height": info.height, "fps": round(info.fps, 2), "has_audio": info.has_audio,
            "codec": info.video_codec, "bytes": info.bytes,
        }
    if isinstance(info, ImageInfo):
        return {"kind": "image", "width": info.width, "height": info.height,
                "format": info.format, "bytes": info.bytes}
    return {}



class Outputs:
    """Finish a run's output; keep derived runs; read a video's settings back."""

    def __init__(self, settings: Settings, library: Library, media: bounds.MediaPool,
                 files: Files, checks: Checks) -> None:
        self.settings = settings
        self.library = library
        self.media = media
        self.files = files
        self.checks = checks

    async def finish(self, run_id: str, prediction: Prediction,
                      emit: Callable[[Progress], None]) -> JobResult:
        """The output is on disk: poster, settings tag, facts; the run is done."""
        emit(Progress(status=prediction.status, log_line="Checking the output",
                      prediction_id=prediction.id))
        # The row says it too, for a page that follows the run from the library (a reload).
        self.library.update(run_id, log_line="Checking the output")
        folder = self.library.run_dir(run_id)
        output = folder / "output.mp4"
        run = self.library.get(run_id)
        if run is not None and output.is_file():
            output = self.name_output(run, output)
        facts: dict[str, Any] = {}
        poster: str | None = None
        try:
            info = await self.checks.probe(str(output), "video")
            assert isinstance(info, VideoInfo)
            facts = facts_of(info)
            poster = await self.media.run(preview.make_poster, info, str(folder),
                                             at=info.duration / 2, dest=str(folder / "poster.jpg"))
        except KlingError as exc:  # the paid file is kept whatever it holds; say what failed
            log.warning("run %s: the output could not be checked: %s", run_id, exc)
        if run is not None:
            if run.original:
                await self.original_poster(run.original)
            try:
                await self.media.run(tags.write_settings_tag, output, _tag_of(run, prediction))
            except KlingError as exc:
                log.warning("run %s: settings not written into the video: %s", run_id, exc)
        self.library.update(run_id, prediction_id=prediction.id, output=str(output),
                            poster=poster, output_facts=facts)
        metrics, warnings = await self.measure(run_id, emit)
        self.library.update(run_id, status=lib.SUCCEEDED, predict_time=prediction.predict_time,
                            metrics=metrics, warnings=warnings, log_line="Done", fraction=1.0)
        done = self.library.get(run_id)
        assert done is not None
        emit(Progress(status=prediction.status, log_line="Done",
                      prediction_id=prediction.id, fraction=1.0))
        return result_from_run(done)

    def download_name(self, run: Run, tag: str = "", *, keep: str | None = None) -> str:
        """The file name a person downloads a run's output as: `edit-crown-on-girl-2026-11-25.mp4`
        (tab, the prompt's first words, the day it was made), `-2` when an earlier run has it.
        `keep` is a name this run may keep (its own). Call under `_NAMING`."""
        stem = naming.download_stem(run.tab, run.prompt, date.fromtimestamp(run.created_at), tag)
        return naming.unique_name(stem, ".mp4", self.library.output_names(stem) - {keep})

    def name_output(self, run: Run, output: Path) -> Path:
        """Give a downloaded output its download name. The run's own file carries it (not a
        copy or a link made at download time): the tab's Download, the Library's, the API, the
        export zip and files made from it (splices, comparisons) all see the same name, and
        there is one file per run to count and prune. The name is written in the same step, so
        a second run ending at once sees it taken."""
        own = os.path.basename(run.output) if run.output else None
        with _NAMING:
            named = output.with_name(self.download_name(run, keep=own))
            os.replace(output, named)
            self.library.update(run.id, output=str(named))
        return named

    async def measure(self, run_id: str, emit: Callable[[Progress], None]
                       ) -> tuple[dict[str, Any], list[str]]:
        """The motion report of a run with a video original (issue #13), kept with the run: how
        closely the output follows the original's motion. One that cannot be made is a warning
        on the run, never a failure: the output is already paid for."""
        run = self.library.get(run_id)
        assert run is not None
        result = result_from_run(run)
        if result.original_facts.get("kind") != "video":
            return run.metrics, run.warnings
        emit(Progress(log_line="Measuring the motion"))
        self.library.update(run_id, log_line="Measuring the motion")
        measured = await Finisher(self.files.tmp).with_motion(result)
        metrics = {**run.metrics, **{k: v for k, v in measured.extra.items()
                                     if k in ("motion", "motion_plot")}}
        return metrics, list(measured.warnings)

    async def original_poster(self, original: str) -> str | None:
        """The original clip's still (finishing.results.original_still), as the
        output has one: the compare panel showed a black box for A while the clip loaded. None
        for a picture, or a clip that cannot be read (the run is not failed for it)."""
        if Path(original).suffix.lower() not in VIDEO_SUFFIXES or not os.path.isfile(original):
            return None
        try:
            return await original_still(original)
        except KlingError as exc:
            log.warning("the original's poster was not made: %s", exc)
            return None

    async def keep_derived(self, parent_id: str, path: str, *, original: str | None,
                           original_label: str, what: str, note: str) -> JobResult:
        """Keep a file made from a run (a splice back, later a sequence) as a library run of its
        own: its own folder, poster and settings tag, the run it came from as its parent, no
        prediction and no cost. Returns it as the result panel shows it."""
        parent = self.library.get(parent_id)
        if parent is None:
            raise InputError("The run this was made from is no longer in the library.")
        run_id = new_run_id()
        folder = self.library.run_dir(run_id)
        with _NAMING:  # taken for good when the row is created below (a rare race: a "-2" twin)
            output = folder / self.download_name(parent, DERIVED_TAGS.get(what, what))
        await asyncio.to_thread(shutil.copyfile, path, output)
        info = await self.checks.probe(str(output), "video")
        assert isinstance(info, VideoInfo)
        poster = await self.media.run(preview.make_poster, info, str(folder),
                                         at=info.duration / 2, dest=str(folder / "poster.jpg"))
        kept_original = None
        if original and os.path.isfile(original):
            kept_original = str(folder / ("original" + Path(original).suffix.lower()))
            await asyncio.to_thread(shutil.copyfile, original, kept_original)
            await self.original_poster(kept_original)
        settings = {**parent.settings, "derived": what}
        run = self.library.create(Run(
            id=run_id, owner=parent.owner, tab=parent.tab, status=lib.SUCCEEDED,
            created_at=time.time(), prompt=f"{note} — {parent.prompt}",
            prompt_sent=parent.prompt_sent, settings=settings, inputs=dict(parent.inputs),
            backend=parent.backend, key_kind=parent.key_kind, estimated_cost=0.0,
            output=str(output), poster=poster, original=kept_original,
            original_label=original_label, output_facts=facts_of(info),
            original_facts=parent.original_facts if kept_original is None else facts_of(
                await self.checks.probe(kept_original, "video")),
            parent_id=parent.id, log_line=note))
        with contextlib.suppress(KlingError):
            await self.media.run(tags.write_settings_tag, output, {
                "run_id": run.id, "tab": run.tab, "prompt": parent.prompt,
                "settings": parent.settings, "derived": what, "parent_id": parent.id})
        self.library.update(run.id, status=lib.SUCCEEDED)
        done = self.library.get(run.id)
        assert done is not None
        return result_from_run(done)

    async def spec_from_video(self, path: str) -> tuple[JobSpec, str | None]:
        """The settings a Studio video carries in its comment tag, and the run it came from.

        Raises InputError when the file carries none (not made by the Studio, or re-encoded).
        """
        try:
            tag = await self.media.run(tags.read_settings_tag, path)
        except KlingError as exc:
            raise InputError(f"{exc.message} Drop an MP4 that the Studio saved.") from exc
        settings = (tag or {}).get("settings")
        if not isinstance(settings, dict) or settings.get("tab") not in {t.value for t in Tab}:
            raise InputError("This video carries no Studio settings (it was not saved by the "
                             "Studio, or it was re-encoded since). Drop an MP4 the Studio saved.")
        known = {f.name for f in fields(JobSpec)} - {"tab", "start_image", "end_image",
                                                      "reference_images", "reference_video"}
        values = {k: v for k, v in settings.items() if k in known}
        values["shots"] = shots_of(values.get("shots"))
        spec = JobSpec(tab=Tab(settings["tab"]), **values)
        run_id = (tag or {}).get("run_id")
        return spec, str(run_id) if run_id else None

    def code_snippets(self, spec: JobSpec) -> tuple[str, str]:
        """The same request as Python (official client) and cURL, with the key as a placeholder."""
        try:
            ref = self.settings.models.ref(spec.model)
        except KeyError:
            ref = self.settings.model
        return snippets(spec, ref)



def _tag_of(run: Run, prediction: Prediction) -> dict[str, Any]:
    """What goes into the output's comment tag: enough to restore the run's settings."""
    return {"run_id": run.id, "tab": run.tab, "prompt": run.prompt, "settings": run.settings,
            "prediction_id": prediction.id, "created_at": run.created_at}
