"""What a run is, as plain values: the upload card, the request, the checks and the result.

`JobSpec` is what a tab or an API caller asks for (local paths, trim window, fix choices);
`JobResult` is a finished run as the result panel, the library and the API summary show it.
`spec_settings()` turns a spec into the settings a library row keeps; `library.results` turns
rows back into specs and results, so a run restored after a restart looks the same as one just
made.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .models import Fix, ImageInfo, Problem, Shot, Tab, VideoInfo


@dataclass(frozen=True)
class UploadCheck:
    """What the app knows about one upload, for its preview card."""

    path: str  # the file that will be sent (the original, or the doctor's output)
    info: ImageInfo | VideoInfo
    problems: tuple[Problem, ...]
    badge: str  # "8.1 s · 1920x1080 · 30 fps · audio · 24.0 MB", failing parts marked
    preview_path: str | None = None  # browser-playable video (the original when it plays)
    poster_path: str | None = None  # a JPEG frame of a video
    # The browser cannot play the file: `Studio.video_preview` makes one in the background.
    preview_pending: bool = False

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.is_error)

    @property
    def fixable(self) -> bool:
        return any(p.fixable for p in self.problems)


@dataclass(frozen=True)
class JobSpec:
    """What a tab (or an API caller) asks for, with local file paths."""

    tab: Tab
    prompt: str
    start_image: str | None = None
    end_image: str | None = None
    reference_images: tuple[str, ...] = ()
    reference_video: str | None = None
    aspect_ratio: str = "16:9"
    duration: int = 5
    quality: str = "pro"
    keep_original_sound: bool = True
    auto_fix: bool = True  # apply the doctor's fixes before upload (API default; UI passes True)
    video_start: float = 0.0  # trim window start, seconds
    video_length: float | None = None  # trim window length; None = up to 10 s
    aspect_fix: str = "pad"  # "pad" or "crop" for images outside 1:2.5..2.5:1
    model: str = "kling-o1"  # a profile id (core/profile.py); issue #25
    generate_audio: bool = False
    shots: tuple[Shot, ...] = ()  # a storyboard: sent as multi_prompt


@dataclass(frozen=True)
class JobResult:
    """A finished run, as shown in the result panel, the history and the API summary."""

    output_path: str
    original_path: str | None  # what to play beside the output: the video or the start frame
    prediction_id: str
    status: str
    predict_time: float | None
    estimated_cost_usd: float
    input_sent: dict[str, Any]  # exact Replicate input, file URLs shortened
    output_facts: dict[str, Any]  # duration, width, height, fps, has_audio
    original_facts: dict[str, Any]
    fixes: tuple[Fix, ...] = ()
    warnings: tuple[str, ...] = ()
    backend: str = "simulator"
    original_label: str = "Original"  # what the original is: "Original clip", "Start frame", ...
    spec: JobSpec | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # metrics later steps add (motion, ...)
    run_id: str = ""  # the library's id for this run
    created_at: float = 0.0
    poster_path: str | None = None  # a mid-clip frame of the output

    def summary(self) -> dict[str, Any]:
        """The JSON summary the API endpoints return (no key, no local paths)."""
        return {
            "run_id": self.run_id,
            "prediction_id": self.prediction_id,
            "status": self.status,
            "predict_time": self.predict_time,
            "estimated_cost_usd": self.estimated_cost_usd,
            "input": self.input_sent,
            "output": self.output_facts,
            "original": self.original_facts,
            "fixes_applied": [f"{f.field}: {f.detail}" for f in self.fixes],
            "warnings": list(self.warnings),
            "backend": self.backend,
            "model": self.spec.model if self.spec is not None else "kling-o1",  # issue #25
            **({"motion": self.extra["motion"]} if "motion" in self.extra else {}),  # issue #13
        }


@dataclass(frozen=True)
class Preflight:
    """The checks shown before a run: every problem, the tokens, and the cost estimate."""

    problems: tuple[Problem, ...]
    tokens: tuple[tuple[str, str], ...]  # (token, what it points at)
    cost_usd: float
    cost_text: str
    prompt: str  # the prompt as it will be sent (@Image1 spellings rewritten)
    # Characters typed and sent: Kling's 2500 limit counts the sent prompt (issue #11).
    chars_typed: int = 0
    chars_sent: int = 0
    # Good news to show in green, as (field, message): "will be cut to 1.0-6.0 s ..." (issue #12).
    notes: tuple[tuple[str, str], ...] = ()
    billed_seconds: int = 0  # output seconds Replicate would bill (issue #22's estimate_cost)

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.is_error)

    @property
    def ok(self) -> bool:
        return not self.errors


FILE_FIELDS = ("start_image", "end_image", "reference_images", "reference_video")


def shots_of(value: Any) -> tuple[Shot, ...]:
    """Shots kept as settings (a list of {"prompt", "duration"} dicts) as `Shot` values;
    anything malformed is dropped (the checks then see a storyboard that does not add up)."""
    shots = []
    for item in value if isinstance(value, list | tuple) else ():
        if isinstance(item, dict) and isinstance(item.get("prompt"), str):
            try:
                shots.append(Shot(item["prompt"], int(item.get("duration", 0))))
            except (TypeError, ValueError):
                continue
    return tuple(shots)


def spec_settings(spec: JobSpec) -> dict[str, Any]:
    """A spec's settings without its files (those are kept as the run's inputs)."""
    values = {k: v for k, v in asdict(spec).items() if k not in FILE_FIELDS}
    values["tab"] = spec.tab.value
    return values
