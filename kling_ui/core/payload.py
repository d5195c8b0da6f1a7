"""The exact Replicate `input` dict for a job, with file fields filled from uploaded URLs.

Omits what Replicate ignores (kling-o1.md, "Modes"): no aspect_ratio with a start frame or a base
edit, no duration for a base edit, and video fields only when there is a video. What the model
calls things comes from its profile (issue #25): the `mode` value, and `generate_audio` and
`multi_prompt` only for a model that has them, so a Kling O1 request is exactly what it always
was. Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .models import JobRequest, Shot, Tab
from .profile import get_profile
from .rules import sends_aspect_ratio, sends_audio, sends_duration, sent_prompt


def multi_prompt(shots: tuple[Shot, ...]) -> str:
    """The storyboard as the model's `multi_prompt` string: a JSON array of
    `{"prompt", "duration"}`, each prompt as sent (tokens rewritten), non-ASCII kept as is."""
    return json.dumps([{"prompt": sent_prompt(s.prompt), "duration": int(s.duration)}
                       for s in shots], ensure_ascii=False)


def build_input(job: JobRequest, urls: Mapping[str, str]) -> dict[str, Any]:
    """Replicate input for `job`; `urls` maps each local file path to its uploaded URL.

    KeyError if a file of the job has no URL: uploading is the service's job, and a missing URL
    must never be sent as a local path.
    """
    profile = get_profile(job.model)
    prompt = sent_prompt(job.prompt) or (sent_prompt(job.shots[0].prompt) if job.shots else "")
    body: dict[str, Any] = {"prompt": prompt, "mode": profile.wire_mode(job.quality)}
    if job.start_image is not None:
        body["start_image"] = urls[job.start_image.path]
    if job.end_image is not None:
        body["end_image"] = urls[job.end_image.path]
    if job.reference_images:
        body["reference_images"] = [urls[i.path] for i in job.reference_images]
    if job.reference_video is not None:
        body["reference_video"] = urls[job.reference_video.path]
        body["video_reference_type"] = "base" if job.tab is Tab.EDIT else "feature"
        body["keep_original_sound"] = bool(job.keep_original_sound)
    if sends_aspect_ratio(job):
        body["aspect_ratio"] = job.aspect_ratio
    if sends_duration(job):
        body["duration"] = int(job.duration)
    if sends_audio(job):
        body["generate_audio"] = bool(job.generate_audio)
    if job.shots and profile.storyboard is not None:
        body["multi_prompt"] = multi_prompt(job.shots)
    return body


def shorten_urls(body: Mapping[str, Any], keep: int = 48) -> dict[str, Any]:
    """A copy of `body` with long file URLs and data: URIs shortened, for summaries and logs."""

    def short(value: Any) -> Any:
        if isinstance(value, list):
            return [short(v) for v in value]
        if isinstance(value, str) and value.startswith("data:"):
            return value.split(",", 1)[0] + ",…"
        if isinstance(value, str) and value.startswith(("http://", "https://")) and len(value) > keep:
            return value[: keep - 1] + "…"
        return value

    return {k: short(v) for k, v in body.items()}
