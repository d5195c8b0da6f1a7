"""Named API endpoints for frames and sequences (issue #14), for gradio_client and MCP tools.

    /grab_frame   video, t              -> PNG of the frame shown at t
    /join_clips   clips, crossfade=0.0, size="first"
                  -> one MP4 (the first clip's size, the largest's, 1080p or 720p; 24 fps;
                     continuous sound)

Wired to hidden components like `api.py`; handlers call `kling_ui.finishing.sequence` and are wrapped by
`common.guarded`, so bad input reaches the caller as one clear message. Media work has its own
concurrency pool, so joins never hold up generation runs (and the reverse).
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from ..finishing.sequence import Sequencer
from ..media.join import SIZES
from .common import guarded
from .edge import own_upload, own_uploads

SEQUENCE_POOL = "kling-sequence"  # frame grabs and joins share one pool of ffmpeg work


def build_sequence_api(studio: Any, *, concurrency: int) -> Sequencer:
    """Add the two endpoints (call inside the Blocks); returns the Sequencer they use, for the
    UI's own handlers (files go under the Studio's data folder, swept with its other files)."""
    sequencer = Sequencer(studio.files.tmp)  # temporary: swept by age like previews

    @guarded
    async def grab_frame(video: str | None, t: float = -0.0) -> str:
        """Grab one frame of a video as a PNG at the video's displayed size (rotation applied): a last frame to start the next shot from, or a still to check. The video is passed as an http(s) URL the server can download, or as a data: URL (base64).

        Args:
            video: The video file (MP4 or MOV, as a URL) to take the frame from.
            t: Time of the frame in seconds from the start; a negative time counts from the end (-1.0 is one second before it), and -0.0 (the default) or the duration gives the real last frame. Must lie within the clip.

        Returns:
            The frame shown at `t`, as a PNG image file.
        """
        grabbed = await sequencer.grab_frame(own_upload(video) or "", float(t))
        return grabbed.path

    @guarded
    async def join_clips(clips: list[str] | None, crossfade: float = 0.0,
                         size: str = "first") -> str:
        """Join 2 to 20 video clips, in order, into one MP4 (a sequence of shots). Every clip is conformed to one output size (letter/pillar-boxed, never cropped) and 24 fps; the sound runs throughout (silence for a clip without audio), with a short fade at each hard cut. The result lasts the sum of the clips less one crossfade per join. Clips are passed as http(s) URLs the server can download, or as data: URLs (base64).

        Args:
            clips: The video files (MP4 or MOV, as URLs) to join, in playing order; at least 2, at most 20.
            crossfade: Seconds of video and audio crossfade at each join (rounded to whole frames); 0 (the default) for hard cuts. At most half the shortest clip.
            size: The output size: "first" (the default: the first clip's size), "largest" (the largest clip's), "1080p" or "720p" (the first clip's shape with its short side 1080 or 720 px, e.g. 1920x1080 for a 16:9 clip).

        Returns:
            The joined video (MP4, H.264 and AAC).
        """
        joined = await sequencer.join_clips(own_uploads(clips), crossfade=float(crossfade or 0.0),
                                            output=str(size or "first"))
        return joined.path

    with gr.Column(visible=False, elem_id="kling-api-sequence"):
        video = gr.File(label="video")
        t = gr.Number(value=-0.0, label="t")
        clips = gr.File(label="clips", file_count="multiple")
        crossfade = gr.Number(value=0.0, minimum=0.0, label="crossfade")
        size = gr.Dropdown(list(SIZES), value="first", label="size", allow_custom_value=True)
        frame = gr.Image(type="filepath", format="png", label="frame")
        joined = gr.Video(label="joined")
        gr.Button(visible=False).click(
            grab_frame, inputs=[video, t], outputs=[frame], api_name="grab_frame",
            concurrency_id=SEQUENCE_POOL, concurrency_limit=concurrency, show_progress="hidden")
        gr.Button(visible=False).click(
            join_clips, inputs=[clips, crossfade, size], outputs=[joined], api_name="join_clips",
            concurrency_id=SEQUENCE_POOL, concurrency_limit=concurrency, show_progress="hidden")
    return sequencer
