"""One mode tab's live checks: upload cards, token chips, problems, cost, the trimmer's
preview and filmstrip, the doctor's fixes, presets. Handlers only call the `Studio` and render
what it answers; every one is `guarded` where it is wired (`tabs.wire_tab`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import gradio as gr

from ..core import rules
from ..core.errors import InputError, KlingError
from ..core.jobs import UploadCheck
from ..core.models import VideoInfo
from ..core.profile import get_profile
from ..core.prompt import image_token, token_numbers
from ..core.rules import VIDEO_MAX_SECONDS, allowed_durations, keep_duration
from ..hosting.bounds import check_spec
from ..i18n import cost_text, problem_text, t
from ..media.filmstrip import Filmstrip
from ..media.preview import badge
from .common import card_html, guarded, info, player_html, preflight_html, tokens_html
from .edge import own_upload
from .tab_layout import ASSETS, TabUI, _empty, blocking, shots_total_html, spec_from
from .takes import (
    TakesHandlers,
    cost_line,
    run_label,
    take_count,
)
from .trimmer import trimmer_value, window_from_event
from .visitor import session_id, visitor_id


class TabChecks:
    """The checking half of a tab's handlers (`tabs.TabHandlers` joins the running half)."""

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
        if ui.shots_total is not None:
            outs.append(ui.shots_total)
        if "keep_original_sound" in ui.controls:
            outs.append(ui.controls["keep_original_sound"])
        return outs

    async def refresh(self, *values: Any) -> list[Any]:
        """Live checks on every change: upload cards, token chips, problems, cost, code."""
        ui = self.ui
        v = dict(zip(self.input_names(), values, strict=False))
        spec = spec_from(ui.tab, v)
        # Frames: an end frame allows 3-10 s, a start frame alone 5 or 10 (rules.allowed_durations)
        durations = allowed_durations(ui.tab, end_frame=spec.end_image is not None,
                                      model=spec.model)
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
        silent = False  # a clip the probe read, with no sound to keep
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
                silent = not info.has_audio
                problems = tuple(rules.check_video(info, window=asked,
                                                   profile=get_profile(spec.model)))
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
            out.append(gr.Dropdown(choices=list(durations)) if kept == chosen
                       else gr.Dropdown(choices=list(durations), value=kept))
        if ui.shots_total is not None:
            out.append(shots_total_html(spec))
        if "keep_original_sound" in ui.controls:
            # Said, not unticked: the box stays the person's (and a run's restore sets it).
            out.append(gr.Checkbox(info=t("keep_sound.none") if silent else ""))
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
        # The card came first (header only); its pictures follow, each as soon as it exists.
        poster = await self.studio.video_poster(path)
        if poster:
            check = replace(check, poster_path=poster)
            yield player_html(check)
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

    async def speculate(self, request: gr.Request, session: Any, *values: Any) -> None:
        """After the card: upload what Run would send now, in the background, with the key Run
        would use, so Run creates the prediction without waiting for it (issue #22; the Studio
        deletes an upload whose input changed, or that sits unused)."""
        v = dict(zip(self.input_names(), values, strict=False))
        try:
            spec = spec_from(self.ui.tab, v, library=self.studio.library,
                             owner=getattr(session, "owner", None))
        except KlingError:  # the checks say what is wrong with it
            return
        await self.studio.speculate(spec, visitor_token=getattr(session, "key", None),
                                    visitor_id=visitor_id(request,
                                                          self.studio.settings.trusted_proxies))

    async def checking(self, video: Any) -> list[Any]:
        """At once, while a new clip is checked: Run waits, and says why beside it.

        Only for a clip whose card is not known yet: when a clip is set by the page itself
        (Next shot, Edit this, a restore) this instant event can land after the refresh that
        already checked it, and would leave Run disabled behind "Checking" for good. Async, so
        it is answered on the event loop at once, never behind a busy thread pool, and before
        the checks (another listener, with a probe to make) can be.
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
            info(t("fix.done", what=" ".join(done)) if done else t("fix.nothing"))
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

