"""One mode tab's layout: its controls, upload cards, token chips, checks, run and result.

`build_tab()` lays out a tab and returns its `TabUI` (the components its handlers read and
write); `spec_from()` / `spec_values()` turn the tab's values into a `JobSpec` and back. Which
controls a tab shows follows the rules core (`rules.allowed_durations`,
`rules.sends_aspect_ratio`) so the UI never offers a value Kling would ignore or refuse.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr

from ..core.errors import KlingError, PredictionError
from ..core.jobs import JobSpec
from ..core.models import ASPECT_RATIOS, Progress, Shot, Tab
from ..core.profile import DEFAULT_PROFILE, PROFILES, get_profile
from ..core.rules import DEFAULT_DURATION, allowed_durations
from ..i18n import EN_LANG, LANGS, add_texts, error_text, i18n, t
from .common import (
    esc,
    progress_html,
    tokens_html,
)
from .compare import EMPTY
from .continue_ import ContinueUI, build_continue
from .edge import FILE_COMPONENTS, own_upload, own_uploads
from .finish import build_finish
from .share import build_share
from .takes import (
    TakesUI,
    build_count,
    build_takes,
)
from .trimmer import build_trimmer

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
# The storyboard's rows (issue #25): the most shots any model takes; a model with fewer refuses
# the extra rows in its checks.
SHOT_ROWS = max((p.storyboard.max_shots for p in PROFILES.values() if p.storyboard), default=0)
STORYBOARD_TABS = (Tab.TEXT, Tab.FRAMES, Tab.REFERENCES)


def model_choices() -> list[tuple[str, str]]:
    return [(p.name, p.id) for p in PROFILES.values()]


def mode_choices(model: str | None) -> list[tuple[str, str]]:
    """The quality radio's choices: what the model calls them, the Studio's std/pro values."""
    profile = get_profile(model if model in PROFILES else None)
    return [(profile.wire_mode(q), q) for q in ("std", "pro")]


def shots_from(values: dict[str, Any]) -> tuple[Shot, ...]:
    """The storyboard's filled rows, in order (a row with neither words nor seconds is skipped)."""
    shots = []
    for i in range(1, SHOT_ROWS + 1):
        text, secs = values.get(f"shot{i}"), values.get(f"shot{i}_s")
        text = text if isinstance(text, str) else ""
        if not text.strip() and secs in (None, "", 0):
            continue
        try:
            seconds = int(float(secs)) if secs not in (None, "") else 0
        except (TypeError, ValueError):
            seconds = 0
        shots.append(Shot(text, seconds))
    return tuple(shots)


def load_presets() -> dict[str, list[dict[str, Any]]]:
    try:
        data = json.loads((ASSETS / "presets.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if not k.startswith("_")}


def preset_label(tab: Tab, index: int, preset: dict[str, Any]) -> Any:
    """A preset button's name, in the page's language: `name` and `name_<lang>` in
    presets.json, registered as a client-side key (issue #24: the names were English only)."""
    key = f"preset.{tab.value}.{index}"
    add_texts({key: {lang: str(preset.get("name" if lang == EN_LANG else f"name_{lang}") or "")
                     for lang in LANGS}})
    return i18n(key)


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
    storyboard: Any = None  # the multi-shot rows' group (issue #25), where the tab has one
    shots_total: Any = None
    audio_note: Any = None
    share: Any = None  # the Share panel (issue #26)
    restore: Any = None  # hidden: the last run's inputs the browser applies where untouched
    twins: dict[str, Any] = field(default_factory=dict)  # hidden: the file fields' restores

    def field_ids(self) -> dict[str, str]:
        """Each input's element id, for the browser's touch tracking (assets/studio.js)."""
        return {n: str(c.elem_id) for n, c in self.controls.items()
                if not n.startswith("_") and c.elem_id}

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
    model = values.get("model")
    model = model if isinstance(model, str) and model in PROFILES else DEFAULT_PROFILE
    durations = allowed_durations(tab, model=model)
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
        model=model,
        generate_audio=values.get("generate_audio") is True,
        shots=shots_from(values) if values.get("storyboard") is True else (),
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
        "model": spec.model,
        "generate_audio": spec.generate_audio,
        "storyboard": bool(spec.shots),
    }
    for i in range(1, SHOT_ROWS + 1):
        shot = spec.shots[i - 1] if i <= len(spec.shots) else None
        values[f"shot{i}"] = shot.prompt if shot else ""
        values[f"shot{i}_s"] = shot.duration if shot else None
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


def model_outputs(ui: TabUI) -> list[Any]:
    """What a change of model updates in a tab (see `model_changed`)."""
    outs = [ui.controls["mode"]]
    if "duration" in ui.controls and ui.tab is not Tab.FRAMES:  # Frames: the checks do it
        outs.append(ui.controls["duration"])
    outs += [x for x in (ui.controls.get("generate_audio"), ui.storyboard, ui.audio_note) if x]
    return outs


def model_changed(ui: TabUI, model: Any, duration: Any = None) -> list[Any]:
    """Only what differs between models: the quality's names, the durations, the Audio switch
    (off and hidden where a video is referenced, with the reason) and the storyboard."""
    model = model if isinstance(model, str) and model in PROFILES else DEFAULT_PROFILE
    profile = get_profile(model)
    out: list[Any] = [gr.Radio(choices=mode_choices(model))]
    if "duration" in ui.controls and ui.tab is not Tab.FRAMES:
        choices = allowed_durations(ui.tab, model=model)
        try:
            now = int(duration) if duration not in (None, "") else DEFAULT_DURATION
        except (TypeError, ValueError):
            now = DEFAULT_DURATION
        kept = min(choices, key=lambda c: (abs(c - now), c))
        if isinstance(ui.controls["duration"], gr.Slider):
            out.append(gr.Slider(minimum=choices[0], maximum=choices[-1], value=kept))
        else:
            out.append(gr.Dropdown(choices=list(choices), value=kept))
    if "generate_audio" in ui.controls:
        out.append(gr.Checkbox(visible=profile.has_audio, value=False) if not profile.has_audio
                   else gr.Checkbox(visible=True))
    if ui.storyboard is not None:
        out.append(gr.Column(visible=profile.has_storyboard))
    if ui.audio_note is not None:
        out.append(gr.Markdown(visible=profile.has_audio))
    return out


def shots_total_html(spec: JobSpec) -> str:
    """The storyboard's running total: "Shots: 2 + 3 = 5 s of 5 s", green when it adds up."""
    if not spec.shots:
        return ""
    total = sum(s.duration for s in spec.shots)
    parts = " + ".join(str(s.duration) for s in spec.shots)
    text = t("shots.total", parts=parts, total=total, duration=spec.duration)
    if total == spec.duration:
        return (f'<p class="kling-shots-total kling-ok" role="status">{esc(text)} · '
                f'{esc(t("shots.total_ok", duration=spec.duration))}</p>')
    return f'<p class="kling-shots-total kling-err" role="status">{esc(text)}</p>'


def _build_storyboard(ui: TabUI) -> None:
    """The storyboard (multi-shot, issue #25): a switch, then up to SHOT_ROWS rows of a prompt
    and its seconds, and their running total. Shown only for a model that has one."""
    c, key = ui.controls, ui.tab.value
    with gr.Column(visible=False, elem_classes=["kling-storyboard"],
                   elem_id=f"{key}-storyboard") as group:
        c["storyboard"] = gr.Checkbox(value=False, label=i18n("shots.use"),
                                      info=i18n("shots.info"), elem_id=f"{key}-storyboard-on")
        for i in range(1, SHOT_ROWS + 1):
            # Compact rows: the label is read by screen readers, the placeholder says it.
            with gr.Row(elem_classes=["kling-shot-row"], equal_height=True):
                c[f"shot{i}"] = gr.Textbox(label=i18n(f"shots.shot{i}"), show_label=False,
                                           placeholder=i18n(f"shots.shot{i}"), lines=1,
                                           max_lines=3, scale=5, min_width=160, container=False,
                                           elem_id=f"{key}-shot{i}")
                c[f"shot{i}_s"] = gr.Textbox(label=i18n("shots.seconds"), show_label=False,
                                             placeholder=i18n("shots.seconds"), max_lines=1,
                                             scale=1, min_width=80, container=False,
                                             elem_id=f"{key}-shot{i}-s")
        ui.shots_total = gr.HTML("", js_on_load=None, elem_id=f"{key}-shots-total")
    ui.storyboard = group


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
    # What the tab does and its presets share one line where there is room (issue #23).
    with gr.Row(elem_classes=["kling-intro-row"], equal_height=False):
        gr.Markdown(i18n(f"intro.{tab.value}"), elem_classes=["kling-intro"])
        if presets:
            from .thumbs import preset_thumb  # here, not at the top: all #12.6 touches

            with gr.Row(elem_classes=["kling-presets"]):
                gr.Markdown(i18n("presets"), elem_classes=["kling-presets-label"])
                for preset in presets:
                    # A thumbnail of the preset's media (text presets: the name alone).
                    thumb = preset_thumb(preset)
                    btn = gr.Button(preset_label(tab, presets.index(preset), preset), size="sm",
                                    scale=0, min_width=90, icon=thumb,
                                    elem_classes=["kling-preset", "kling-preset-thumb"] if thumb
                                    else ["kling-preset"])
                    ui.presets.append((btn, preset))
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, min_width=300, elem_classes=["kling-inputs"]):
            c["model"] = gr.Radio(model_choices(), value=DEFAULT_PROFILE, label=i18n("model"),
                                  elem_id=f"{key}-model", elem_classes=["kling-model"])
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
            if tab in STORYBOARD_TABS:
                # 3.0 Omni's native sound (issue #25): a full-width line of its own, so its label
                # never shares a phone's row with the settings.
                c["generate_audio"] = gr.Checkbox(value=False, label=i18n("audio.native"),
                                                  info=i18n("audio.info"), visible=False,
                                                  elem_id=f"{key}-audio")
                _build_storyboard(ui)
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
                        # A set whose size depends on the model (O1: 5 or 10; 3.0 Omni: 3-15).
                        c["duration"] = gr.Dropdown(list(durations), value=durations[0],
                                                    label=i18n("duration"), min_width=120,
                                                    elem_id=f"{key}-duration")
                c["mode"] = gr.Radio(mode_choices(None), value="pro", label=i18n("quality"),
                                     info=i18n("quality.info"), min_width=150)

                c["takes"] = build_count(key)
                if tab in (Tab.FEATURE, Tab.EDIT):
                    c["keep_original_sound"] = gr.Checkbox(value=True, label=i18n("keep_sound"),
                                                           elem_classes=["kling-sound"],
                                                           min_width=150)
                if tab is not Tab.TEXT:
                    # Kling takes 1:2.5 to 2.5:1; the user chooses how a panorama gets there.
                    c["aspect_fix"] = gr.Radio(
                        [(i18n("aspect_fix.pad"), "pad"), (i18n("aspect_fix.crop"), "crop")],
                        value="pad", label=i18n("aspect_fix"),
                        info=i18n("aspect_fix.info"), min_width=150)
            if tab is Tab.EDIT:
                gr.Markdown(i18n("edit.no_duration"),
                            elem_classes=["kling-note"])
            if tab not in STORYBOARD_TABS:
                # A model with native sound cannot make it while a video is referenced.
                ui.audio_note = gr.Markdown(i18n("audio.off_with_video"), visible=False,
                                            elem_classes=["kling-note"], elem_id=f"{key}-audio-note")
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
            ui.takes = build_takes(key)  # several takes side by side, where the result is
            ui.compare = gr.HTML(EMPTY, js_on_load=None, elem_id=f"{key}-compare")
            ui.facts = gr.HTML("", js_on_load=None, elem_id=f"{key}-facts")
            # Hidden until there is a result: an empty gr.File/gr.JSON is a blank box that
            # also carries an aria-label on a role-less div (axe: aria-prohibited-attr).
            ui.download = gr.File(label=i18n("download_output"), interactive=False, height=80,
                                  visible=False, elem_id=f"{key}-download")
            ui.share = build_share(key)  # a link to a read-only page (issue #26)
            # The result is the hero (issue #23): what a power user digs into next sits in one
            # closed section under it.
            with gr.Accordion(i18n("details"), open=False, elem_id=f"{key}-details",
                              elem_classes=["kling-details"]):
                ui.more = build_continue(key)
                ui.finish = build_finish(tab)
                ui.summary = gr.JSON(label=i18n("summary"), open=False,
                                     elem_id=f"{key}-summary", max_height=320, visible=False)
                with gr.Accordion(i18n("copy_code"), open=False):
                    ui.code_py = gr.Code(language="python", label="Python", interactive=False)
                    ui.code_curl = gr.Code(language="shell", label="cURL", interactive=False)
            # assets/studio.js owns this button: it asks the browser for notifications once.
            gr.HTML('<button type="button" class="kling-notify" aria-pressed="false">Notify me '
                    "when a run ends</button>", js_on_load=None, elem_classes=["kling-notify-html"])
    # The last run's inputs on their way into the fields (ui/page.py, issue #23): a plan (JSON
    # text) and, for each file field, a hidden twin that Gradio fills as it fills any output.
    ui.restore = gr.Textbox(visible=False)
    for name, comp in c.items():
        if not name.startswith("_") and isinstance(comp, FILE_COMPONENTS):
            ui.twins[name] = type(comp)(**{**comp.constructor_args, "visible": False,
                                           "elem_id": None, "elem_classes": None})
    for name, comp in c.items():  # every field gets an id the browser can track (issue #23)
        if not name.startswith("_") and not comp.elem_id:
            comp.elem_id = f"{key}-in-{name.replace('_', '-')}"
    return ui




WATCH_EVERY = 0.5  # seconds between looks at a run (the page hears only of changes)


def live_status(handle: Any, note: str = "") -> str:
    """The status of a run in flight on this process (a RunHandle). Once Cancel is pressed it
    says so until the cancel is confirmed."""
    return progress_html(handle.progress, handle.elapsed, note=note,
                         state="canceling" if handle.cancel_requested else "running")


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


