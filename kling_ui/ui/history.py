"""The session's run history: a gallery of outputs with prompt and settings; one click restores a run.

History lives in the session's `Session.history` (server side, this session only); outputs stay as
local files in the Studio's data folder until they age out.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from ..models import Tab
from ..service import JobResult, JobSpec
from .common import Session, esc
from .tabs import TabHandlers


def settings_line(spec: JobSpec | None) -> str:
    if spec is None:
        return ""
    parts = [spec.tab.label, spec.quality]
    if spec.tab is not Tab.EDIT:
        parts.append(f"{spec.duration} s")
    if spec.tab is not Tab.EDIT and spec.start_image is None:
        parts.append(spec.aspect_ratio)
    n_images = len(spec.reference_images) + (spec.start_image is not None) + (spec.end_image is not None)
    if n_images:
        parts.append(f"{n_images} image{'s' if n_images != 1 else ''}")
    if spec.reference_video:
        parts.append("video" + (", original sound" if spec.keep_original_sound else ""))
    return " · ".join(parts)


def _caption(i: int, result: JobResult) -> str:
    prompt = result.spec.prompt if result.spec else ""
    short = prompt if len(prompt) <= 60 else prompt[:57] + "…"
    return f"#{i} {settings_line(result.spec)} — {short}"


def render(session: Session) -> tuple[list[tuple[str, str]], str]:
    """Gallery items (newest first) and a table of every run with its prompt and settings."""
    runs = list(enumerate(session.history, start=1))
    gallery = [(r.output_path, _caption(i, r)) for i, r in reversed(runs)]
    if not runs:
        return [], '<p class="kling-note">Runs of this session appear here.</p>'
    rows = "".join(
        f"<tr><td>#{i}</td><td>{esc(settings_line(r.spec))}</td>"
        f"<td>{esc(r.spec.prompt if r.spec else '')}</td><td>${r.estimated_cost_usd:.2f}</td>"
        f"<td><code>{esc(r.prediction_id)}</code></td></tr>"
        for i, r in reversed(runs)
    )
    table = ('<table class="kling-history"><thead><tr><th>Run</th><th>Settings</th><th>Prompt</th>'
             f"<th>Est. cost</th><th>Prediction</th></tr></thead><tbody>{rows}</tbody></table>"
             '<p class="kling-note">Click a video above to restore its settings into its tab.</p>')
    return gallery, table


def spec_values(spec: JobSpec, names: list[str]) -> list[Any]:
    """A run's settings as values for a tab's controls (in `names` order)."""
    values: dict[str, Any] = {
        "prompt": spec.prompt,
        "start_image": spec.start_image,
        "end_image": spec.end_image,
        "reference_images": list(spec.reference_images) or None,
        "reference_video": spec.reference_video,
        "aspect_ratio": spec.aspect_ratio,
        "duration": spec.duration,
        "mode": spec.quality,
        "keep_original_sound": spec.keep_original_sound,
        "video_start": spec.video_start,
        "video_length": spec.video_length or 10,
        "aspect_fix": spec.aspect_fix,
    }
    return [values.get(n, gr.skip()) for n in names]


def restore_handler(tabs: dict[Tab, TabHandlers]) -> Any:
    def restore(session: Session, evt: gr.SelectData) -> list[Any]:
        count = len(session.history)
        index = count - 1 - int(evt.index or 0)  # the gallery shows newest first
        out: list[Any] = []
        if not 0 <= index < count or session.history[index].spec is None:
            out.append(gr.skip())
            for h in tabs.values():
                out += [gr.skip()] * len(h.input_names())
            return out
        spec = session.history[index].spec
        assert spec is not None  # noqa: S101 - checked above
        out.append(gr.Tabs(selected=spec.tab.value))
        for tab, h in tabs.items():
            names = h.input_names()
            out += spec_values(spec, names) if tab is spec.tab else [gr.skip()] * len(names)
        gr.Info(f"Restored run #{index + 1} into {spec.tab.label}.")
        return out

    return restore
