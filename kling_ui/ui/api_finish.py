"""Named API endpoints for what happens after a run (issue #13), for scripts and agents:

    /motion_report   original, output, start=0.0          -> (plot PNG, JSON figures)
    /splice_back     original, edited, start, audio="original", crossfade=0.0  -> video
    /compare_export  original, output, layout="side_by_side", audio="output", start=0.0 -> video
    /compare_stills  original, output, start=0.0           -> stills sheet PNG

`/compare_export` returns the video alone, as the issue names it; the before/after stills sheet
the UI shows beside it is its own endpoint, so neither signature carries the other's output.
Wired like `api.py`: hidden components, `guarded` handlers (bad input comes back as one clear
message), and a concurrency pool of their own so media work never queues behind Kling runs.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from ..finishing.results import EXPORT_AUDIO, LAYOUTS, SPLICE_AUDIO, Finisher
from .common import guarded
from .edge import own_upload
from .visitor import api_owner, session_id

FINISH_POOL = "kling-finish"  # media work on the server's cores; runs wait in their own pool


def build_finish_api(studio: Any, *, concurrency: int) -> None:
    """Add the four endpoints (call inside the Blocks, next to `build_api`)."""
    finisher = Finisher(studio.files.tmp)  # temporary files: swept by age

    def where(request: gr.Request | None) -> str:
        return str(studio.session_dir(session_id(request)) / "finish")

    def upload(value: Any, request: gr.Request | None) -> str | None:
        return own_upload(value, library=studio.library, owner=api_owner(request))

    @guarded
    async def motion_report(original: str | None, output: str | None, start: float = 0.0,
                            request: gr.Request = None,  # type: ignore[assignment]
                            ) -> tuple[str, dict[str, Any]]:
        """How closely the output's motion follows the original's, frame by frame.

        Both clips are compared at 24 fps (Kling's output rate) with dense optical flow. Videos are passed as http(s) URLs the server can download, or as data: URLs (base64).

        Args:
            original: The original video: the clip that was sent, or the whole clip it was cut from (then give `start`).
            output: The Kling O1 output video.
            start: Seconds into `original` where the part that was sent begins (its trim window); the window is as long as the output.

        Returns:
            A PNG plot of both clips' horizontal and vertical motion over time with drift shaded, and JSON with `score` (0..1, 1 = the same motion), `verdict` (one line, e.g. "motion kept, 1.25x faster"), `offset_s` (output later than the original by this many seconds; null with an `offset_note` sentence when no shift within `lag_limit_s` lines the clips up), `drift` ([start_s, end_s] spans of the output where the motion parts ways), `frames_original`, `frames_output`, `duration_original`, `duration_output`, `audio_offset_s` (null without sound on both, without loudness changes, or with an `audio_note` when no shift lines the sound up), `speed_ratio` (the output's motion per frame over the original's) and `speed_fitted` (true when the output replays the original's motion at that pace: only then does the verdict say faster or slower, and a fitted speed-up is not reported as an offset).
        """
        return await finisher.motion_report(upload(original, request), upload(output, request),
                                            start=start, out_dir=where(request))

    @guarded
    async def splice_back(original: str | None, edited: str | None, start: float,
                          audio: str = "original", crossfade: float = 0.0,
                          request: gr.Request = None,  # type: ignore[assignment]
                          ) -> str:
        """Put an edited window back into the whole clip it was cut from, at its timecode.

        The result has the original's length, frame rate and size (the edit is scaled to fit and letter- or pillar-boxed); frames outside the window are the original's. Videos are passed as http(s) URLs the server can download, or as data: URLs (base64).

        Args:
            original: The whole original video.
            edited: The edited clip (the Kling O1 output of the window); it replaces as many seconds as it lasts.
            start: Seconds into `original` where the window begins.
            audio: "original" keeps the original's sound throughout; "output" uses the edited clip's sound inside the window.
            crossfade: Seconds of cross-fade at each seam (0 for a hard cut; at most 2 s and half the window).

        Returns:
            The spliced MP4 (H.264/AAC).
        """
        return await finisher.splice_back(upload(original, request), upload(edited, request),
                                          start=start, audio=audio, crossfade=crossfade,
                                          out_dir=where(request))

    @guarded
    async def compare_export(original: str | None, output: str | None,
                             layout: str = "side_by_side", audio: str = "output",
                             start: float = 0.0,
                             request: gr.Request = None,  # type: ignore[assignment]
                             ) -> str:
        """An MP4 of the original and the output together, labelled "Original" and "Kling O1", to show a change at a glance. Files are passed as http(s) URLs the server can download, or as data: URLs (base64).

        Args:
            original: The original video, or an image (a start frame, shown as a still).
            output: The Kling O1 output video; the export lasts as long as it does.
            layout: "side_by_side", "wipe" (one frame, a moving A/B wipe line) or "stacked" (one above the other, for portrait clips).
            audio: Whose sound to keep: "output", "original" or "none".
            start: Seconds into `original` where the output's window begins (its trim window), so a 7-12 s edit of a 20 s clip is compared with 7-12 s.

        Returns:
            The comparison MP4 (H.264, 24 fps), each panel at the output's own resolution up to 1080p. The stills sheet is /compare_stills.
        """
        video, _ = await finisher.compare_export(upload(original, request),
                                                 upload(output, request), layout=layout,
                                                 audio=audio, stills=False, start=start,
                                                 out_dir=where(request))
        return video

    @guarded
    async def compare_stills(original: str | None, output: str | None, start: float = 0.0,
                             request: gr.Request = None,  # type: ignore[assignment]
                             ) -> str:
        """A PNG sheet of before/after stills at four moments of the output. Files are passed as http(s) URLs the server can download, or as data: URLs (base64).

        Args:
            original: The original video, or an image (a start frame).
            output: The Kling O1 output video.
            start: Seconds into `original` where the output's window begins.

        Returns:
            The sheet: originals in the top row, the output's frames below, times above.
        """
        return await finisher.stills(upload(original, request), upload(output, request),
                                     start=start, out_dir=where(request))

    with gr.Column(visible=False, elem_id="kling-finish-api"):
        # Dropdowns that take any value: the schema lists the choices (issue #22), and a bad
        # value still reaches the handler, which answers with our own message.
        c = {
            "original": gr.File(label="original"),
            "output": gr.File(label="output"),
            "edited": gr.File(label="edited"),
            "start": gr.Number(value=0.0, label="start"),
            "splice_audio": gr.Dropdown(list(SPLICE_AUDIO), value="original",
                                        allow_custom_value=True, label="audio"),
            "crossfade": gr.Number(value=0.0, label="crossfade"),
            "layout": gr.Dropdown(list(LAYOUTS), value="side_by_side", allow_custom_value=True,
                                  label="layout"),
            "export_audio": gr.Dropdown(list(EXPORT_AUDIO), value="output",
                                        allow_custom_value=True, label="audio"),
        }
        plot = gr.Image(type="filepath", label="plot")
        report = gr.JSON(label="report")
        video = gr.Video(label="video")
        sheet = gr.Image(type="filepath", label="stills")
        endpoints: tuple[tuple[Any, list[str], list[Any]], ...] = (
            (motion_report, ["original", "output", "start"], [plot, report]),
            (splice_back, ["original", "edited", "start", "splice_audio", "crossfade"], [video]),
            (compare_export, ["original", "output", "layout", "export_audio", "start"], [video]),
            (compare_stills, ["original", "output", "start"], [sheet]),
        )
        for fn, names, outputs in endpoints:
            gr.Button(visible=False).click(
                fn, inputs=[c[n] for n in names], outputs=outputs, api_name=fn.__name__,
                concurrency_id=FINISH_POOL, concurrency_limit=concurrency, show_progress="hidden")
