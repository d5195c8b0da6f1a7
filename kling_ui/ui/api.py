"""Named API endpoints, one per mode, with parameters named as Replicate inputs: for
gradio_client, and for AI agents as MCP tools (issue #15; the docstrings are the tools' schema).

    /text_to_video        prompt, aspect_ratio, duration, mode, auto_fix
    /frames_to_video      prompt, start_image, end_image, duration, mode, auto_fix
    /references_to_video  prompt, reference_images, start_image, aspect_ratio, duration, mode, auto_fix
    /video_reference      prompt, reference_video, reference_images, aspect_ratio, duration, mode,
                          keep_original_sound, auto_fix
    /edit_video           prompt, reference_video, reference_images, mode, keep_original_sound,
                          auto_fix

Each returns (output video, JSON summary). They are wired to hidden components so the UI's own
handlers stay private. A caller may send its own key in the `X-Replicate-Api-Token` header (a
`gr.Header` parameter: Gradio fills it from the request, MCP calls included, and declares it in
the MCP schema, so it is never a tool argument), and an `X-Kling-Library-Key` header of its
choosing to keep its runs in a library of its own. While a run goes, its stage and Replicate's
percentage are reported with `gr.Progress`, which MCP clients receive as progress notifications.
Each docstring keeps one line per parameter under `Args:`: Gradio reads only that first line.
While a run waits for one of the Studio's slots, the progress says where it stands ("2 ahead of
you · about 3 min"), then how the run goes.
"""

from __future__ import annotations

import asyncio
from typing import Any

import gradio as gr

from ..core.config import secret_or_none
from ..core.models import ASPECT_RATIOS, QUALITY_MODES, Progress, Tab
from ..core.profile import DEFAULT_PROFILE, PROFILE_IDS
from ..runs.service import JobSpec
from .api_runs import build_runs_api, modeled, new_library
from .cancels import explicitly_cancelled
from .common import STAGE_LABELS, guarded, line_text
from .edge import own_upload, own_uploads
from .tab_layout import RUN_POOL
from .visitor import api_owner, visitor_id

MORE = ("model", "generate_audio", "shots")  # issue #25: the model, its sound, a storyboard
STAGES = ("checking", "fixing", "uploading", "starting", "processing", "downloading", "finishing",
          "done")  # core.models.STAGES but "queued"
PROGRESS_EVERY_S = 0.5  # how often a waiting endpoint looks at its run's progress


def progress_step(p: Progress) -> tuple[tuple[int, int], str]:
    """One report for gr.Progress: ((done, total), what is happening).

    Replicate's own percentage while it generates; otherwise the stage's place among STAGES
    (gr.Progress wants whole steps: an MCP client then reads "Generating: Step 40 of 100").
    """
    label = STAGE_LABELS.get(p.stage, p.stage)
    if p.fraction is not None and p.stage == "processing":
        return (round(max(0.0, min(1.0, p.fraction)) * 100), 100), label + " (%)"
    index = STAGES.index(p.stage) + 1 if p.stage in STAGES else 1
    return (index, len(STAGES)), label


def with_run_id(desc: str, run_id: str, library_key: str | None = None) -> str:
    """A progress line that names its run (and the library key handed to a caller that sent
    none), so a caller that loses the call can fetch the run with get_run (issue #22)."""
    key = f" library_key={library_key}" if library_key else ""
    return f"{desc} [run_id={run_id}{key}]"


async def follow(handle: Any, progress: gr.Progress, library_key: str | None = None) -> Any:
    """Await the run's outcome, reporting each change of its progress on the way; the first
    report, at once, names the run.

    A caller that hangs up (a closed connection, a reload, a crash) leaves the run going: its
    output is saved. A caller that cancels explicitly (Gradio's `/gradio_api/cancel`, i.e.
    gradio_client's `job.cancel()`) cancels the run at Replicate (ui.cancels tells the two apart).
    """
    outcome = asyncio.ensure_future(handle.wait())
    last: Progress | None = None
    progress((0, len(STAGES)), desc=with_run_id(STAGE_LABELS.get("checking", "checking"),
                                                handle.run_id, library_key), unit="steps")
    try:
        while True:
            done, _ = await asyncio.wait({outcome}, timeout=PROGRESS_EVERY_S)
            if done:
                return outcome.result()
            now = handle.progress
            if now is not None and now != last:
                last = now
                if now.stage == "queued" and now.position is not None:
                    # Waiting for a slot (kling_ui.runs.pool): its place in line, about how long.
                    progress(None, desc=with_run_id(line_text(now.position, now.wait),
                                                    handle.run_id, library_key))
                    continue
                (step, total), desc = progress_step(now)
                progress((step, total), desc=with_run_id(desc, handle.run_id, library_key),
                         unit="steps")
    except asyncio.CancelledError:
        if explicitly_cancelled():
            handle.cancel()  # the runner cancels the prediction at Replicate
        raise
    finally:
        # A hang-up: stop waiting. The run itself goes on (RunHandle.wait shields it).
        outcome.cancel()


def build_api(studio: Any, *, concurrency: int) -> None:
    """Add the five endpoints (call inside the Blocks)."""

    def upload(value: Any, request: gr.Request | None) -> str | None:
        # Gradio already moved the caller's files into its upload folder; edge checks again.
        return own_upload(value, library=studio.library, owner=api_owner(request))

    def uploads(values: Any, request: gr.Request | None) -> tuple[str, ...]:
        return own_uploads(values, library=studio.library, owner=api_owner(request))

    async def _run(spec: JobSpec, request: gr.Request | None, key: str | None,
                   progress: gr.Progress) -> tuple[str, dict[str, Any]]:
        # On the runner, not in this handler: a caller that hangs up does not stop the run,
        # and its output is still saved in the library: the X-Kling-Library-Key header's, or
        # without one a library of its own, whose key the progress and the result hand back
        # so get_run / cancel_run find it (issue #22). The caller's Replicate key is for this
        # run only: the runner holds it, the library never does.
        owner, minted = new_library(request)
        handle = studio.start(spec, visitor_token=secret_or_none(key),
                              visitor_id=visitor_id(request, studio.settings.trusted_proxies), owner=owner)
        result = await follow(handle, progress, library_key=minted)
        summary = result.summary()
        return result.output_path, {**summary, "library_key": minted} if minted else summary

    # Gradio fills `x_replicate_api_token` from the request's X-Replicate-Api-Token header (typed
    # `gr.Header`, not Optional: Gradio's MCP schema only declares a bare `Header`); `request`
    # and `progress` are special parameters too. None of the three is an API input.
    @guarded
    async def text_to_video(prompt: str, aspect_ratio: str = "16:9", duration: int = 5,
                            mode: str = "pro", auto_fix: bool = True,
                            model: str = "kling-o1", generate_audio: bool = False, shots: str = "",
                            x_replicate_api_token: gr.Header = None,  # type: ignore[assignment]
                            request: gr.Request = None,  # type: ignore[assignment]
                            progress: gr.Progress = gr.Progress(),  # noqa: B008
                            ) -> tuple[str, dict[str, Any]]:
        """Make a video from a text prompt with Kling O1 (kwaivgi/kling-o1 on Replicate); a run takes a few minutes on Replicate, and progress is reported while it goes. The host's Replicate key is used unless the caller sends its own in the X-Replicate-Api-Token HTTP header (used for this call only, never returned); an X-Kling-Library-Key header keeps the run in a library of the caller's own.

        Args:
            prompt: What happens in the video, 1-2500 characters.
            aspect_ratio: The frame's shape: "16:9", "9:16" or "1:1".
            duration: Length of the video in seconds: 5 or 10.
            mode: "pro" (1080p) or "std" (720p, cheaper).
            auto_fix: Kept for the same signature as the other modes (text has no files to fix).

            model: Which model runs it: "kling-o1" (Kling O1, the default) or "kling-v3-omni" (Kling 3.0 Omni: 3-15 s, native audio, multi-shot).
            generate_audio: Kling 3.0 Omni only: make the video's own sound (refused for Kling O1).
            shots: Kling 3.0 Omni only: a multi-shot storyboard as a JSON array of up to 6 {"prompt": str, "duration": int} whose durations sum to duration ("" for none).

        Returns:
            The output video (MP4) and a JSON summary: run_id, prediction_id, status, backend, estimated_cost_usd, predict_time, input (exactly what was sent to Replicate), output (duration, width, height, fps, has_audio), fixes_applied and warnings.
        """
        return await _run(modeled(JobSpec(tab=Tab.TEXT, prompt=prompt, aspect_ratio=aspect_ratio,
                                          duration=int(duration), quality=mode, auto_fix=auto_fix),
                                  model, generate_audio, shots),
                          request, x_replicate_api_token, progress)

    @guarded
    async def frames_to_video(prompt: str, start_image: str | None,
                              end_image: str | None = None, duration: int = 5, mode: str = "pro",
                              auto_fix: bool = True,
                              model: str = "kling-o1", generate_audio: bool = False, shots: str = "",
                            x_replicate_api_token: gr.Header = None,  # type: ignore[assignment]
                              request: gr.Request = None,  # type: ignore[assignment]
                              progress: gr.Progress = gr.Progress(),  # noqa: B008
                              ) -> tuple[str, dict[str, Any]]:
        """Animate a start frame (and, optionally, towards an end frame) into a video with Kling O1; the frame sets the aspect ratio. Images are passed as http(s) URLs the server can download, or as data: URLs (base64). The caller's own Replicate key goes in the X-Replicate-Api-Token HTTP header, never in an argument; progress is reported while the run goes.

        Args:
            prompt: What happens between the frames, 1-2500 characters; the start frame is <<<image_1>>>, the end frame <<<image_2>>>.
            start_image: The first frame: a JPEG or PNG image (URL), each side at least 300 px.
            end_image: Optional last frame (URL); with it the duration may be 3-10 s.
            duration: Length in seconds: 5 or 10 with a start frame alone, 3-10 with an end frame.
            mode: "pro" (1080p) or "std" (720p, cheaper).
            auto_fix: Fix images Kling would refuse (convert, shrink, pad to 1:2.5-2.5:1) before the run instead of refusing them.

            model: Which model runs it: "kling-o1" (Kling O1, the default) or "kling-v3-omni" (Kling 3.0 Omni: 3-15 s, native audio, multi-shot).
            generate_audio: Kling 3.0 Omni only: make the video's own sound (refused for Kling O1).
            shots: Kling 3.0 Omni only: a multi-shot storyboard as a JSON array of up to 6 {"prompt": str, "duration": int} whose durations sum to duration ("" for none).

        Returns:
            The output video (MP4) and a JSON summary (status, prediction_id, estimated_cost_usd, output facts, fixes applied, warnings).
        """
        return await _run(modeled(JobSpec(tab=Tab.FRAMES, prompt=prompt,
                                  start_image=upload(start_image, request),
                                  end_image=upload(end_image, request), duration=int(duration),
                                  quality=mode, auto_fix=auto_fix), model, generate_audio, shots),
                          request, x_replicate_api_token, progress)

    @guarded
    async def references_to_video(prompt: str, reference_images: list[str] | None,
                                  start_image: str | None = None, aspect_ratio: str = "16:9",
                                  duration: int = 5, mode: str = "pro", auto_fix: bool = True,
                                  model: str = "kling-o1", generate_audio: bool = False, shots: str = "",
                            x_replicate_api_token: gr.Header = None,  # type: ignore[assignment]
                                  request: gr.Request = None,  # type: ignore[assignment]
                                  progress: gr.Progress = gr.Progress(),  # noqa: B008
                                  ) -> tuple[str, dict[str, Any]]:
        """Make a video from 1-7 reference images (people, objects, places, styles) and a prompt that names them, with Kling O1; an optional start frame opens it. Images are passed as http(s) URLs the server can download, or as data: URLs (base64). The caller's own Replicate key goes in the X-Replicate-Api-Token HTTP header, never in an argument; progress is reported while the run goes.

        Args:
            prompt: What happens, 1-2500 characters; name the images as <<<image_1>>>, <<<image_2>>>... (a start frame, if any, is <<<image_1>>> and the references follow it).
            reference_images: 1 to 7 JPEG or PNG images (URLs), in the order the prompt numbers them; 6 at most with a start frame.
            start_image: Optional first frame (URL).
            aspect_ratio: The frame's shape: "16:9", "9:16" or "1:1".
            duration: Length of the video in seconds, 3-10.
            mode: "pro" (1080p) or "std" (720p, cheaper).
            auto_fix: Fix images Kling would refuse (convert, shrink, pad to 1:2.5-2.5:1) before the run instead of refusing them.

            model: Which model runs it: "kling-o1" (Kling O1, the default) or "kling-v3-omni" (Kling 3.0 Omni: 3-15 s, native audio, multi-shot).
            generate_audio: Kling 3.0 Omni only: make the video's own sound (refused for Kling O1).
            shots: Kling 3.0 Omni only: a multi-shot storyboard as a JSON array of up to 6 {"prompt": str, "duration": int} whose durations sum to duration ("" for none).

        Returns:
            The output video (MP4) and a JSON summary (status, prediction_id, estimated_cost_usd, output facts, fixes applied, warnings).
        """
        return await _run(modeled(JobSpec(tab=Tab.REFERENCES, prompt=prompt,
                                  reference_images=uploads(reference_images, request),
                                  start_image=upload(start_image, request),
                                  aspect_ratio=aspect_ratio, duration=int(duration),
                                  quality=mode, auto_fix=auto_fix), model, generate_audio, shots),
                          request, x_replicate_api_token, progress)

    @guarded
    async def video_reference(prompt: str, reference_video: str | None,
                              reference_images: list[str] | None = None, aspect_ratio: str = "16:9",
                              duration: int = 5, mode: str = "pro", keep_original_sound: bool = True,
                              auto_fix: bool = True,
                              model: str = "kling-o1",
                            x_replicate_api_token: gr.Header = None,  # type: ignore[assignment]
                              request: gr.Request = None,  # type: ignore[assignment]
                              progress: gr.Progress = gr.Progress(),  # noqa: B008
                              ) -> tuple[str, dict[str, Any]]:
        """Make a new video that follows a reference clip (its style or camera movement, or the next or previous shot of it) with Kling O1, optionally with up to 4 reference images. Files are passed as http(s) URLs the server can download, or as data: URLs (base64). The caller's own Replicate key goes in the X-Replicate-Api-Token HTTP header, never in an argument; progress is reported while the run goes.

        Args:
            prompt: What to make, 1-2500 characters; the clip is <<<video_1>>>, the images <<<image_1>>>... (e.g. "Based on <<<video_1>>>, generate the next shot.").
            reference_video: The reference clip (URL): MP4 or MOV, 3-10 s, 720-2160 px per side, 24-60 fps (auto_fix trims and converts a clip outside these).
            reference_images: Up to 4 JPEG or PNG images (URLs), in the order the prompt numbers them.
            aspect_ratio: The frame's shape: "16:9", "9:16" or "1:1".
            duration: Length of the new video in seconds, 3-10.
            mode: "pro" (1080p) or "std" (720p, cheaper).
            keep_original_sound: Keep the reference clip's sound in the output.
            auto_fix: Fix files Kling would refuse (trim to 10 s, re-encode, scale, change fps; convert and pad images) before the run instead of refusing them.

            model: Which model runs it: "kling-o1" (Kling O1, the default) or "kling-v3-omni" (Kling 3.0 Omni; it cannot make its own sound while a video is referenced).

        Returns:
            The output video (MP4) and a JSON summary (status, prediction_id, estimated_cost_usd, output facts, fixes applied, warnings, and `motion`: how closely the output's motion follows the clip's).
        """
        return await _run(modeled(JobSpec(tab=Tab.FEATURE, prompt=prompt,
                                  reference_video=upload(reference_video, request),
                                  reference_images=uploads(reference_images, request),
                                  aspect_ratio=aspect_ratio, duration=int(duration), quality=mode,
                                  keep_original_sound=keep_original_sound, auto_fix=auto_fix), model),
                          request, x_replicate_api_token, progress)

    @guarded
    async def edit_video(prompt: str, reference_video: str | None,
                         reference_images: list[str] | None = None, mode: str = "pro",
                         keep_original_sound: bool = True, auto_fix: bool = True,
                         model: str = "kling-o1",
                            x_replicate_api_token: gr.Header = None,  # type: ignore[assignment]
                         request: gr.Request = None,  # type: ignore[assignment]
                         progress: gr.Progress = gr.Progress(),  # noqa: B008
                         ) -> tuple[str, dict[str, Any]]:
        """Edit a 3-10 s video with Kling O1 as the prompt says (replace or add objects, restyle, change the weather...), optionally using up to 4 reference images; the output keeps the clip's length. Files are passed as http(s) URLs the server can download, or as data: URLs (base64). The caller's own Replicate key goes in the X-Replicate-Api-Token HTTP header, never in an argument; progress is reported while the run goes.

        Args:
            prompt: The edit, 1-2500 characters; the clip is <<<video_1>>>, the images <<<image_1>>>... (e.g. "Put the crown from <<<image_1>>> on the girl in <<<video_1>>>").
            reference_video: The clip to edit (URL): MP4 or MOV, 3-10 s, 720-2160 px per side, 24-60 fps (auto_fix trims and converts a clip outside these).
            reference_images: Up to 4 JPEG or PNG images (URLs), in the order the prompt numbers them.
            mode: "pro" (1080p) or "std" (720p, cheaper).
            keep_original_sound: Keep the clip's sound in the output.
            auto_fix: Fix files Kling would refuse (trim to 10 s, re-encode, scale, change fps; convert and pad images) before the run instead of refusing them.

            model: Which model runs it: "kling-o1" (Kling O1, the default) or "kling-v3-omni" (Kling 3.0 Omni; it cannot make its own sound while a video is referenced).

        Returns:
            The edited video (MP4) and a JSON summary (status, prediction_id, estimated_cost_usd, output facts, fixes applied, warnings, and `motion`: how closely the output's motion follows the clip's).
        """
        return await _run(modeled(JobSpec(tab=Tab.EDIT, prompt=prompt,
                                  reference_video=upload(reference_video, request),
                                  reference_images=uploads(reference_images, request),
                                  quality=mode, keep_original_sound=keep_original_sound,
                                  auto_fix=auto_fix), model),
                          request, x_replicate_api_token, progress)

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
            "model": gr.Dropdown(list(PROFILE_IDS), value=DEFAULT_PROFILE, label="model"),
            "generate_audio": gr.Checkbox(value=False, label="generate_audio"),
            "shots": gr.Textbox(value="", label="shots"),
        }
        video = gr.Video(label="video")
        summary = gr.JSON(label="summary")
        endpoints = (
            (text_to_video, ["prompt", "aspect_ratio", "duration", "mode", "auto_fix", *MORE]),
            (frames_to_video, ["prompt", "start_image", "end_image", "duration", "mode",
                               "auto_fix", *MORE]),
            (references_to_video, ["prompt", "reference_images", "start_image", "aspect_ratio",
                                   "duration", "mode", "auto_fix", *MORE]),
            (video_reference, ["prompt", "reference_video", "reference_images", "aspect_ratio",
                               "duration", "mode", "keep_original_sound", "auto_fix", "model"]),
            (edit_video, ["prompt", "reference_video", "reference_images", "mode",
                          "keep_original_sound", "auto_fix", "model"]),
        )
        for fn, names in endpoints:
            gr.Button(visible=False).click(
                fn, inputs=[c[n] for n in names], outputs=[video, summary],
                api_name=fn.__name__, concurrency_id=RUN_POOL, concurrency_limit=None,
                show_progress="hidden")
        build_runs_api(studio, c)
