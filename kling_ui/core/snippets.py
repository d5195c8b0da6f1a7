""""Copy as code": the same request as Python (official `replicate` client) and cURL.

The key is always a placeholder; local files become `open(...)` handles in Python (the official
client uploads them) and URL placeholders in cURL (Replicate takes URLs or data URIs). Pure.
"""

from __future__ import annotations

import json
import os
from typing import Any

from .models import ImageInfo, JobRequest, Tab, VideoInfo
from .payload import build_input

KEY_PLACEHOLDER = "$REPLICATE_API_TOKEN"


def _stub_job(spec: Any) -> tuple[JobRequest, dict[str, str]]:
    """A JobRequest with placeholder infos for `spec`'s files, and their display names."""
    names: dict[str, str] = {}

    def img(path: str | None) -> ImageInfo | None:
        if not path:
            return None
        names[path] = os.path.basename(path)
        return ImageInfo(path=path, format="PNG", bytes=0, width=0, height=0)

    video = None
    if spec.reference_video:
        names[spec.reference_video] = os.path.basename(spec.reference_video)
        video = VideoInfo(path=spec.reference_video, container="mp4", video_codec="h264",
                          duration=0.0, width=0, height=0, fps=0.0, bytes=0)
    refs = tuple(i for i in (img(p) for p in spec.reference_images) if i is not None)
    job = JobRequest(tab=Tab(spec.tab), prompt=spec.prompt, start_image=img(spec.start_image),
                     end_image=img(spec.end_image), reference_images=refs,
                     reference_video=video, aspect_ratio=spec.aspect_ratio,
                     duration=int(spec.duration), quality=spec.quality,
                     keep_original_sound=spec.keep_original_sound,
                     model=getattr(spec, "model", "kling-o1"),
                     generate_audio=getattr(spec, "generate_audio", False),
                     shots=tuple(getattr(spec, "shots", ())))
    return job, names


def snippets(spec: Any, model: str) -> tuple[str, str]:
    """(python, curl) for `spec` (a service.JobSpec) against `model`."""
    job, names = _stub_job(spec)
    marker = "\x00FILE:"
    body = build_input(job, {p: marker + n for p, n in names.items()})

    def py_value(v: Any) -> str:
        if isinstance(v, str) and v.startswith(marker):
            return f'open("{v[len(marker):]}", "rb")'
        if isinstance(v, list):
            return "[" + ", ".join(py_value(x) for x in v) + "]"
        return repr(v)

    py_lines = ",\n".join(f'        "{k}": {py_value(v)}' for k, v in body.items())
    python = (
        "# pip install replicate   (reads REPLICATE_API_TOKEN from the environment)\n"
        "import replicate\n\n"
        f'output = replicate.run(\n    "{model}",\n    input={{\n{py_lines},\n    }},\n)\n'
        'with open("output.mp4", "wb") as f:\n    f.write(output.read())\n'
    )

    def url_value(v: Any) -> Any:
        if isinstance(v, str) and v.startswith(marker):
            return f"https://example.com/{v[len(marker):]}"
        if isinstance(v, list):
            return [url_value(x) for x in v]
        return v

    data = json.dumps({"input": {k: url_value(v) for k, v in body.items()}}, indent=2,
                      ensure_ascii=False)
    owner_name = model.split(":", 1)[0]
    curl = (
        "# Files must be public URLs (or data: URIs); replace the example.com links.\n"
        f"curl -s -X POST https://api.replicate.com/v1/models/{owner_name}/predictions \\\n"
        f'  -H "Authorization: Bearer {KEY_PLACEHOLDER}" \\\n'
        "  -H 'Content-Type: application/json' \\\n"
        "  -H 'Prefer: wait=60' \\\n"
        f"  -d '{data.replace(chr(39), chr(39) + chr(92) + chr(39) + chr(39))}'\n"
    )
    return python, curl
