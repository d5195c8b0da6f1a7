"""Cost estimates from one price table. Figures are estimates: third-party listings, not Replicate.

Prices per second of output (kling-o1.md, "Prices"): std 0.084, pro 0.112 USD/s; with a video
input std 0.126, pro 0.168 USD/s. A base edit bills its input video's length, rounded to the
nearest second. Pure: no I/O.
"""

from __future__ import annotations

import math

from .models import JobRequest, Tab

PRICE_PER_SECOND = {  # (quality, has video input) -> USD per output second
    ("std", False): 0.084,
    ("pro", False): 0.112,
    ("std", True): 0.126,
    ("pro", True): 0.168,
}


def billed_seconds(job: JobRequest) -> int:
    """Seconds of output Kling bills for `job`."""
    if job.tab is Tab.EDIT:
        if job.reference_video is None:
            return 0
        return int(math.floor(job.reference_video.duration + 0.5))  # nearest, halves up
    return int(job.duration)


def estimate_cost(job: JobRequest) -> float:
    """Estimated USD for `job`, rounded to the cent."""
    rate = PRICE_PER_SECOND[(job.quality if job.quality in ("std", "pro") else "pro",
                             job.reference_video is not None)]
    return round(billed_seconds(job) * rate, 2)


def describe_cost(job: JobRequest) -> str:
    """A one-line estimate for beside the Run button."""
    secs = billed_seconds(job)
    if secs == 0:
        return "Estimated cost: upload a video to see it"
    rate = PRICE_PER_SECOND[(job.quality if job.quality in ("std", "pro") else "pro",
                             job.reference_video is not None)]
    return f"Estimated cost ≈ ${estimate_cost(job):.2f} ({secs} s × ${rate:.3f}/s, {job.quality})"
