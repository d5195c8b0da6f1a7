"""The result panel's finishing tools for runs with a video original (issue #13).

Under a tab's result: the motion report (plot and score, made automatically after each run),
"Splice back into the full clip" (shown when the run was cut from a longer clip; the spliced
clip plays in the compare view) and "Export comparison" (layout and sound; a downloadable MP4
and a stills sheet). `build_finish()` lays it out, `wire_finish()` connects it; the tab's last
result lives in the panel's own gr.State, set by the tab's run handler.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import gradio as gr

from ..core.errors import InputError
from ..core.jobs import JobResult
from ..core.models import Tab
from ..finishing.results import (
    EXPORT_AUDIO,
    LAYOUTS,
    SPLICE_AUDIO,
    Finisher,
    compares_motion,
    trimmed_window,
)
from ..i18n import current_lang, i18n, t
from ..media.motion import MAX_LAG_S, is_pace, verdict
from ..media.motion_plot import ORIGINAL_COLOUR, OUTPUT_COLOUR, inline_svg
from .common import esc, guarded
from .compare import compare_html
from .visitor import session_id

FINISH_TABS = (Tab.FEATURE, Tab.EDIT)  # the tabs whose original is a video
POOL = "kling-finish"  # the same pool as the finishing endpoints (api_finish.FINISH_POOL)


@dataclass
class FinishUI:
    state: Any  # gr.State holding the tab's last JobResult
    panel: Any
    plot: Any
    score: Any
    splice_row: Any
    splice_audio: Any
    splice: Any
    splice_file: Any
    layout: Any
    audio: Any
    export: Any
    export_file: Any
    stills: Any


def build_finish(tab: Tab) -> FinishUI | None:
    """The panel (hidden until a run with a video original); None for tabs without one."""
    if tab not in FINISH_TABS:
        return None
    key = tab.value
    state = gr.State(None)
    with gr.Column(visible=False, elem_id=f"{key}-finish", elem_classes=["kling-finish"]) as panel:
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=300):
                # An SVG that fills the column at any width (legible at 390 px), its legend
                # written here in the visitor's language (issue #24).
                plot = gr.HTML("", elem_id=f"{key}-motion-plot")
            with gr.Column(scale=2, min_width=280):
                score = gr.Markdown("", elem_id=f"{key}-motion-score")
                with gr.Row(visible=False, elem_id=f"{key}-splice-row") as splice_row:
                    splice_audio = gr.Radio([(i18n(f"choice.{c}"), c) for c in SPLICE_AUDIO], value="original",
                                            label=i18n("finish.splice_audio"), min_width=150)
                    splice = gr.Button(i18n("finish.splice"), elem_id=f"{key}-splice",
                                       min_width=150)
                splice_file = gr.File(label=i18n("finish.splice_file"), interactive=False, visible=False,
                                      elem_id=f"{key}-splice-file", height=70)
                with gr.Row():
                    layout = gr.Radio([(i18n(f"choice.{c}"), c) for c in LAYOUTS], value="side_by_side",
                                      label=i18n("finish.layout"), min_width=150)
                    audio = gr.Radio([(i18n(f"choice.{c}"), c) for c in EXPORT_AUDIO], value="output",
                                     label=i18n("finish.audio"), min_width=150)
                export = gr.Button(i18n("finish.export"), elem_id=f"{key}-export")
                export_file = gr.File(label=i18n("finish.export_file"), interactive=False, visible=False,
                                      elem_id=f"{key}-export-file", height=70)
        stills = gr.Image(label=i18n("finish.stills"), type="filepath", interactive=False,
                          visible=False, elem_id=f"{key}-stills", show_label=False)
    return FinishUI(state, panel, plot, score, splice_row, splice_audio, splice, splice_file,
                    layout, audio, export, export_file, stills)


def plot_html(plot_png: str | None) -> str:
    """The motion plot as it sits on the page: the scaling SVG and a legend in words."""
    svg = inline_svg(plot_png)
    if svg is None:
        return ""
    swatch = ('<span style="display:inline-block;width:1.6em;border-top:3px {style} {colour};'
              'vertical-align:middle;margin-right:.3em"></span>')
    legend = (f'<span>{swatch.format(style="solid", colour=ORIGINAL_COLOUR)}'
              f'{esc(t("label.original"))}</span> &nbsp; '
              f'<span>{swatch.format(style="dashed", colour=OUTPUT_COLOUR)}'
              f'{esc(t("compare.output"))}</span>')
    return (f'<figure class="kling-motion-plot" style="margin:0;max-width:640px">{svg}'
            f'<figcaption style="font-size:var(--text-sm);line-height:1.4">{legend}<br>'
            f'{esc(t("motion.legend"))}</figcaption></figure>')


def score_markdown(figures: dict[str, Any]) -> str:
    """The motion figures as a person reads them: the verdict first, then the numbers, and a
    plain sentence instead of a number for an offset that was not found (issue #24)."""
    drift = figures.get("drift") or []
    spans = ", ".join(f"{a:.1f}-{b:.1f} s" for a, b in drift) if drift else t("finish.drift_none")
    audio = figures.get("audio_offset_s")
    limit = figures.get("lag_limit_s") or MAX_LAG_S
    if figures.get("offset_s") is None:
        offset = "- " + t("motion.offset_missing", limit=limit)
    else:
        offset = t("finish.offset", offset=figures["offset_s"],
                   sound="" if audio is None else t("finish.sound", audio=audio))
    if figures.get("audio_note"):
        offset += "\n- " + t("motion.audio_missing", limit=figures.get("audio_limit_s") or limit)
    speed = figures.get("speed_ratio")
    said = verdict(figures, current_lang())
    return (t("finish.score", score=figures["score"], verdict=said[:1].upper() + said[1:])
            + "\n\n" + offset + "\n"
            + ("" if speed is None else t("finish.speed" if is_pace(figures)
                                          else "finish.motion_amount", speed=speed) + "\n")
            + t("finish.drift", spans=spans) + "\n"
            + t("finish.frames", original=figures["frames_original"],
                output=figures["frames_output"], dur_original=figures["duration_original"],
                dur_output=figures["duration_output"]))


def last_splice(studio: Any, run_id: str | None) -> str | None:
    """The latest splice made from this edit, so a reload shows it beside the edit (#24)."""
    if not run_id:
        return None
    for child in reversed(studio.library.children(run_id)):
        if (child.settings.get("derived") == "splice" and child.status == "succeeded"
                and child.output and os.path.isfile(child.output)):
            return str(child.output)
    return None


def run_outputs(fin: FinishUI | None) -> list[Any]:
    """What the tab's run handler also sets: the panel's state."""
    return [fin.state] if fin is not None else []


def wire_finish(fin: FinishUI | None, studio: Any, run_event: Any, *, compare: Any,
                concurrency: int) -> Callable[[Any], None] | None:
    """Show the panel after each run; splice and export on click. Returns `after(event)`, which
    shows the panel after another event too (a page reattaching to the tab's run)."""
    if fin is None:
        return None
    finisher = Finisher(studio.files.tmp)  # temporary files: swept by age

    def where(request: gr.Request) -> str:
        return str(studio.session_dir(session_id(request)) / "finish")

    @guarded
    async def show(result: JobResult | None) -> list[Any]:
        if result is None:
            return [gr.Column(visible=False), "", "", gr.Row(visible=False),
                    gr.File(value=None, visible=False), gr.File(value=None, visible=False),
                    gr.Image(value=None, visible=False)]
        figures = result.extra.get("motion")
        plot = ""
        if not compares_motion(result):
            text = t("motion.new_shot")
        elif figures:
            text = score_markdown(figures)
            plot = plot_html(result.extra.get("motion_plot"))
        else:
            why = [w for w in result.warnings if w.startswith("motion report:")]
            text = esc(why[-1]) if why else t("finish.no_motion")
        # Only an edit is the same shot as its window; a video-reference output is a new one.
        edited = result.spec is not None and result.spec.tab is Tab.EDIT
        trimmed = await trimmed_window(result) if edited else None
        spliced = last_splice(studio, result.run_id) if edited else None
        return [gr.Column(visible=True), plot, text,
                gr.Row(visible=trimmed is not None),
                gr.File(value=spliced, visible=spliced is not None),
                gr.File(value=None, visible=False), gr.Image(value=None, visible=False)]

    @guarded
    async def splice(request: gr.Request, result: JobResult | None, audio: str) -> list[Any]:
        window = await trimmed_window(result) if result is not None else None
        if result is None or window is None:
            raise InputError(t("finish.not_cut"))
        full, start, length = window
        out = await finisher.splice_back(full, result.output_path, start=start, length=length,
                                         audio=audio, out_dir=where(request))
        shown = replace(result, output_path=out, original_path=full,
                        original_label="Original (full clip)", poster_path=None)
        if result.run_id:
            # A run of its own in the library, with the edit it came from as its parent.
            kept = await studio.keep_derived(
                result.run_id, out, original=full, original_label="Original (full clip)",
                what="splice",
                note=t("finish.splice_note", start=start, end=start + length))
            shown = replace(kept, original_label="Original (full clip)")
            out = kept.output_path
        # The compare view names its B side "Kling O1 output"; here B is the spliced clip.
        html = compare_html(shown).replace(
            f"B · {esc(t('compare.output'))}", f"B · {esc(t('finish.spliced', start=start, end=start + length))}")
        return [html, gr.File(value=out, visible=True)]

    @guarded
    async def export(request: gr.Request, result: JobResult | None, layout: str,
                     audio: str) -> list[Any]:
        if result is None:
            raise InputError(t("finish.run_first"))
        video, sheet = await finisher.compare_export(
            result.original_path, result.output_path, layout=layout, audio=audio,
            out_dir=where(request))
        return [gr.File(value=video, visible=True), gr.Image(value=sheet, visible=True)]

    def after(event: Any) -> None:
        event.then(show, inputs=[fin.state],
                   outputs=[fin.panel, fin.plot, fin.score, fin.splice_row, fin.splice_file,
                            fin.export_file, fin.stills],
                   api_visibility="private", show_progress="hidden")

    after(run_event)
    fin.splice.click(splice, inputs=[fin.state, fin.splice_audio],
                     outputs=[compare, fin.splice_file], api_visibility="private",
                     concurrency_id=POOL, concurrency_limit=concurrency,
                     show_progress="minimal")
    fin.export.click(export, inputs=[fin.state, fin.layout, fin.audio],
                     outputs=[fin.export_file, fin.stills], api_visibility="private",
                     concurrency_id=POOL, concurrency_limit=concurrency,
                     show_progress="minimal")
    return after
