"""Plain frozen values shared by every layer: what a tab asks for and what a file holds.

Nothing here does I/O. `ImageInfo` and `VideoInfo` are what the media prober reports; the rules
core (`rules.py`) judges them, so rules are testable without any file.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Tab(str, Enum):
    """The five input modes of Kling O1, one tab each (shared/reference/kling-o1.md, "Modes")."""

    TEXT = "text"  # text to video
    FRAMES = "frames"  # start (and end) frame to video
    REFERENCES = "references"  # reference images to video
    FEATURE = "feature"  # video reference: style, camera, next/previous shot
    EDIT = "edit"  # video editing: video_reference_type=base

    @property
    def label(self) -> str:
        return TAB_LABELS[self]


TAB_LABELS = {
    Tab.TEXT: "Text to video",
    Tab.FRAMES: "Frames to video",
    Tab.REFERENCES: "References to video",
    Tab.FEATURE: "Video reference",
    Tab.EDIT: "Edit video",
}

ASPECT_RATIOS = ("16:9", "9:16", "1:1")
QUALITY_MODES = ("std", "pro")  # Replicate's `mode` input: std = 720p, pro = 1080p


@dataclass(frozen=True)
class ImageInfo:
    """What an image file really is, read from its content (never its extension).

    `width`/`height` are as displayed, after EXIF orientation; `stored_*` as encoded.
    `format` is Pillow's name: "JPEG", "PNG", "WEBP", "GIF", "TIFF", "HEIF", "AVIF", ...
    """

    path: str
    format: str
    bytes: int
    width: int
    height: int
    stored_width: int = 0
    stored_height: int = 0
    mode: str = "RGB"  # Pillow mode: RGB, RGBA, L, LA, P, CMYK, I;16, ...
    orientation: int = 1  # EXIF orientation tag, 1 = upright
    has_alpha: bool = False
    animated: bool = False
    frames: int = 1
    has_metadata: bool = False  # EXIF/XMP/ICC text that we strip before upload

    @property
    def aspect(self) -> float:
        return self.width / self.height if self.height else 0.0


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds, read from its headers (never by decoding the whole clip).

    `container` is normalised: "mp4", "mov", "3gp", "webm", "matroska", "avi", ... (mp4 and mov
    are told apart by the ftyp major brand). `width`/`height` are as displayed, after the
    rotation metadata; `rotation` is that metadata in degrees.
    """

    path: str
    container: str
    video_codec: str
    duration: float
    width: int
    height: int
    fps: float
    bytes: int
    audio_codec: str | None = None
    rotation: int = 0
    variable_fps: bool = False
    pix_fmt: str = "yuv420p"
    duration_estimated: bool = False  # True when the header lied or was missing

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None

    @property
    def aspect(self) -> float:
        return self.width / self.height if self.height else 0.0


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a job, said so a person can act on it.

    `field` names the input ("prompt", "start_image", "reference_images[2]", "reference_video",
    "duration", ...). `fix` names the doctor's remedy when one exists ("trim", "transcode",
    "scale", "fps", "shrink", "convert", "recompress", "upscale", "pad", "crop", "rotate",
    "rewrite_tokens"); None when the user has to act. Warnings do not block a run.
    """

    field: str
    message: str
    fix: str | None = None
    severity: str = "error"  # "error" or "warning"
    # The message by id with its fields (kling_ui.i18n): how the UI shows it in another language.
    # `message` stays the English text the API and logs use.
    msg: Any = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    @property
    def fixable(self) -> bool:
        return self.fix is not None


@dataclass(frozen=True)
class Shot:
    """One shot of a multi-shot storyboard (sent as `multi_prompt`, issue #25)."""

    prompt: str
    duration: int


@dataclass(frozen=True)
class JobRequest:
    """Everything one run asks of Kling O1, before any file is uploaded.

    `quality` is Replicate's `mode` input (std/pro); `tab` is which of the five modes this is.
    """

    tab: Tab
    prompt: str
    start_image: ImageInfo | None = None
    end_image: ImageInfo | None = None
    reference_images: tuple[ImageInfo, ...] = ()
    reference_video: VideoInfo | None = None
    aspect_ratio: str = "16:9"
    duration: int = 5
    quality: str = "pro"
    keep_original_sound: bool = True
    # Which model profile (core/profile.py) runs it; native audio and the storyboard where the
    # profile has them (issue #25).
    model: str = "kling-o1"
    generate_audio: bool = False
    shots: tuple[Shot, ...] = ()

    @property
    def images(self) -> tuple[ImageInfo, ...]:
        """Images in token order: start, end, then references (kling-o1.md, "Prompt references")."""
        first = tuple(i for i in (self.start_image, self.end_image) if i is not None)
        return first + tuple(self.reference_images)


@dataclass(frozen=True)
class Fix:
    """One change the doctor made to a file, reported to the user and in the API summary."""

    field: str
    action: str  # e.g. "trim", "transcode", "scale"
    detail: str  # e.g. "Trimmed 0.0-10.0 s of 30.2 s (cut at keyframes, exact)"


# A run's stages, in the order it goes through them. "finishing" comes after the download: the
# output's check, poster and motion report (issue #23).
STAGES = ("queued", "checking", "fixing", "uploading", "starting", "processing", "downloading",
          "finishing", "done")

# The Studio's own detail lines, each with the one stage it belongs to (issue #23: the stage said
# "Downloading the output" while the detail said "Measuring the motion"). A Progress carrying one
# of these lines takes its stage from here, whatever its maker passed, so the two cannot
# disagree. `{name}` stands for a value. Their words are the `log.*` keys of the catalogues. A
# model's own log lines (shown while it generates) are not here: they come with Replicate's status.
STEP_STAGES = {
    "Waiting for a free slot": "queued",
    "Checking inputs": "checking",
    "Fixing the start frame": "fixing",
    "Fixing the end frame": "fixing",
    "Fixing reference image {n}": "fixing",
    "Fixing the video (this can take a while)": "fixing",
    "Fixing the video: {pct}%": "fixing",
    "Waiting for the machine: other video work is running": "fixing",
    "Uploading inputs": "uploading",
    "Creating the prediction": "starting",
    "Replicate is pacing this key: starting in ~{n} s": "starting",
    "Resuming after a restart": "processing",
    "Saving the output now that there is room": "downloading",
    "Checking the output": "finishing",
    "Measuring the motion": "finishing",
    "Done": "done",
}
_STEP_RES = [(re.compile("^" + re.sub(r"\\\{\w+\\\}", ".+?", re.escape(line)) + "$"), stage)
             for line, stage in STEP_STAGES.items()]


def step_stage(line: str) -> str | None:
    """The stage a Studio detail line belongs to (STEP_STAGES), None for any other line."""
    line = line.strip()
    if not line:
        return None
    return next((stage for pattern, stage in _STEP_RES if pattern.match(line)), None)


@dataclass(frozen=True)
class Progress:
    """A change in a running job, for the progress bar.

    `stage` is one of STAGES. Built with one of the Studio's detail lines (`log_line` in
    STEP_STAGES) it is that line's stage, so it may be left out: `Progress(log_line="Measuring
    the motion")` is in "finishing".
    """

    stage: str = ""
    status: str = ""  # Replicate's own status when there is one
    elapsed: float = 0.0
    log_line: str = ""
    fraction: float | None = None
    prediction_id: str | None = None
    extra: dict[str, object] = field(default_factory=dict)
    # While "queued": runs ahead in the Studio's line, and about how long until this one starts
    # (seconds; None when no run of these modes has been timed yet). See kling_ui.runs.pool.
    position: int | None = None
    wait: float | None = None

    def __post_init__(self) -> None:
        own = step_stage(self.log_line)
        if own is not None:
            object.__setattr__(self, "stage", own)
        elif not self.stage:
            raise ValueError("A Progress needs a stage or one of the Studio's detail lines.")
