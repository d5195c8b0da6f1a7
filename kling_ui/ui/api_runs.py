"""Runs by id, for scripts and agents (issue #22): named endpoints, and MCP tools, to come back
to a run, list, cancel, and price one before spending.

    /get_run        run_id, library_key=""                  -> (output video or nothing, JSON run)
    /list_runs      limit=20, status=None, tab=None, library_key=""   -> JSON {"runs": [...]}
    /cancel_run     run_id, library_key=""                  -> JSON run (its status after)
    /estimate_cost  tool, prompt, the mode's files and settings     -> JSON estimate

A caller sees only runs of its own library: the `X-Kling-Library-Key` header (the API, and MCP
clients that can set headers), else the `library_key` argument (the key a mode tool handed back
when the call carried no header), else the shared "api" library. A run of another library is
answered exactly as an unknown id. Every answer is JSON with the keys listed in the README's
"API" section; none carries a server path.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import gradio as gr

from ..core.errors import InputError
from ..core.models import Problem, Tab
from ..core.profile import DEFAULT_PROFILE, PROFILES, get_profile
from ..core.rules import parse_shots
from ..library import store as lib
from ..runs.service import JobSpec
from .common import guarded
from .edge import own_upload, own_uploads
from .visitor import LIBRARY_KEY_HEADER, api_owner, owner_of

# The mode tools by name, and their tab (also the `tab` filter of list_runs).
TOOL_TABS = {"text_to_video": Tab.TEXT, "frames_to_video": Tab.FRAMES,
             "references_to_video": Tab.REFERENCES, "video_reference": Tab.FEATURE,
             "edit_video": Tab.EDIT}
TAB_TOOLS = {tab.value: tool for tool, tab in TOOL_TABS.items()}
STATUSES = (*lib.IN_FLIGHT, *lib.TERMINAL)
ESTIMATE_INPUTS = ("prompt", "start_image", "end_image", "reference_images", "reference_video",
                   "aspect_ratio", "duration", "mode", "keep_original_sound", "auto_fix",
                   "model", "generate_audio", "shots")
LIST_MAX = 100
CANCEL_WAIT_S = 5.0  # cancel_run answers once the run has ended, or after this long


def modeled(spec: JobSpec, model: Any, generate_audio: Any = False, shots: Any = "") -> JobSpec:
    """The spec on the caller's model: its quality read against the model's own names
    ("standard" is std on 3.0 Omni), native audio and the storyboard (issue #25). An unknown
    model or a broken storyboard is refused before anything else by the checks."""
    name = model if isinstance(model, str) and model else DEFAULT_PROFILE
    quality = spec.quality
    if name in PROFILES and isinstance(quality, str):
        quality = get_profile(name).quality_of(quality) or quality
    return replace(spec, model=name, quality=quality, generate_audio=generate_audio is True,
                   shots=parse_shots(shots))


def caller_library(request: gr.Request | None, library_key: Any = "") -> str:
    """The library a call may see: the header, else the `library_key` argument, else "api"."""
    headers = getattr(request, "headers", None) or {}
    if hasattr(headers, "get") and (headers.get(LIBRARY_KEY_HEADER) or "").strip():
        return api_owner(request)
    if isinstance(library_key, str) and library_key.strip():
        return owner_of(library_key)
    return api_owner(request)


def new_library(request: gr.Request | None) -> tuple[str, str | None]:
    """A mode call's library: its header's, or a fresh one whose key is handed back (a caller
    without headers, such as most MCP clients, then fetches its run with that key)."""
    headers = getattr(request, "headers", None) or {}
    if hasattr(headers, "get") and (headers.get(LIBRARY_KEY_HEADER) or "").strip():
        return api_owner(request), None
    key = secrets.token_urlsafe(32)
    return owner_of(key), key


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds") if ts else None


def run_json(run: lib.Run, handle: Any = None) -> dict[str, Any]:
    """A run as the API answers it: stable keys, plain JSON values, no server path."""
    progress = handle.progress if handle is not None and not handle.done else None
    settings = run.settings or {}
    return {
        "run_id": run.id,
        "status": run.status,
        "tool": TAB_TOOLS.get(run.tab, run.tab),
        "model": settings.get("model") or DEFAULT_PROFILE,
        "prompt": run.prompt,
        "created_at": _iso(run.created_at),
        "finished_at": _iso(run.finished_at),
        "prediction_id": run.prediction_id,
        "backend": run.backend,
        "estimated_cost_usd": run.estimated_cost,
        # Whether Replicate bills it (the page's "no charge" for a canceled run without a video):
        # null while unknown; false on the simulator, which never bills.
        "charged": False if run.backend == "simulator" else run.charged,
        "predict_time": run.predict_time,
        "progress": None if progress is None else {
            "stage": progress.stage, "fraction": progress.fraction,
            "message": progress.log_line or None, "ahead_in_line": progress.position},
        "input": run.input_sent,
        "output": run.output_facts or None,
        "fixes_applied": [f"{f.get('field')}: {f.get('detail')}" for f in run.fixes],
        "warnings": list(run.warnings),
        "error": run.error,
        "has_output": bool(run.output),
    }


def _not_found(run_id: Any) -> InputError:
    return InputError(f"No run {str(run_id)[:40]!s} in your library. Runs are found with the "
                      "library key they ran under (the X-Kling-Library-Key header or the "
                      "library_key a run tool handed back); list_runs shows yours.")


def estimate_json(preflight: Any, spec: JobSpec) -> dict[str, Any]:
    """What a run of `spec` would meet: its checks, what auto_fix would fix, its cost."""
    def item(p: Problem) -> dict[str, Any]:
        return {"field": p.field, "message": p.message, "fix": p.fix}

    fixable = [p for p in preflight.problems if p.is_error and p.fixable]
    blocking = [p for p in preflight.errors if not (spec.auto_fix and p.fixable)]
    return {
        "ok": not blocking,
        "errors": [item(p) for p in blocking],
        "warnings": [item(p) for p in preflight.problems if not p.is_error],
        # The doctor's fixes, and the trim to the billed window (a note in the page's checks).
        "would_fix": ([item(p) for p in fixable] if spec.auto_fix else []) + [
            {"field": f, "message": m, "fix": "trim"} for f, m in preflight.notes],
        "estimated_cost_usd": preflight.cost_usd,
        "billed_seconds": preflight.billed_seconds,
        "prompt_sent": preflight.prompt,
        "model": spec.model,
        "tool": TAB_TOOLS.get(spec.tab.value, spec.tab.value),
    }


def build_runs_api(studio: Any, mode_inputs: dict[str, Any]) -> None:
    """Add get_run, list_runs, cancel_run and estimate_cost (call inside the Blocks, with the
    run tools' hidden inputs by name: estimate_cost takes the same)."""

    def mine(run_id: Any, request: gr.Request | None, library_key: Any) -> lib.Run:
        run = studio.library.get(run_id) if isinstance(run_id, str) and run_id else None
        if run is None or run.owner != caller_library(request, library_key):
            raise _not_found(run_id)
        return run

    @guarded
    def get_run(run_id: str, library_key: str = "",
                request: gr.Request = None,  # type: ignore[assignment]
                ) -> tuple[str | None, dict[str, Any]]:
        """Look up one run by its run_id (named in a run tool's first progress update and in its result): its status, progress while it goes, cost, and the output once it succeeded. Use it to come back to a run after a call timed out or hung up (a hang-up never stops a run).

        Args:
            run_id: The run's id, 24 hex characters.
            library_key: The library_key a run tool handed back, when the call that started the run sent no X-Kling-Library-Key header ("" otherwise).

        Returns:
            The output video (MP4) once the run succeeded (else nothing), and the run as JSON: run_id, status, tool, model, prompt, created_at, finished_at, prediction_id, backend, estimated_cost_usd, charged (true once Replicate bills it, false for a run that made no video or ran on the simulator, null while unknown), predict_time, progress ({stage, fraction, message, ahead_in_line} while it runs), input, output, fixes_applied, warnings, error, has_output.
        """
        run = mine(run_id, request, library_key)
        output = run.output if run.status == lib.SUCCEEDED and run.output else None
        return output, run_json(run, studio.handle(run.id))

    @guarded
    def list_runs(limit: int = 20, status: str | None = None, tab: str | None = None,
                  library_key: str = "",
                  request: gr.Request = None,  # type: ignore[assignment]
                  ) -> dict[str, Any]:
        """List the runs of the caller's library, newest first: ids, status, cost and prompt.

        Args:
            limit: How many runs at most, 1-100.
            status: Only runs in this status (leave it out for every status).
            tab: Only runs of this run tool (leave it out for every tool).
            library_key: The library_key a run tool handed back, when the runs were started without an X-Kling-Library-Key header ("" otherwise).

        Returns:
            JSON {"runs": [...]}, each run with the keys get_run returns.
        """
        if status and status not in STATUSES:
            raise InputError(f"status must be one of {', '.join(STATUSES)}.")
        if tab and tab not in TOOL_TABS:
            raise InputError(f"tab must be one of {', '.join(TOOL_TABS)}.")
        count = max(1, min(LIST_MAX, int(limit or 20)))
        runs = studio.library.runs(owner=caller_library(request, library_key),
                                   tab=TOOL_TABS[tab].value if tab else None,
                                   status=status or None, limit=count)
        return {"runs": [run_json(r, studio.handle(r.id)) for r in runs]}

    @guarded
    async def cancel_run(run_id: str, library_key: str = "",
                         request: gr.Request = None,  # type: ignore[assignment]
                         ) -> dict[str, Any]:
        """Cancel a run in flight: its prediction is cancelled at Replicate at once, so billing stops. A run that already ended is left as it is.

        Args:
            run_id: The run's id, 24 hex characters.
            library_key: The library_key a run tool handed back, when the run was started without an X-Kling-Library-Key header ("" otherwise).

        Returns:
            The run as JSON (the keys get_run returns) once it has ended, with "canceled": true when this call cancelled it.
        """
        run = mine(run_id, request, library_key)
        canceled = studio.cancel_run(run.id)
        handle = studio.handle(run.id)
        deadline = time.monotonic() + CANCEL_WAIT_S
        while canceled and handle is not None and not handle.done and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        row = studio.library.get(run.id) or run
        return {**run_json(row, handle), "canceled": canceled}

    @guarded
    async def estimate_cost(tool: str, prompt: str = "", start_image: str | None = None,
                            end_image: str | None = None,
                            reference_images: list[str] | None = None,
                            reference_video: str | None = None, aspect_ratio: str = "16:9",
                            duration: int = 5, mode: str = "pro",
                            keep_original_sound: bool = True, auto_fix: bool = True,
                            model: str = "kling-o1", generate_audio: bool = False,
                            shots: str = "",
                            request: gr.Request = None,  # type: ignore[assignment]
                            ) -> dict[str, Any]:
        """Check a run before spending: the same checks a run tool makes, what auto_fix would fix, the estimated cost and the seconds Replicate would bill. Nothing is sent to Replicate and nothing is billed. Files are passed as http(s) URLs the server can download, or as data: URLs (base64).

        Args:
            tool: Which run tool the inputs are for.
            prompt: The prompt, as for that tool.
            start_image: frames_to_video, references_to_video: the start frame (URL or data: URL).
            end_image: frames_to_video: the optional end frame (URL or data: URL).
            reference_images: references_to_video, video_reference, edit_video: the images (URLs or data: URLs).
            reference_video: video_reference, edit_video: the clip (URL or data: URL).
            aspect_ratio: The frame's shape (text_to_video, references_to_video, video_reference).
            duration: Length in seconds (not for edit_video: the clip's length is billed).
            mode: "pro" (1080p) or "std" (720p, cheaper).
            keep_original_sound: video_reference, edit_video: keep the clip's sound.
            auto_fix: Whether the run would fix files Kling refuses (then they are listed under would_fix, not errors).
            model: Which model would run it.
            generate_audio: Kling 3.0 Omni only: the video's own sound (priced higher).
            shots: Kling 3.0 Omni only: a storyboard, a JSON array of {"prompt", "duration"} ("" for none).

        Returns:
            JSON: ok (the run would start), errors, warnings and would_fix (each {field, message, fix}), estimated_cost_usd, billed_seconds, prompt_sent, model, tool.
        """
        if tool not in TOOL_TABS:
            raise InputError(f"tool must be one of {', '.join(TOOL_TABS)}.")
        owner = caller_library(request)
        spec = modeled(JobSpec(
            tab=TOOL_TABS[tool], prompt=prompt,
            start_image=own_upload(start_image, library=studio.library, owner=owner),
            end_image=own_upload(end_image, library=studio.library, owner=owner),
            reference_images=own_uploads(reference_images, library=studio.library, owner=owner),
            reference_video=own_upload(reference_video, library=studio.library, owner=owner),
            aspect_ratio=aspect_ratio, duration=int(duration), quality=mode,
            keep_original_sound=keep_original_sound, auto_fix=auto_fix),
            model, generate_audio, shots)
        return estimate_json(await studio.preflight(spec), spec)

    with gr.Column(visible=False, elem_id="kling-api-runs"):
        run_id = gr.Textbox(label="run_id")
        key = gr.Textbox(value="", label="library_key")
        limit = gr.Number(value=20, precision=0, minimum=1, maximum=LIST_MAX, label="limit")
        status = gr.Dropdown(list(STATUSES), value=None, allow_custom_value=True, label="status")
        tab = gr.Dropdown(list(TOOL_TABS), value=None, allow_custom_value=True, label="tab")
        video = gr.Video(label="video")
        answer = gr.JSON(label="run")
        for fn, inputs, outputs in (
                (get_run, [run_id, key], [video, answer]),
                (list_runs, [limit, status, tab, key], [answer]),
                (cancel_run, [run_id, key], [answer])):
            gr.Button(visible=False).click(fn, inputs=inputs, outputs=outputs,
                                           api_name=fn.__name__, queue=False,
                                           show_progress="hidden")
        tool = gr.Dropdown(list(TOOL_TABS), value="text_to_video", label="tool")
        gr.Button(visible=False).click(
            estimate_cost, api_name="estimate_cost", outputs=[answer], show_progress="hidden",
            inputs=[tool, *(mode_inputs[n] for n in ESTIMATE_INPUTS)],
            concurrency_id="kling-estimate", concurrency_limit=2)
