"""Plain value factories for the rules tests: ImageInfo/VideoInfo without any file."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from kling_ui.core.models import ImageInfo, JobRequest, Tab, VideoInfo


def image(name: str = "a.png", **kw: Any) -> ImageInfo:
    base = ImageInfo(path=f"/tmp/{name}", format="PNG", bytes=500_000, width=1024, height=768,
                     stored_width=1024, stored_height=768)
    return replace(base, **kw)


def video(name: str = "v.mp4", **kw: Any) -> VideoInfo:
    base = VideoInfo(path=f"/tmp/{name}", container="mp4", video_codec="h264", duration=5.0,
                     width=1920, height=1080, fps=30.0, bytes=20_000_000, audio_codec="aac")
    return replace(base, **kw)


def job(tab: Tab, prompt: str = "A calm sea at dawn", **kw: Any) -> JobRequest:
    return JobRequest(tab=tab, prompt=prompt, **kw)
