"""One tab per Kling O1 mode: its controls, upload cards, token chips, live checks, run and result.

`build_tab()` lays out a tab and returns its `TabUI`; `TabHandlers` holds the event handlers,
which only call the `Studio` and render what it answers. Which controls a tab shows follows the
rules core (`rules.allowed_durations`, `rules.sends_aspect_ratio`) so the UI never offers a value
Kling would ignore or refuse.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import gradio as gr

from ..core import rules
from ..core.errors import InputError, KlingError, PredictionError
from ..core.jobs import JobSpec, UploadCheck
from ..core.models import ASPECT_RATIOS, QUALITY_MODES, Progress, Tab, VideoInfo
from ..core.prompt import image_token, token_numbers
from ..core.rules import DEFAULT_DURATION, VIDEO_MAX_SECONDS, allowed_durations, keep_duration
from ..hosting.bounds import check_spec
from ..i18n import cost_text, error_text, i18n, problem_text, t
from ..library.results import result_from_run
from ..media.filmstrip import Filmstrip
from ..media.preview import badge
from .common import (
    Changes,
    Session,
    card_html,
    facts_html,
    guarded,
    player_html,
    preflight_html,
    progress_html,
    run_progress_html,
    session_id,
    tokens_html,
    visitor_id,
)
from .compare import EMPTY, compare_html
from .continue_ import ContinueUI, build_continue
from .edge import own_upload, own_uploads
from .finish import build_finish, run_outputs, wire_finish
from .takes import (
    TakesHandlers,
    TakesUI,
    build_count,
    build_takes,
    cost_line,
    run_label,
    take_count,
    wire_takes,
)
from .trimmer import build_trimmer, trimmer_value, window_from_event

ASSETS = Path(__file__).resolve().parents[2] / "assets"
# Every run's handler (UI and API) only watches its run, so none waits in Gradio's queue: the
# Studio's own line (kling_ui.runs.pool, KLING_CONCURRENCY) decides who waits, and says where they stand.
RUN_POOL = "kling-run"

TAB_INTRO = {
    Tab.TEXT: "Describe a video; Kling O1 makes it from text alone.",
    Tab.FRAMES: "Animate from a start frame (and optionally land on an end frame). The output "
                "takes the start frame's shape, so there is no aspect ratio to pick.",
    Tab.REFERENCES: "Give 1-7 reference images (people, objects, places) and say what they do.",
    Tab.FEATURE: "Use a 3-10 s clip as a reference for style or camera movement, or ask for the "
                 "next or previous shot. Any phone clip up to 200 MB works: longer, larger or "
                 "HEVC clips are trimmed and re-encoded before upload.",
    Tab.EDIT: "Edit a 3-10 s clip with words and up to 4 images. The output keeps the clip's "
              "length and shape. Any phone clip up to 200 MB works: longer, larger or HEVC "
              "clips are trimmed and re-encoded before upload.",
}
SLOT_LABELS = {"start_image": "start frame", "end_image": "end frame"}


def load_presets() -> dict[str, list[dict[str, Any]]]:
    try:
        data = json.loads((ASSETS / "presets.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if not k.startswith("_")}


@dataclass
class TabUI:
    """The components of one tab. `controls` maps JobSpec-ish names to input components."""

    tab: Tab
    controls: dict[str, Any] = field(default_factory=dict)
    cards: dict[str, gr.HTML] = field(default_factory=dict)
    fix_buttons: dict[str, gr.Button] = field(default_factory=dict)
    presets: list[tuple[gr.Button, dict[str, Any]]] = field(default_factory=list)
    chips: Any = None
    player: Any = None  # the card's player for a clip the browser cannot play
    checks: Any = None
    cost: Any = None
    run: Any = None
    cancel: Any = None
    progress: Any = None
    compare: Any = None
    facts: Any = None
    download: Any = None
    summary: Any = None
    code_py: Any = None
    code_curl: Any = None
    finish: Any = None  # motion report, splice back, export (issue #13): video-original tabs
    more: ContinueUI | None = None  # next shot, edit this, use a frame (issue #14)
    takes: TakesUI | None = None  # several takes side by side (issue #14)

    @property
    def names(self) -> list[str]:
        return list(self.controls)

    @property
    def inputs(self) -> list[Any]:
        return list(self.controls.values())


def spec_from(tab: Tab, values: dict[str, Any], *, library: Any = None,
              owner: str | None = None) -> JobSpec:
    """A JobSpec from a tab's control values (absent controls take JobSpec's defaults).

    Every file goes through `edge.own_upload`: an upload of this caller (or, given `library`
    and `owner`, a file of one of the owner's runs); anything else is refused here, before a
    check, fix or run opens it."""
    files = {"library": library, "owner": owner}
    durations = allowed_durations(tab)
    duration = values.get("duration")
    length = values.get("video_length")
    return JobSpec(
        tab=tab,
        prompt=str(values.get("prompt") or ""),
        start_image=own_upload(values.get("start_image"), **files),
        end_image=own_upload(values.get("end_image"), **files),
        reference_images=own_uploads(values.get("reference_images"), **files),
        reference_video=own_upload(values.get("reference_video"), **files),
        aspect_ratio=str(values.get("aspect_ratio") or "16:9"),
        duration=int(duration) if duration not in (None, "") else (
            DEFAULT_DURATION if DEFAULT_DURATION in durations or not durations else durations[0]),
        quality=str(values.get("mode") or "pro"),
        keep_original_sound=bool(values.get("keep_original_sound", True)),
        auto_fix=True,
        video_start=float(values.get("video_start") or 0.0),
        video_length=float(length) if length and float(length) < 10 else None,
        aspect_fix="crop" if values.get("aspect_fix") == "crop" else "pad",
    )


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


def _first_checks(tab: Tab) -> str:
    """What the checks say before the page's own first check answers (Run starts disabled)."""
    needs = {Tab.FRAMES: "frames", Tab.REFERENCES: "references",
             Tab.FEATURE: "clip", Tab.EDIT: "clip"}.get(tab, "text")
    # Built with the page, before any request: the browser translates it (gr.I18n).
    return ('<div class="kling-checks"><p class="kling-note" role="status">'
            + i18n(f"checks.first.{needs}") + "</p></div>")


def _image_input(label: Any, elem_id: str) -> gr.Image:
    return gr.Image(label=label, type="filepath", image_mode=None, sources=["upload", "clipboard"],
                    height=220, elem_id=elem_id, buttons=[])


def _card_with_fix(ui: TabUI, slot: str) -> None:
    with gr.Row(elem_classes=["kling-card-row"]):
        ui.cards[slot] = gr.HTML("", js_on_load=None, elem_classes=["kling-card-html"])
        ui.fix_buttons[slot] = gr.Button(i18n("fix"), size="sm", visible=False, scale=0, min_width=80,
                                         elem_classes=["kling-fix"], elem_id=f"{ui.tab.value}-fix-{slot}")


def build_tab(tab: Tab, presets: list[dict[str, Any]]) -> TabUI:
    """Lay out one tab (call inside a gr.Tab)."""
    ui = TabUI(tab=tab)
    c = ui.controls
    key = tab.value
    gr.Markdown(i18n(f"intro.{tab.value}"), elem_classes=["kling-intro"])
    if presets:
        from .thumbs import preset_thumb  # here, not at the top: this block is all #12.6 touches

        with gr.Row(elem_classes=["kling-presets"]):
            gr.Markdown(i18n("presets"), elem_classes=["kling-presets-label"])
            for preset in presets:
                # A thumbnail of the preset's media (text presets: the name alone).
                thumb = preset_thumb(preset)
                btn = gr.Button(preset["name"], size="sm", scale=0, min_width=90, icon=thumb,
                                elem_classes=["kling-preset", "kling-preset-thumb"] if thumb
                                else ["kling-preset"])
                ui.presets.append((btn, preset))
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, min_width=300, elem_classes=["kling-inputs"]):
            if tab in (Tab.FEATURE, Tab.EDIT):
                c["reference_video"] = gr.Video(
                    label=i18n("video.edit") if tab is Tab.EDIT else i18n("video.reference"),
                    sources=["upload"], height=260, elem_id=f"{key}-video")
                _card_with_fix(ui, "reference_video")
                ui.player = gr.HTML("", js_on_load=None, elem_id=f"{key}-player",
                                    elem_classes=["kling-player-html"])
                # A clip over 10 s: the filmstrip trimmer, and below it the two numbers it
                # writes (the spec's source of truth), kept visible to type an exact time.
                with gr.Column(visible=False, elem_classes=["kling-trim"]) as trim_row:
                    ui.controls["_trimmer"] = build_trimmer(f"{key}-trimmer")
                    with gr.Row(elem_classes=["kling-trim-fine"]):
                        c["video_start"] = gr.Slider(0, 60, value=0, step=0.1,
                                                     label=i18n("trim.start"), min_width=140)
                        c["video_length"] = gr.Slider(3, 10, value=10, step=0.1,
                                                      label=i18n("trim.length"), min_width=140)
                ui.controls["_trim_row"] = trim_row
            if tab in (Tab.FRAMES, Tab.REFERENCES):
                with gr.Row():
                    with gr.Column(min_width=200):
                        label = i18n("start_frame") if tab is Tab.FRAMES else i18n("start_frame.optional")
                        c["start_image"] = _image_input(label, f"{key}-start")
                        _card_with_fix(ui, "start_image")
                    if tab is Tab.FRAMES:
                        with gr.Column(min_width=200):
                            c["end_image"] = _image_input(i18n("end_frame.optional"), f"{key}-end")
                            _card_with_fix(ui, "end_image")
            if tab in (Tab.REFERENCES, Tab.FEATURE, Tab.EDIT):
                most = 7 if tab is Tab.REFERENCES else 4
                c["reference_images"] = gr.File(
                    label=i18n(f"refs.label{most}"), file_count="multiple",
                    file_types=["image"], height=120, elem_id=f"{key}-refs")
                _card_with_fix(ui, "reference_images")
            c["prompt"] = gr.Textbox(
                label=i18n("prompt"), lines=3, max_lines=10,
                placeholder=i18n("prompt.placeholder.text" if tab is Tab.TEXT
                                 else "prompt.placeholder"),
                elem_id=f"prompt-{key}", elem_classes=["kling-prompt"])
            # Text has no uploads, so no chips (nor a hint about uploading to get one).
            ui.chips = gr.HTML(tokens_html([]), js_on_load=None, visible=tab is not Tab.TEXT,
                               elem_classes=["kling-chips-html"])
            with gr.Row(elem_classes=["kling-settings"]):
                if tab is not Tab.EDIT and tab is not Tab.FRAMES:
                    c["aspect_ratio"] = gr.Radio(list(ASPECT_RATIOS), value="16:9",
                                                 label=i18n("aspect_ratio"), min_width=150)
                durations = allowed_durations(tab)
                if durations:
                    if len(durations) > 2:
                        c["duration"] = gr.Slider(durations[0], durations[-1], value=5, step=1,
                                                  label=i18n("duration"), min_width=150)
                    else:
                        c["duration"] = gr.Radio(list(durations), value=durations[0],
                                                 label=i18n("duration"), min_width=120)
                c["mode"] = gr.Radio(list(QUALITY_MODES), value="pro", label=i18n("quality"),
                                     info=i18n("quality.info"), min_width=150)
                c["takes"] = build_count(key)
                if tab in (Tab.FEATURE, Tab.EDIT):
                    c["keep_original_sound"] = gr.Checkbox(value=True, label=i18n("keep_sound"),
                                                           elem_classes=["kling-sound"],
                                                           min_width=150)
                if tab is not Tab.TEXT:
                    # Kling takes 1:2.5 to 2.5:1; the user chooses how a panorama gets there.
                    c["aspect_fix"] = gr.Radio(
                        ["pad", "crop"], value="pad", label=i18n("aspect_fix"),
                        info=i18n("aspect_fix.info"), min_width=150)
            if tab is Tab.EDIT:
                gr.Markdown(i18n("edit.no_duration"),
                            elem_classes=["kling-note"])
        # The right-hand column (issue #12): Run, its reason, cost and status, then the result
        # as soon as there is one. On a desktop it stays in view (sticky, scrolls on its own);
        # on a phone it follows the inputs, so Run sits right after the prompt and settings.
        with gr.Column(scale=4, min_width=300, elem_classes=["kling-runbox"],
                       elem_id=f"{key}-runbox"):
            # Run, the cost and the status stay in view while the page scrolls (desktop).
            with gr.Column(elem_classes=["kling-runhead"], elem_id=f"{key}-runhead"):
                with gr.Row(elem_classes=["kling-run-row"]):
                    ui.run = gr.Button(i18n("run"), variant="primary", elem_id=f"{key}-run",
                                       min_width=100, interactive=False)
                    ui.cancel = gr.Button(i18n("cancel"), variant="stop", elem_id=f"{key}-cancel",
                                          min_width=110, scale=0, interactive=False)
                ui.cost = gr.Markdown("", elem_classes=["kling-cost"], elem_id=f"{key}-cost")
                ui.progress = gr.HTML("", js_on_load=None, elem_id=f"{key}-progress")
            ui.checks = gr.HTML(_first_checks(tab), js_on_load=None,
                                elem_classes=["kling-checks-html"], elem_id=f"{key}-checks")
            # assets/studio.js owns this button: it asks the browser for notifications once.
            gr.HTML('<button type="button" class="kling-notify" aria-pressed="false">Notify me '
                    "when a run ends</button>", js_on_load=None, elem_classes=["kling-notify-html"])
            ui.takes = build_takes(key)  # several takes side by side, where the result is
            ui.compare = gr.HTML(EMPTY, js_on_load=None, elem_id=f"{key}-compare")
            ui.facts = gr.HTML("", js_on_load=None, elem_id=f"{key}-facts")
            # Hidden until there is a result: an empty gr.File/gr.JSON is a blank box that
            # also carries an aria-label on a role-less div (axe: aria-prohibited-attr).
            ui.download = gr.File(label=i18n("download_output"), interactive=False, height=80,
                                  visible=False, elem_id=f"{key}-download")
            ui.more = build_continue(key)
            ui.finish = build_finish(tab)
            ui.summary = gr.JSON(label=i18n("summary"), open=False,
                                 elem_id=f"{key}-summary", max_height=320, visible=False)
            with gr.Accordion(i18n("copy_code"), open=False):
                ui.code_py = gr.Code(language="python", label="Python", interactive=False)
                ui.code_curl = gr.Code(language="shell", label="cURL", interactive=False)
    return ui


class TabHandlers:
    """Event handlers for one tab; every one is `guarded` (errors become one clear message)."""

    CHECK_CACHE_MAX = 256

    def __init__(self, studio: Any, ui: TabUI) -> None:
        self.studio = studio
        self.ui = ui
        self._checks: dict[tuple[str, str], UploadCheck] = {}
        self._strips: dict[str, Filmstrip] = {}  # the trimmer's filmstrips, by clip
        self._after_result: Callable[[Any], None] | None = None
        self.takes = TakesHandlers(studio, ui.tab.value, has_finish=ui.finish is not None)

    # -- checks -------------------------------------------------------------------------------

    async def _check(self, path: str, kind: str, slot: str) -> tuple[UploadCheck | None, str | None]:
        key = (path, kind + slot)
        if key in self._checks:
            return self._checks[key], None
        try:
            if kind == "video":
                check = await self.studio.check_video(path)
            else:
                check = await self.studio.check_image(path, slot)
        except InputError as exc:
            return None, exc.message
        if len(self._checks) >= self.CHECK_CACHE_MAX:
            self._checks.pop(next(iter(self._checks)))
        self._checks[key] = check
        return check, None

    def outputs_refresh(self) -> list[Any]:
        ui = self.ui
        outs: list[Any] = [ui.cards[s] for s in ui.cards] + [ui.fix_buttons[s] for s in ui.cards]
        outs += [ui.chips, ui.checks, ui.cost, ui.code_py, ui.code_curl, ui.run]
        if ui.player is not None:
            outs.append(ui.player)
        if "_trim_row" in ui.controls:
            outs += [ui.controls["_trim_row"], ui.controls["video_start"]]
        if "aspect_ratio" in ui.controls and "start_image" in ui.controls:
            outs.append(ui.controls["aspect_ratio"])
        if "end_image" in ui.controls and "duration" in ui.controls:
            outs.append(ui.controls["duration"])
        return outs

    async def refresh(self, *values: Any) -> list[Any]:
        """Live checks on every change: upload cards, token chips, problems, cost, code."""
        ui = self.ui
        v = dict(zip(self.input_names(), values, strict=False))
        spec = spec_from(ui.tab, v)
        # Frames: an end frame allows 3-10 s, a start frame alone 5 or 10 (rules.allowed_durations)
        durations = allowed_durations(ui.tab, end_frame=spec.end_image is not None)
        chosen, kept = spec.duration, keep_duration(spec.duration, durations)
        spec = replace(spec, duration=kept)
        numbers = token_numbers(spec.start_image is not None, spec.end_image is not None,
                                len(spec.reference_images))
        cards: dict[str, str] = {}
        fixable: dict[str, bool] = {}
        for slot in ("start_image", "end_image"):
            if slot not in ui.cards:
                continue
            path = getattr(spec, slot)
            check, err = (await self._check(path, "image", slot)) if path else (None, None)
            token = image_token(numbers[slot][0]) if path else None
            cards[slot] = card_html(token, t(f"slot.{slot}"), check, err)
            fixable[slot] = bool(check and check.fixable)
        if "reference_images" in ui.cards:
            parts, any_fix = [], False
            # More images than Kling takes: no card is probed; the checks say how many to remove.
            over = len(spec.reference_images) > rules.MAX_IMAGES_WITHOUT_VIDEO
            for i, path in enumerate(() if over else spec.reference_images):
                check, err = await self._check(path, "image", f"reference_images[{i + 1}]")
                n = numbers["reference_images"][i]
                parts.append(card_html(image_token(n), t("slot.reference_image", n=i + 1), check, err,
                                       thumb=True))
                any_fix = any_fix or bool(check and check.fixable)
            cards["reference_images"] = '<div class="kling-cards">' + "".join(parts) + "</div>"
            fixable["reference_images"] = any_fix
        trim: list[Any] = []
        player: list[Any] = []
        if "reference_video" in ui.cards:
            path = spec.reference_video
            check, err = (await self._check(path, "video", "")) if path else (None, None)
            note, good = "", ""
            duration = float(getattr(check.info, "duration", 0.0)) if check else 0.0
            long_clip = duration > VIDEO_MAX_SECONDS
            window: tuple[float, float] | None = None
            if check is not None and isinstance(check.info, VideoInfo):
                # The card judges what is sent: the trim window, not the whole clip (issue #12).
                info, asked = check.info, (spec.video_start, spec.video_length)
                problems = tuple(rules.check_video(info, window=asked))
                check = replace(check, problems=problems, badge=badge(info, problems))
                good = rules.window_note(info, asked) or ""
                if rules.window_cuts(info, asked):
                    window = rules.trim_window(duration, *asked)
            if long_clip:
                note = t("card.trim_note")
            cards["reference_video"] = card_html("<<<video_1>>>" if path else None,
                                                 t("slot.video"), check, err, note=note, good=good)
            fixable["reference_video"] = bool(check and check.fixable)
            player = [player_html(check, window=window)]
            trim = [gr.Column(visible=long_clip),
                    gr.Slider(maximum=max(0.1, duration - 3.0)) if long_clip else gr.skip()]
        pre = await self.studio.preflight(spec)
        py, curl = self.studio.code_snippets(spec)
        out: list[Any] = [cards[s] for s in ui.cards]
        out += [gr.Button(visible=fixable.get(s, False)) for s in ui.cards]
        # Run is live only when nothing blocks it (fixable problems are fixed by Run itself);
        # the checks right under it say why it is not (issue #12). Several takes: N x the cost.
        n = take_count(v.get("takes"))
        out += [tokens_html(pre.tokens), preflight_html(pre, spec.prompt),
                cost_line(cost_text(pre.cost_text), pre.cost_usd, n, self.takes.threshold), py,
                curl, gr.Button(value=run_label(n, pre.cost_usd) if n > 1 else t("run"),
                                interactive=not blocking(pre.problems))]
        out += player + trim
        if "aspect_ratio" in ui.controls and "start_image" in ui.controls:
            out.append(gr.Radio(visible=spec.start_image is None))
        if "end_image" in ui.controls and "duration" in ui.controls:
            # Set the value only when it had to change, so the update does not fire another change.
            out.append(gr.Radio(choices=list(durations)) if kept == chosen
                       else gr.Radio(choices=list(durations), value=kept))
        return out

    async def preview(self, *values: Any) -> Any:
        """After the card: make the clip's browser preview in the background, window first.

        Yields the first seconds as soon as they exist, then the whole window (each replaces
        the poster in the card's player). Nothing for a clip the browser plays itself.
        """
        v = dict(zip(self.input_names(), values, strict=False))
        spec = spec_from(self.ui.tab, v)
        path = spec.reference_video
        check, _ = (await self._check(path, "video", "")) if path else (None, None)
        if path is None or check is None or not check.preview_pending:
            yield gr.skip()
            return
        start, end = rules.trim_window(float(getattr(check.info, "duration", 0.0)),
                                       spec.video_start, spec.video_length)
        window = {"start": start, "length": end - start}  # the window that is sent, looped
        first = await self.studio.video_preview(path, first_part=True, **window)
        yield player_html(check, first)
        yield player_html(check, await self.studio.video_preview(path, **window), whole=True)

    async def filmstrip(self, *values: Any) -> Any:
        """After the card of a clip over 10 s: the trimmer with its window at once, then with
        the filmstrip (one ffmpeg pass) once it is made."""
        v = dict(zip(self.input_names(), values, strict=False))
        spec = spec_from(self.ui.tab, v)
        path = spec.reference_video
        check, _ = (await self._check(path, "video", "")) if path else (None, None)
        if path is None or check is None or not isinstance(check.info, VideoInfo):
            yield None
            return
        duration = check.info.duration
        if duration <= VIDEO_MAX_SECONDS:
            yield None
            return
        window = (duration, spec.video_start, spec.video_length)
        if path in self._strips:
            yield trimmer_value(*window, self._strips[path], clip=path)
            return
        yield trimmer_value(*window, clip=path)
        try:
            strip = await self.studio.filmstrip(path)
        except KlingError as exc:  # the trimmer still works on a blank track
            yield trimmer_value(*window, clip=path, error=f"No filmstrip: {exc.message}")
            return
        if len(self._strips) >= self.CHECK_CACHE_MAX:
            self._strips.pop(next(iter(self._strips)))
        self._strips[path] = strip
        yield trimmer_value(*window, strip, clip=path)

    def window(self, *values: Any) -> Any:
        """Start or length typed (or slid) below the strip: the strip's window follows. Only
        the user's own changes come here (`.input`), never the trimmer's echo."""
        v = dict(zip(self.input_names(), values, strict=False))
        spec = spec_from(self.ui.tab, v)
        path = spec.reference_video
        check = self._checks.get((path, "video")) if path else None
        if path is None or check is None or not isinstance(check.info, VideoInfo):
            return gr.skip()
        if check.info.duration <= VIDEO_MAX_SECONDS:
            return gr.skip()
        return trimmer_value(check.info.duration, spec.video_start, spec.video_length,
                             self._strips.get(path), clip=path)

    def trim(self, evt: gr.EventData) -> list[Any]:
        """The trimmer's window (a drag ended, or the keys rested) into the start/length
        controls; their change re-runs the checks, the cost and the preview."""
        window = window_from_event(getattr(evt, "_data", None))
        if window is None:
            return [gr.skip(), gr.skip()]
        return list(window)

    async def validate(self, session: Any, *values: Any) -> list[Any]:
        """Gradio's `validator=` for Run: the last word before a job is queued.

        Run is disabled while a check fails, but a click can land before the checks of a
        change that just happened; this refuses it and marks the input at fault.
        """
        v = dict(zip(self.input_names(), values, strict=False))
        spec = spec_from(self.ui.tab, v, library=self.studio.library,
                         owner=getattr(session, "owner", None))
        try:
            pre = await self.studio.preflight(spec)
            problems = blocking(pre.problems)
        except Exception:  # noqa: BLE001 - a validator must answer; the run reports the error
            problems = []
        names = self.input_names()
        messages: dict[str, list[str]] = {}
        for p in problems:
            name = p.field.split("[", 1)[0]
            target = name if name in names else "prompt" if "prompt" in names else names[0]
            messages.setdefault(target, []).append(problem_text(p))
        return [gr.validate(True, "")] + [
            gr.validate(n not in messages, " ".join(messages.get(n, []))) for n in names]

    def checking(self, video: Any) -> list[Any]:
        """At once, while a new clip is checked: Run waits, and says why beside it.

        Only for a clip whose card is not known yet: when a clip is set by the page itself
        (Next shot, Edit this, a restore) this instant event can land after the refresh that
        already checked it, and would leave Run disabled behind "Checking" for good.
        """
        try:
            path = own_upload(video)
        except InputError:  # the checks that follow say so (this instant event cannot)
            path = None
        if not path or (path, "video") in self._checks:
            return [gr.skip(), gr.skip()]
        return [gr.Button(interactive=False),
                '<div class="kling-checks"><p class="kling-note" role="status">'
                f'{t("checks.checking_video")}</p></div>']

    def input_names(self) -> list[str]:
        return [n for n in self.ui.controls if not n.startswith("_")]

    def input_components(self) -> list[Any]:
        return [self.ui.controls[n] for n in self.input_names()]

    # -- fixes --------------------------------------------------------------------------------

    def fix_handler(self, slot: str) -> Callable[..., Any]:
        @guarded
        async def fix(request: gr.Request, *values: Any) -> Any:
            v = dict(zip(self.input_names(), values, strict=False))
            spec = spec_from(self.ui.tab, v)
            check_spec(spec)  # too many files or too large ones: refused before any fix
            # Fixed files live with the session's other files: gone when the tab closes.
            where = str(self.studio.session_dir(session_id(request)) / "fixed")
            done: list[str] = []
            if slot == "reference_video":
                assert spec.reference_video  # noqa: S101 - the button shows only with a video
                check, fixes = await self.studio.fix_video(
                    spec.reference_video, start=spec.video_start, length=spec.video_length,
                    out_dir=where)
                new: Any = check.path
            elif slot == "reference_images":
                paths = []
                for i, path in enumerate(spec.reference_images):
                    check, fixes = await self.studio.fix_image(
                        path, aspect_fix=spec.aspect_fix, out_dir=where)
                    paths.append(check.path)
                    done += [f"{t('slot.reference_image', n=i + 1)}: {f.detail}" for f in fixes]
                new, fixes = paths, []
            else:
                path = getattr(spec, slot)
                check, fixes = await self.studio.fix_image(
                    path, aspect_fix=spec.aspect_fix, out_dir=where)
                new = check.path
            done += [f"{f.field}: {f.detail}" for f in fixes]
            gr.Info(t("fix.done", what=" ".join(done)) if done else t("fix.nothing"))
            return new

        return fix

    # -- presets ------------------------------------------------------------------------------

    def preset_handler(self, preset: dict[str, Any]) -> Callable[[], list[Any]]:
        def fill() -> list[Any]:
            out = []
            for name in self.input_names():
                if name not in preset:
                    out.append(gr.skip() if name in ("mode", "video_start", "video_length")
                               else _empty(name))
                    continue
                value = preset[name]
                if name in ("start_image", "end_image", "reference_video"):
                    value = str(ASSETS / value)
                elif name == "reference_images":
                    value = [str(ASSETS / p) for p in value]
                out.append(value)
            return out

        return fill

    # -- run / cancel -------------------------------------------------------------------------

    def outputs_run(self) -> list[Any]:
        ui = self.ui
        return [ui.progress, ui.compare, ui.facts, ui.download, ui.summary, *run_outputs(ui.finish)]

    def outputs_reattach(self) -> list[Any]:
        return [*self.outputs_run(), self.ui.cancel, *self.input_components()]

    def after_result(self, event: Any) -> None:
        """After `event` (a page reattaching to the tab's run) the finishing panel follows the
        tab's result too (issue #13); tabs without a video original have none."""
        if self._after_result is not None:
            self._after_result(event)

    async def run(self, request: gr.Request, session: Session, *values: Any) -> Any:
        """Start the job on the Studio's runner, then watch it.

        The job does not belong to this handler: when the page reloads or closes, Gradio drops
        the handler and the job goes on; the reloaded page reattaches (`reattach`).
        """
        v = dict(zip(self.input_names(), values, strict=False))
        spec = spec_from(self.ui.tab, v, library=self.studio.library, owner=session.owner)
        if take_count(v.get("takes")) > 1:  # several takes side by side (ui/takes.py)
            async for update in self.takes.run(request, session, spec, take_count(v["takes"])):
                yield update
            return
        grid = [*self.takes.hidden(), gr.skip()]  # one take: the tab as it always was
        handle = self.studio.start(spec, visitor_token=session.key,
                                   visitor_id=visitor_id(request, self.studio.settings.trusted_proxies), owner=session.run_owner(),
                                   parent_id=session.parents.pop(self.ui.tab.value, None))
        session.watching[self.ui.tab.value] = handle.run_id
        yield [progress_html(None, 0.0, message=t("status.checking_inputs")),
               *[gr.skip()] * (len(self.outputs_run()) - 1), *grid]
        async for update in self._watch(handle.run_id):
            yield [*update, *grid]

    async def _watch(self, run_id: str) -> Any:
        """Yield the run's progress until it ends, then its result (or say how it ended).

        Reads the runner's live handle when this process runs the job, else the library's
        journal (a run resumed elsewhere, or one that ended before the page came back).
        """
        skip = [gr.skip()] * (len(self.outputs_run()) - 1)
        changes = Changes()  # a message only when the status changes (the page counts seconds)
        while True:
            handle = self.studio.handle(run_id)
            if handle is not None:
                if handle.done:
                    break
                status = live_status(handle)
                if changes.new(status):
                    yield [status, *skip]
            else:
                run = self.studio.library.get(run_id)
                if run is None or not run.in_flight:
                    break
                status = run_progress_html(run)
                if changes.new(status):
                    yield [status, *skip]
                if run.status in ("waiting_for_key", "waiting_for_disk"):
                    return
            await asyncio.sleep(WATCH_EVERY)
        waiting = self.studio.library.get(run_id)
        if waiting is not None and waiting.status == "waiting_for_disk":
            # Paid for, saved once the disk has room (kling_ui.hosting.disk): a wait, not a failure.
            yield [run_progress_html(waiting), *skip]
            return
        handle = self.studio.handle(run_id)
        if handle is not None and handle.outcome()[0] is None and handle.outcome()[1] is None:
            handle = None  # a resumed run that ended without a result: its row says how
        if handle is not None:
            result, exc = handle.outcome()
            elapsed = handle.elapsed
            if exc is not None:
                # The whole message goes in the status, not under Gradio's red Error pill.
                yield [_failure_html(exc, handle.progress, elapsed), *skip]
                if not isinstance(exc, KlingError):
                    raise exc  # a bug: `guarded` logs it (and re-raises it under tests)
                return
            message = t("stage.done")
        else:
            run = self.studio.library.get(run_id)
            if run is None:
                yield [progress_html(None, 0.0, state="failed", message=t("status.gone")), *skip]
                return
            if run.status != "succeeded":
                yield [run_progress_html(run), *skip]
                return
            result = result_from_run(run)
            message = t("stage.done")
            elapsed = max(0.0, (run.finished_at or run.updated_at) - run.created_at)
        done = Progress(stage="done", status=result.status, prediction_id=result.prediction_id)
        yield [progress_html(done, elapsed, state="done", message=message),
               compare_html(result), facts_html(result),
               gr.File(value=result.output_path, visible=True),
               gr.JSON(value=result.summary(), visible=True),
               *([result] if self.ui.finish is not None else [])]

    async def reattach(self, session: Session, run_id: str | None, *values: Any) -> Any:
        """On page load: show this tab's latest run (its inputs too), and follow it while it
        runs, so a reload or a new tab picks up where the last one was. Cancel is live while
        the run is in flight.

        `run_id` is that run, this visitor's own, found at page load or when the tab is first
        opened (page.latest_id).
        `values` are the tab's inputs as the page has them now. A person who typed or uploaded
        before this answer came keeps what they did (the run's inputs are not written over
        theirs: a Run click would have sent the old prompt), and a run this page already started
        here stays the one shown and cancelled."""
        ui = self.ui
        names = self.input_names()
        if session.watching.get(ui.tab.value):
            yield [gr.skip()] * len(self.outputs_reattach())
            return
        run = self.studio.library.get(run_id) if run_id else None
        if run is None:
            yield [gr.skip()] * len(self.outputs_reattach())
            return
        spec = result_from_run(run).spec
        touched = [n for n, v, c in zip(names, values, self.input_components(), strict=False)
                   if _blank(v) != _blank(c.value)]
        inputs = (spec_values(spec, names) if spec is not None and not touched
                  else [gr.skip()] * len(names))
        session.watching[ui.tab.value] = run.id
        first = True
        async for update in self._watch(run.id):
            cancel = gr.Button(interactive=run.in_flight) if first else gr.skip()
            yield update + [cancel] + (inputs if first else [gr.skip()] * len(names))
            first = False
        if run.in_flight:
            yield ([gr.skip()] * len(self.outputs_run()) + [gr.Button(interactive=False)]
                   + [gr.skip()] * len(names))

    def running(self, session: Session) -> Any:
        """The live handle of the run this page follows in this tab, while it is in flight."""
        run_id = session.watching.get(self.ui.tab.value)
        handle = self.studio.handle(run_id) if run_id else None
        return handle if handle is not None and not handle.done else None

    def cancel(self, session: Session) -> tuple[Any, Any]:
        if self.takes.cancel(session):
            return progress_html(None, 0.0, state="canceling"), gr.Button(interactive=False)
        run_id = session.watching.get(self.ui.tab.value)
        if not run_id or not self.studio.cancel_run(run_id):
            return gr.skip(), gr.Button(interactive=False)
        # The watcher keeps "Canceling…" on screen until the prediction is confirmed stopped.
        return progress_html(None, 0.0, state="canceling"), gr.Button(interactive=False)


WATCH_EVERY = 0.5  # seconds between looks at a run (the page hears only of changes)


def live_status(handle: Any, note: str = "") -> str:
    """The status of a run in flight on this process (a RunHandle). Once Cancel is pressed it
    says so until the cancel is confirmed."""
    return progress_html(handle.progress, handle.elapsed, note=note,
                         state="canceling" if handle.cancel_requested else "running")


def _blank(value: Any) -> Any:
    """An input's value with every empty form alike (a Textbox built with "" holds None)."""
    return None if value in ("", [], {}, ()) else value


def _was_canceled(exc: BaseException) -> bool:
    return isinstance(exc, PredictionError) and exc.status == "canceled"


def _failure_html(exc: BaseException, last: Progress | None, elapsed: float) -> str:
    if isinstance(exc, PredictionError) and _was_canceled(exc):
        return progress_html(last, elapsed, state="canceled", message=(
            t("status.canceled_stopped") if exc.prediction_id else error_text(exc)))
    if isinstance(exc, PredictionError):
        return progress_html(last, elapsed, state="failed", message=t("status.failed_msg", message=error_text(exc)))
    if isinstance(exc, KlingError):
        return progress_html(last, elapsed, state="failed", message=t("status.not_run", message=error_text(exc)))
    return progress_html(last, elapsed, state="failed", message=t("status.failed_unexpected"))


def blocking(problems: Any) -> list[Any]:
    """The problems that stop Run: errors Run cannot fix by itself."""
    return [p for p in problems if p.is_error and not p.fixable]


def _empty(name: str) -> Any:
    if name == "reference_images":
        return None
    if name == "prompt":
        return ""
    if name in ("start_image", "end_image", "reference_video"):
        return None
    return gr.skip()


def wire_tab(ui: TabUI, handlers: TabHandlers, session: gr.State, *, concurrency: int,
             on_result: Callable[..., Any], result_outputs: list[Any],
             result_inputs: list[Any] | None = None, page_load: Any = None,
             timer: Any = None) -> Any:
    """Connect one tab's events (returns the run event). UI-internal events are private.

    `timer` (the Library's) starts ticking when Run is pressed, so the Library follows the run.

    `page_load` (the page's `demo.load`, or the tab's `select` for a tab not shown first) also
    triggers the checks, through the same listener
    as every input's change: one listener with trigger_mode="always_last" never overlaps
    itself, so the last answer shown is always for the latest values.

    Events reading uploads skip Gradio's preprocessing (`preprocess=False`): gr.Image would open
    the file with Pillow first and fail with a generic error on a bad file; we want the Studio's
    own clear message. Gradio checks only the file values that carry its `meta` marker, so the
    edge checks every one: `StudioBlocks` before Gradio reads the payload, `spec_from` (through
    `edge.own_upload`) before a handler opens a file (issue #20).
    """
    inputs = handlers.input_components()
    refresh = guarded(handlers.refresh)
    triggers = []
    for name, comp in ui.controls.items():
        if name.startswith("_") or name == "reference_video":
            continue
        triggers.append(comp.change)
    private = {"api_visibility": "private", "preprocess": False, "show_progress": "hidden"}
    checks_on = [page_load, *triggers] if page_load is not None else triggers
    refreshed = gr.on(checks_on, refresh, inputs=inputs, outputs=handlers.outputs_refresh(),
                      trigger_mode="always_last", **private)
    if ui.player is not None:
        # A new clip: Run is disabled at once (no queue), the card follows within a second,
        # then the preview is made in the background (issue #12).
        preview = guarded(handlers.preview)
        refreshed.then(preview, inputs=inputs, outputs=[ui.player], **private)
        carded = ui.controls["reference_video"].change(
            handlers.checking, inputs=[ui.controls["reference_video"]],
            outputs=[ui.run, ui.checks], queue=False, preprocess=False,
            api_visibility="private", show_progress="hidden",
        ).then(refresh, inputs=inputs, outputs=handlers.outputs_refresh(), **private)
        carded.then(preview, inputs=inputs, outputs=[ui.player], **private)
        if "_trimmer" in ui.controls:
            # The filmstrip is made beside the preview, not after it; the window the user picks
            # goes into the start/length controls, whose change runs the checks again.
            trimmer = ui.controls["_trimmer"]
            carded.then(guarded(handlers.filmstrip), inputs=inputs, outputs=[trimmer], **private)
            fine = [ui.controls["video_start"].input, ui.controls["video_length"].input]
            gr.on(fine, guarded(handlers.window), inputs=inputs, outputs=[trimmer],
                  trigger_mode="always_last", **private)
            trimmer.trim(handlers.trim, inputs=None,
                         outputs=[ui.controls["video_start"], ui.controls["video_length"]],
                         api_visibility="private", show_progress="hidden", queue=False)
    for slot, btn in ui.fix_buttons.items():
        btn.click(handlers.fix_handler(slot), inputs=inputs, outputs=ui.controls[slot],
                  api_visibility="private", preprocess=False)
    for btn, preset in ui.presets:
        btn.click(handlers.preset_handler(preset), inputs=None, outputs=inputs,
                  api_visibility="private")
    # Cancel is live only while a run is: set around the run, outside its handler, and in
    # order (a run that fails at once must not be followed by a late "enable").
    # The validator refuses a click that beat the checks (Run is disabled while one fails).
    assert ui.takes is not None  # noqa: S101 - build_tab makes one for every tab
    # The click answers at once (no queue): Cancel goes live and the status leaves the last
    # run's "Done" for "Checking your inputs" (on a phone the run's first update came ~4 s later).
    ticks = timer is not None

    def clicked(s: Session, *_: Any) -> list[Any]:
        # A second click while this tab's run goes on starts nothing (Gradio skips an event
        # still running): the live status stays, and says so until it next changes.
        live = handlers.running(s)
        if live is not None:
            status = live_status(live, note=t("status.still_running"))
            return [gr.skip(), status, *([gr.skip()] if ticks else [])]
        return [gr.Button(interactive=True),
                progress_html(None, 0.0, message=t("status.checking_inputs")),
                *([gr.Timer(active=True)] if ticks else [])]

    started = ui.run.click(clicked, inputs=[session, *inputs],
                           outputs=[ui.cancel, ui.progress, *([timer] if timer else [])],
                           validator=guarded(handlers.validate),
                           queue=False, api_visibility="private", show_progress="hidden",
                           preprocess=False)
    run_event = started.then(
        guarded(handlers.run), inputs=[session, *inputs],
        outputs=[*handlers.outputs_run(), *ui.takes.outputs, ui.run],
        api_visibility="private", concurrency_id=RUN_POOL, concurrency_limit=None,
        preprocess=False,
        show_progress="minimal", show_progress_on=[ui.progress])
    run_event.then(lambda: gr.Button(interactive=False), inputs=None, outputs=[ui.cancel],
                   queue=False, api_visibility="private", show_progress="hidden")
    wire_takes(ui.takes, handlers.takes, session, triggers,
               after=(on_result, [session, *(result_inputs or [])], result_outputs))
    handlers._after_result = wire_finish(ui.finish, handlers.studio, run_event,
                                         compare=ui.compare, concurrency=concurrency)
    # `.then` runs after a failure too (as `.success` would not): the library shows either.
    run_event.then(on_result, inputs=[session, *(result_inputs or [])], outputs=result_outputs,
                   api_visibility="private", show_progress="hidden")
    # Cancel asks the runner to cancel the run this tab watches; the service cancels the
    # prediction and the watcher reports it (a confirmed "Canceled"). Nothing else cancels a
    # run: not a reload, not a closed tab (issue #10), so there is no `cancels=[run_event]`.
    ui.cancel.click(guarded(handlers.cancel), inputs=[session], outputs=[ui.progress, ui.cancel],
                    api_visibility="private", queue=False, show_progress="hidden")
    return run_event
