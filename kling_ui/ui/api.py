"""Named API endpoints for gradio_client, one per mode, with parameters named as Replicate inputs.

    /text_to_video        prompt, aspect_ratio, duration, mode, auto_fix
    /frames_to_video      prompt, start_image, end_image, duration, mode, auto_fix
    /references_to_video  prompt, reference_images, start_image, aspect_ratio, duration, mode, auto_fix
    /video_reference      prompt, reference_video, reference_images, aspect_ratio, duration, mode,
                          keep_original_sound, auto_fix
    /edit_video           prompt, reference_video, reference_images, mode, keep_original_sound,
                          auto_fix

Each returns (output video, JSON summary). They are wired to hidden components so the UI's own
handlers stay private. While a run waits for a slot, `job.status()` of a gradio_client caller
says where it stands ("2 ahead of you · about 3 min"), then how the run goes. A caller may send its own key in the `X-Replicate-Api-Token` header, and
an `X-Kling-Library-Key` header of its choosing to keep its runs in a library of its own.
"""

from __future__ import annotations

import asyncio
from typing import Any

import gradio as gr

from ..models import ASPECT_RATIOS, QUALITY_MODES, Progress, Tab
from ..service import JobSpec
from .common import (
    STAGE_LABELS,
    api_owner,
    guarded,
    header_token,
    line_text,
    path_of,
    paths_of,
    visitor_id,
)
from .tabs import RUN_POOL

API_REPORT_EVERY = 0.5  # seconds between progress reports to an API caller
PROGRESS = gr.Progress()  # Gradio fills in a live one per call (a default, as its docs show)


def _report(progress: gr.Progress, p: Progress | None) -> None:
    """Tell an API caller how its run goes: its place in line while it waits, then the stage."""
    if p is None:
        return
    if p.stage == "queued" and p.position is not None:
        progress(None, desc=line_text(p.position, p.wait))
    else:
        desc = STAGE_LABELS.get(p.stage, p.stage) + (f": {p.log_line}" if p.log_line else "")
        progress(p.fraction, desc=desc)


def build_api(studio: Any, *, concurrency: int) -> None:
    """Add the five endpoints (call inside the Blocks)."""

    async def _run(spec: JobSpec, request: gr.Request | None,
                   progress: gr.Progress | None = None) -> tuple[str, dict[str, Any]]:
        # On the runner, not in this handler: a caller that hangs up does not stop the run,
        # and its output is still saved in the library (under X-Kling-Library-Key, or "api").
        handle = studio.start(spec, visitor_token=header_token(request),
                              visitor_id=visitor_id(request), owner=api_owner(request))
        outcome = asyncio.ensure_future(handle.wait())
        try:
            while not outcome.done():
                if progress is not None:
                    _report(progress, handle.progress)
                await asyncio.wait({outcome}, timeout=API_REPORT_EVERY)
            result = outcome.result()
        finally:
            outcome.cancel()  # the caller hung up: stop watching (the run itself goes on)
        return result.output_path, result.summary()

    @guarded
    async def text_to_video(prompt: str, aspect_ratio: str = "16:9", duration: int = 5,
                            mode: str = "pro", auto_fix: bool = True,
                            request: gr.Request = None,  # type: ignore[assignment]
                            progress: gr.Progress = PROGRESS) -> tuple[str, dict[str, Any]]:
        """Text to video: prompt, aspect_ratio (16:9, 9:16, 1:1), duration (5 or 10), mode."""
        return await _run(JobSpec(tab=Tab.TEXT, prompt=prompt, aspect_ratio=aspect_ratio,
                                  duration=int(duration), quality=mode, auto_fix=auto_fix), request, progress)

    @guarded
    async def frames_to_video(prompt: str, start_image: str | None = None,
                              end_image: str | None = None, duration: int = 5, mode: str = "pro",
                              auto_fix: bool = True,
                              request: gr.Request = None,  # type: ignore[assignment]
                            progress: gr.Progress = PROGRESS) -> tuple[str, dict[str, Any]]:
        """Start frame (and optional end frame) to video. No aspect_ratio: the frame sets it.

        duration: 5 or 10 with a start frame alone, 3-10 with an end frame."""
        return await _run(JobSpec(tab=Tab.FRAMES, prompt=prompt, start_image=path_of(start_image),
                                  end_image=path_of(end_image), duration=int(duration),
                                  quality=mode, auto_fix=auto_fix), request, progress)

    @guarded
    async def references_to_video(prompt: str, reference_images: list[str] | None = None,
                                  start_image: str | None = None, aspect_ratio: str = "16:9",
                                  duration: int = 5, mode: str = "pro", auto_fix: bool = True,
                                  request: gr.Request = None,  # type: ignore[assignment]
                            progress: gr.Progress = PROGRESS) -> tuple[str, dict[str, Any]]:
        """1-7 reference images (+ optional start frame) to video; duration 3-10."""
        return await _run(JobSpec(tab=Tab.REFERENCES, prompt=prompt,
                                  reference_images=paths_of(reference_images),
                                  start_image=path_of(start_image), aspect_ratio=aspect_ratio,
                                  duration=int(duration), quality=mode, auto_fix=auto_fix), request, progress)

    @guarded
    async def video_reference(prompt: str, reference_video: str | None = None,
                              reference_images: list[str] | None = None, aspect_ratio: str = "16:9",
                              duration: int = 5, mode: str = "pro", keep_original_sound: bool = True,
                              auto_fix: bool = True,
                              request: gr.Request = None,  # type: ignore[assignment]
                            progress: gr.Progress = PROGRESS) -> tuple[str, dict[str, Any]]:
        """A 3-10 s reference clip (style, camera, next/previous shot) + up to 4 images."""
        return await _run(JobSpec(tab=Tab.FEATURE, prompt=prompt,
                                  reference_video=path_of(reference_video),
                                  reference_images=paths_of(reference_images),
                                  aspect_ratio=aspect_ratio, duration=int(duration), quality=mode,
                                  keep_original_sound=keep_original_sound, auto_fix=auto_fix),
                          request, progress)

    @guarded
    async def edit_video(prompt: str, reference_video: str | None = None,
                         reference_images: list[str] | None = None, mode: str = "pro",
                         keep_original_sound: bool = True, auto_fix: bool = True,
                         request: gr.Request = None,  # type: ignore[assignment]
                         progress: gr.Progress = PROGRESS) -> tuple[str, dict[str, Any]]:
        """Edit a 3-10 s clip (video_reference_type=base); the output keeps its length."""
        return await _run(JobSpec(tab=Tab.EDIT, prompt=prompt,
                                  reference_video=path_of(reference_video),
                                  reference_images=paths_of(reference_images), quality=mode,
                                  keep_original_sound=keep_original_sound, auto_fix=auto_fix),
                          request, progress)

    with gr.Column(visible=False, elem_id="kling-api"):
        c = {
            "prompt": gr.Textbox(label="prompt"),
            "start_image": gr.File(label="start_image"),
            "end_image": gr.File(label="end_image"),
            "reference_images": gr.File(label="reference_images", file_count="multiple"),
            "reference_video": gr.File(label="reference_video"),
            "aspect_ratio": gr.Dropdown(list(ASPECT_RATIOS), value="16:9", label="aspect_ratio"),
            "duration": gr.Number(value=5, precision=0, label="duration"),
            "mode": gr.Dropdown(list(QUALITY_MODES), value="pro", label="mode"),
            "keep_original_sound": gr.Checkbox(value=True, label="keep_original_sound"),
            "auto_fix": gr.Checkbox(value=True, label="auto_fix"),
        }
        video = gr.Video(label="video")
        summary = gr.JSON(label="summary")
        endpoints = (
            (text_to_video, ["prompt", "aspect_ratio", "duration", "mode", "auto_fix"]),
            (frames_to_video, ["prompt", "start_image", "end_image", "duration", "mode",
                               "auto_fix"]),
            (references_to_video, ["prompt", "reference_images", "start_image", "aspect_ratio",
                                   "duration", "mode", "auto_fix"]),
            (video_reference, ["prompt", "reference_video", "reference_images", "aspect_ratio",
                               "duration", "mode", "keep_original_sound", "auto_fix"]),
            (edit_video, ["prompt", "reference_video", "reference_images", "mode",
                          "keep_original_sound", "auto_fix"]),
        )
        for fn, names in endpoints:
            gr.Button(visible=False).click(
                fn, inputs=[c[n] for n in names], outputs=[video, summary],
                api_name=fn.__name__, concurrency_id=RUN_POOL, concurrency_limit=None,
                show_progress="hidden")
