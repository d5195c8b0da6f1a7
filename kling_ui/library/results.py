"""A library row as the Studio shows it: the spec a run was made from and its result.

The way back from `store.Run` to `core.jobs` (`JobSpec`, `JobResult`), so a run restored after a
restart looks the same as one just made. Pure: no SQL here, only the row's values.
"""

from __future__ import annotations

from dataclasses import fields

from ..core.jobs import FILE_FIELDS, JobResult, JobSpec, shots_of
from ..core.models import Fix, Tab
from .store import Run


def spec_from_run(run: Run) -> JobSpec:
    """The spec a run was made from, pointing at the library's copies of its inputs.

    When the video was cut or re-encoded before upload, the kept source (the clip as uploaded)
    comes back with the same trim window, so restoring a run shows what the user chose.
    """
    known = {f.name for f in fields(JobSpec)}
    values = {k: v for k, v in run.settings.items() if k in known and k not in FILE_FIELDS}
    values["tab"] = Tab(run.tab)
    values["shots"] = shots_of(values.get("shots"))
    inputs = run.inputs
    video = inputs.get("source_video") or inputs.get("reference_video")
    if not inputs.get("source_video"):
        values["video_start"], values["video_length"] = 0.0, None  # the copy is the window
    refs = inputs.get("reference_images") or ()
    return JobSpec(start_image=inputs.get("start_image"), end_image=inputs.get("end_image"),
                   reference_images=tuple(refs), reference_video=video, **values)


def result_from_run(run: Run) -> JobResult:
    """A library run as the result panel shows it (the output may still be missing)."""
    return JobResult(
        output_path=run.output or "",
        original_path=run.original,
        original_label=run.original_label or "Original",
        prediction_id=run.prediction_id or "",
        status=run.status,
        predict_time=run.predict_time,
        estimated_cost_usd=run.estimated_cost,
        input_sent=run.input_sent,
        output_facts=run.output_facts,
        original_facts=run.original_facts,
        fixes=tuple(Fix(**f) if isinstance(f, dict) else Fix("", "", str(f)) for f in run.fixes),
        warnings=tuple(run.warnings),
        backend=run.backend,
        spec=spec_from_run(run),
        run_id=run.id,
        created_at=run.created_at,
        poster_path=run.poster,
        extra=dict(run.metrics),  # the motion report and its plot, once measured
    )
