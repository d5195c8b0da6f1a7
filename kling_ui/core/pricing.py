"""Cost estimates from each model's price table. Figures are estimates: third-party listings.

The tables live in the model profiles (`profiles/<id>.json`, with their sources; issue #25). For
Kling O1 (kling-o1.md, "Prices"): std 0.084, pro 0.112 USD/s; with a video input std 0.126, pro
0.168 USD/s. A base edit bills its input video's length, rounded to the nearest second. Pure: no
I/O.
"""

from __future__ import annotations

import math

from .models import JobRequest, Tab
from .profile import get_profile
from .rules import sends_audio


def billed_seconds(job: JobRequest) -> int:
    """Seconds of output Kling bills for `job`."""
    if job.tab is Tab.EDIT:
        if job.reference_video is None:
            return 0
        return int(math.floor(job.reference_video.duration + 0.5))  # nearest, halves up
    return int(job.duration)


def rate_of(job: JobRequest) -> float:
    """USD per output second for `job` on its model (audio counts only where it is sent)."""
    audio = bool(job.generate_audio) and sends_audio(job)
    return get_profile(job.model).rate(job.quality, video=job.reference_video is not None,
                                       audio=audio)


def estimate_cost(job: JobRequest) -> float:
    """Estimated USD for `job`, rounded to the cent."""
    return round(billed_seconds(job) * rate_of(job), 2)


def describe_cost(job: JobRequest) -> str:
    """A one-line estimate for beside the Run button."""
    secs = billed_seconds(job)
    if secs == 0:
        return "Estimated cost: upload a video to see it"
    quality = get_profile(job.model).wire_mode(job.quality)
    return f"Estimated cost ≈ ${estimate_cost(job):.2f} ({secs} s × ${rate_of(job):.3f}/s, {quality})"
