"""Keep going from a result (issue #14): next shot, edit this, use a frame; sequences; the story.

A result used to be a dead end: to continue, a user downloaded it and uploaded it again. Here a
small row of buttons under each result (a tab's, and the Library's selected run) hands the
run's output, or a frame grabbed from it, to another tab, and remembers in `Session.parents`
the run the next run there continues (`TabHandlers.run` passes it to `Studio.start`).

The Library also gets a sequence joiner (runs picked in order -> `Sequencer.join_clips` -> a
library run of its own via `Studio.keep_derived`) and a "story" line: the chain of parents of
the selected run, oldest first. Files handed to a tab live under the Studio's data folder (the
library's run files, or frames under its `tmp/`), which Gradio is allowed to serve.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from ..core.errors import InputError
from ..core.models import Tab
from ..finishing.sequence import Sequencer
from ..i18n import i18n
from ..i18n import t as _t
from ..library.store import Run
from ..media.frames import shown_time
from ..media.join import SIZES
from .common import esc, goto_tab, guarded, info, is_target
from .visitor import Session, session_owner_filter

NEXT_SHOT_PROMPT = "Based on <<<video_1>>>, generate the next shot."  # Kling's documented use
EDIT_PROMPT = "<<<video_1>>> "
END_FRAME = "frames-end"  # the Frames tab's end frame (its start frame is Tab.FRAMES.value)
FRAME_TARGETS = [(i18n("frame_target.frames"), Tab.FRAMES.value),
                 (i18n("frame_target.frames_end"), END_FRAME),
                 (i18n("frame_target.references"), Tab.REFERENCES.value)]
# What the actions fill, in this order, after the gr.Tabs selector.
SLOTS = [(Tab.FEATURE, "reference_video"), (Tab.FEATURE, "prompt"),
         (Tab.EDIT, "reference_video"), (Tab.EDIT, "prompt"),
         (Tab.FRAMES, "start_image"), (Tab.FRAMES, "end_image"),
         (Tab.REFERENCES, "reference_images"),
         (Tab.FEATURE, "video_start"), (Tab.FEATURE, "video_length")]
STORY_MAX = 20  # parents followed at most (a chain is a tree's path; this guards a loop)
PICKABLE = 100  # newest succeeded runs offered to the sequence joiner


@dataclass
class ContinueUI:
    row: Any
    next_shot: Any
    edit: Any
    at: Any
    back: Any
    forward: Any
    target: Any
    frame: Any


@dataclass
class SequenceUI:
    story: Any
    picks: Any
    crossfade: Any
    join: Any
    order: Any = None  # hidden textbox: the picked run ids, comma-separated, in playing order
    listing: Any = None  # the drag-and-drop list that writes `order`
    box: Any = None  # the joiner's accordion: opening it refreshes the picker
    size: Any = None  # the output size, one of `media.join.SIZES`


# The order list: drag an item (HTML5 drag and drop) or press its ▲/▼ (keyboard); either writes
# the new order into the hidden textbox, which is what the join reads.
ORDER_JS = """
const box = () => document.querySelector('#kling-sequence-order textarea, #kling-sequence-order input');
function commit(moved) {
  const items = Array.from(element.querySelectorAll('.kling-seq-item'));
  items.forEach((li, i) => { const n = li.querySelector('.kling-seq-n'); if (n) n.textContent = (i + 1) + '.'; });
  const t = box();
  if (t) { t.value = items.map(li => li.dataset.id).join(','); t.dispatchEvent(new Event('input', {bubbles: true})); }
  const say = element.querySelector('.kling-seq-say');
  if (say && moved) say.textContent = moved.dataset.label + ': now ' + (items.indexOf(moved) + 1) + ' of ' + items.length;
}
let dragged = null;
element.addEventListener('dragstart', (e) => {
  const li = e.target.closest && e.target.closest('.kling-seq-item');
  if (!li) return;
  dragged = li; li.classList.add('kling-dragging');
  e.dataTransfer.effectAllowed = 'move'; e.dataTransfer.setData('text/plain', li.dataset.id);
});
element.addEventListener('dragover', (e) => {
  if (!dragged) return;
  e.preventDefault();
  const li = e.target.closest && e.target.closest('.kling-seq-item');
  if (!li || li === dragged) return;
  const r = li.getBoundingClientRect();
  li.parentNode.insertBefore(dragged, e.clientY > r.top + r.height / 2 ? li.nextSibling : li);
});
element.addEventListener('drop', (e) => { if (dragged) e.preventDefault(); });
element.addEventListener('dragend', () => {
  if (!dragged) return;
  const li = dragged; dragged = null; li.classList.remove('kling-dragging'); commit(li);
});
element.addEventListener('click', (e) => {
  const b = e.target.closest && e.target.closest('button[data-move]');
  if (!b) return;
  const li = b.closest('.kling-seq-item');
  if (b.dataset.move === 'up' && li.previousElementSibling) li.parentNode.insertBefore(li, li.previousElementSibling);
  else if (b.dataset.move === 'down' && li.nextElementSibling) li.parentNode.insertBefore(li.nextElementSibling, li);
  b.focus();
  commit(li);
});
"""


def build_continue(key: str, *, visible: bool = False) -> ContinueUI:
    """The row of buttons under a result (hidden until there is one, for a tab)."""
    # Three short rows, not one that wraps at random: the two moves, then the frame picker
    # (step back, the time, step on), then where the frame goes and the button that sends it.
    with gr.Column(visible=visible, elem_id=f"{key}-continue", elem_classes=["kling-continue"],
                   variant="panel") as row:
        with gr.Row(equal_height=True):
            next_shot = gr.Button(i18n("next_shot"), min_width=100, elem_id=f"{key}-next-shot")
            edit = gr.Button(i18n("edit_this"), min_width=100, elem_id=f"{key}-edit-this")
        with gr.Row(equal_height=True, elem_classes=["kling-frame-pick"]):
            back = gr.Button(i18n("frame_back"), min_width=80, scale=1,
                             elem_id=f"{key}-frame-back")
            at = gr.Number(value=None, label=i18n("frame_at"), info=i18n("frame_at.info"),
                           precision=None, step=0.001, min_width=120, scale=2,
                           elem_id=f"{key}-frame-at")
            forward = gr.Button(i18n("frame_next"), min_width=80, scale=1,
                                elem_id=f"{key}-frame-next")
        with gr.Row(equal_height=True):
            target = gr.Radio(FRAME_TARGETS, value=Tab.FRAMES.value, label=i18n("frame_target"),
                              min_width=220, scale=3, elem_id=f"{key}-frame-target")
            frame = gr.Button(i18n("use_frame"), min_width=120, scale=1,
                              elem_id=f"{key}-use-frame")
    return ContinueUI(row, next_shot, edit, at, back, forward, target, frame)


def build_sequence() -> SequenceUI:
    """The story line (inside the Library's detail panel) is built here; the joiner after it."""
    story = gr.HTML("", js_on_load=None, elem_id="kling-library-story")
    return SequenceUI(story, None, None, None)


def build_joiner(seq: SequenceUI) -> None:
    with gr.Accordion(i18n("seq.accordion"), open=False, elem_id="kling-sequence") as seq.box:
        seq.picks = gr.Dropdown([], value=[], multiselect=True, label=i18n("seq.picks"),
                                info=i18n("seq.picks.info"),
                                elem_id="kling-sequence-picks")
        # Empty until runs are picked: the picker's change fills it in the page's language.
        seq.listing = gr.HTML("", js_on_load=ORDER_JS, elem_id="kling-sequence-list")
        seq.order = gr.Textbox("", visible="hidden", label="Playing order (run ids)",
                               elem_id="kling-sequence-order")
        with gr.Row():
            seq.crossfade = gr.Slider(0, 1, value=0, step=0.1, label=i18n("seq.crossfade"),
                                      info=i18n("seq.crossfade.info"), min_width=200)
            seq.size = gr.Radio([(i18n(f"seq.size.{s}"), s) for s in SIZES], value=SIZES[0],
                                label=i18n("seq.size"), min_width=200,
                                elem_id="kling-sequence-size")
            seq.join = gr.Button(i18n("seq.join"), variant="primary", min_width=160,
                                 elem_id="kling-sequence-join")


def ordered(picks: list[str] | None, order: str | None) -> list[str]:
    """The picked runs in the shown order: those in `order` first (as ordered), then any picked
    since, in pick order. Ids not picked are dropped."""
    picked = [p for p in (picks or []) if p]
    shown = [i for i in (order or "").split(",") if i in picked]
    return list(dict.fromkeys(shown + picked))


def order_html(runs: list[tuple[str, str]]) -> str:
    """The reorderable list of (run id, label), in playing order."""
    if not runs:
        return f'<p class="kling-note">{esc(_t("seq.order_empty"))}</p>'
    items = "".join(
        f'<li class="kling-seq-item" draggable="true" data-id="{esc(rid)}" data-label="{esc(label)}">'
        f'<span class="kling-seq-n">{i}.</span><span class="kling-seq-label">{esc(label)}</span>'
        f'<button type="button" data-move="up" aria-label="Move {esc(label)} earlier">▲</button>'
        f'<button type="button" data-move="down" aria-label="Move {esc(label)} later">▼</button>'
        "</li>" for i, (rid, label) in enumerate(runs, 1))
    return (f'<p class="kling-note">{esc(_t("seq.order_help"))}</p>'
            f'<ol class="kling-seq-list" aria-label="Playing order">{items}</ol>'
            '<p class="kling-sr kling-seq-say" aria-live="polite"></p>')


def _short(run: Run) -> str:
    label = _t(f"tab.{run.tab}") if run.tab in Tab._value2member_map_ else run.tab
    prompt = run.prompt if len(run.prompt) <= 50 else run.prompt[:47] + "…"
    return f"{label} · {prompt}"


class ContinueHandlers:
    """Plain handlers over the Studio; `outputs` order: the page's goto box, then `SLOTS`."""

    def __init__(self, studio: Any) -> None:
        self.studio = studio
        self.sequencer = Sequencer(studio.files.tmp)  # frames and joins: swept by age

    def _run(self, session: Session, run_id: str | None) -> Run:
        """The run, if this visitor may use it and it has an output to continue from."""
        run = self.studio.library.get(run_id) if run_id else None
        owner = session_owner_filter(self.studio, session)
        if run is None or (owner is not None and run.owner != owner):
            raise InputError(_t("error.not_in_library"))
        if run.status != "succeeded" or not run.output or not Path(run.output).is_file():
            raise InputError(_t("cont.no_video"))
        return run

    @staticmethod
    def _fill(session: Session, run: Run, tab: Tab, values: dict[str, Any],
              what: str) -> list[Any]:
        """Select `tab` and set the slots named in `values` (the tab's others are kept)."""
        session.parents[tab.value] = run.id  # the next run there continues this one
        info(_t("cont.filled", what=what, tab=_t(f"tab.{tab.value}")))
        return [goto_tab(tab.value),
                *[values.get(name, gr.skip()) if t is tab else gr.skip() for t, name in SLOTS]]

    def next_shot(self, session: Session, run_id: str | None) -> list[Any]:
        run = self._run(session, run_id)
        duration = float(run.output_facts.get("duration") or 0.0)
        start, length = next_shot_window(duration)
        return self._fill(session, run, Tab.FEATURE, {
            "reference_video": run.output, "prompt": NEXT_SHOT_PROMPT,
            "video_start": gr.Slider(value=start, maximum=max(0.1, duration - 3.0)),
            "video_length": length}, _t("cont.the_clip"))

    def edit_this(self, session: Session, run_id: str | None) -> list[Any]:
        run = self._run(session, run_id)
        return self._fill(session, run, Tab.EDIT, {
            "reference_video": run.output, "prompt": EDIT_PROMPT}, _t("cont.the_clip"))

    async def use_frame(self, session: Session, run_id: str | None, at: float | None,
                        target: str) -> list[Any]:
        run = self._run(session, run_id)
        assert run.output  # noqa: S101 - _run refuses a run without one
        # A negative time counts from the end; no time at all is the last frame.
        grabbed = await self.sequencer.grab_frame(run.output, -0.0 if at is None else float(at))
        what = f"Frame {grabbed.index} ({grabbed.time:.2f} s)"
        if target == END_FRAME:  # the start frame already there stays: the clip lands here
            return self._fill(session, run, Tab.FRAMES, {"end_image": grabbed.path}, what)
        tab = Tab(target) if target in (Tab.FRAMES.value, Tab.REFERENCES.value) else Tab.FRAMES
        return self._fill(session, run, tab, {
            "start_image": grabbed.path, "reference_images": [grabbed.path]},
            _t("cont.frame", index=grabbed.index, time=grabbed.time))

    async def step(self, session: Session, run_id: str | None, at: float | None,
                   frames: int) -> float:
        """The time of the frame `frames` away from the one at `at` (empty: the last)."""
        run = self._run(session, run_id)
        assert run.output  # noqa: S101 - _run refuses a run without one
        clock = await self.sequencer.frame_clock(run.output)
        return shown_time(clock.step(-0.0 if at is None else float(at), frames))

    async def last_frame(self, session: Session, run_id: str | None) -> Any:
        """The picker starts on the run's last frame (nothing for a run without a video)."""
        try:
            run = self._run(session, run_id)
        except InputError:
            return gr.skip()
        assert run.output  # noqa: S101 - _run refuses a run without one
        clock = await self.sequencer.frame_clock(run.output)
        return shown_time(clock.time_of(clock.last))

    async def shown(self, session: Session, key: str) -> list[Any]:
        """The tab's row shows only under a finished result, its picker on the last frame."""
        run = self.studio.library.get(session.watching.get(key, ""))
        ok = bool(run and run.status == "succeeded" and run.output)
        at = await self.last_frame(session, run.id) if run is not None and ok else gr.skip()
        return [gr.Column(visible=ok), at]

    # -- the Library: story and sequences ---------------------------------------------------

    def story(self, session: Session, run_id: str) -> str:
        chain: list[Run] = []
        run = self.studio.library.get(run_id) if run_id else None
        owner = session_owner_filter(self.studio, session)
        while run is not None and len(chain) < STORY_MAX and run.id not in {r.id for r in chain}:
            if owner is not None and run.owner != owner:
                break
            chain.append(run)
            run = self.studio.library.get(run.parent_id) if run.parent_id else None
        if len(chain) < 2:
            return ""
        steps = " → ".join(f"<span>{esc(_short(r))}</span>" for r in reversed(chain))
        return (f'<p class="kling-note kling-story"><b>{esc(_t("cont.story"))}</b> {steps} '
                f'{esc(_t("cont.this_run"))}</p>')

    def choices(self, session: Session) -> Any:
        runs = self.studio.library.runs(owner=session_owner_filter(self.studio, session),
                                        status="succeeded", limit=PICKABLE)
        return gr.Dropdown(choices=[(f"{_short(r)} · {r.id[:6]}", r.id) for r in runs])

    def order(self, session: Session, picks: list[str] | None, order: str | None) -> list[Any]:
        """After the picks change: the order kept (new picks last) and its list."""
        owner = session_owner_filter(self.studio, session)
        labels = []
        for rid in ordered(picks, order):
            run = self.studio.library.get(rid)
            if run is not None and (owner is None or run.owner == owner):
                labels.append((rid, f"{_short(run)} · {rid[:6]}"))
        return [",".join(rid for rid, _ in labels), order_html(labels)]

    async def join(self, session: Session, picks: list[str] | None,
                   crossfade: float | None, order: str | None = None,
                   size: str | None = None) -> str:
        """Join the picked runs in the shown order at the picked output size (`SIZES`; the first
        clip's by default); returns the new run's id (the Library then shows it)."""
        runs = [self._run(session, p) for p in ordered(picks, order)]
        if len(runs) < 2:
            raise InputError(_t("cont.pick_two"))
        joined = await self.sequencer.join_clips([str(r.output) for r in runs],
                                                 crossfade=float(crossfade or 0.0),
                                                 output=size or SIZES[0])
        kept = await self.studio.keep_derived(
            runs[0].id, joined.path, original=None, original_label="", what="sequence",
            note=f"Sequence of {len(runs)} runs")
        # The clips in playing order (the run's parent is the first): the story of a sequence.
        self.studio.library.update(kept.run_id, metrics={"sequence": [r.id for r in runs]})
        info(_t("cont.joined", n=len(runs), secs=joined.duration))
        return str(kept.run_id)


def next_shot_window(duration: float) -> tuple[float, float]:
    """(start, length) of the window Next shot sends: the clip's last 10 s (issue #24: the next
    shot follows the end of a 20 s clip, not its first 10 s), on the sliders' 0.1 s steps."""
    if duration <= 10.0:
        return 0.0, 10.0
    return math.floor((duration - 10.0) * 10) / 10, 10.0


def wire_continue(ui: ContinueUI, handlers: ContinueHandlers, session: Any, *,
                  outputs: list[Any], source: Any = None, key: str = "") -> None:
    """Connect one row. The run is the library's selected one (`source`, a gr.State of its id)
    or, for a tab's row (`key`), the run that tab shows (`Session.watching`)."""
    private = {"api_visibility": "private", "show_progress": "hidden"}

    def bind(fn: Callable[..., Any]) -> Callable[..., Any]:
        if source is not None:
            return guarded(fn)

        async def from_tab(s: Session, *args: Any) -> Any:
            out = fn(s, s.watching.get(key, ""), *args)
            return (await out) if inspect.isawaitable(out) else out

        return guarded(from_tab)

    # Buttons with the same inputs and outputs share one listener, told which was clicked by
    # the event's target: every listener costs the page's start (issue #23).
    # (By elem_id: the target's Gradio id is not the one the button had when this was wired.)

    def move(s: Session, run_id: str | None, evt: gr.EventData) -> list[Any]:
        fn = handlers.edit_this if is_target(evt, ui.edit) else handlers.next_shot
        return list(fn(s, run_id))

    async def step(s: Session, run_id: str | None, at: float | None,
                   evt: gr.EventData) -> float:
        return await handlers.step(s, run_id, at, -1 if is_target(evt, ui.back) else 1)

    def move_tab(s: Session, evt: gr.EventData) -> list[Any]:
        return move(s, s.watching.get(key, ""), evt)

    async def step_tab(s: Session, at: float | None, evt: gr.EventData) -> float:
        return await step(s, s.watching.get(key, ""), at, evt)

    run_in = [session] + ([source] if source is not None else [])
    if source is not None:
        source.change(guarded(handlers.last_frame), inputs=run_in, outputs=[ui.at], **private)
    gr.on([ui.next_shot.click, ui.edit.click], guarded(move if source is not None else move_tab),
          inputs=run_in, outputs=outputs, **private)
    ui.frame.click(bind(handlers.use_frame), inputs=[*run_in, ui.at, ui.target], outputs=outputs,
                   api_visibility="private", show_progress="hidden")
    gr.on([ui.back.click, ui.forward.click], guarded(step if source is not None else step_tab),
          inputs=[*run_in, ui.at], outputs=[ui.at], **private)


def show_after(ui: ContinueUI, handlers: ContinueHandlers, session: Any, key: str,
               *events: Any) -> None:
    """After each event (a tab's run, a page reattaching to it) the row follows the result."""
    async def shown(s: Session) -> list[Any]:
        return await handlers.shown(s, key)

    for event in events:
        event.then(guarded(shown), inputs=[session], outputs=[ui.row, ui.at],
                   api_visibility="private", show_progress="hidden")


def wire_sequence(seq: SequenceUI, handlers: ContinueHandlers, session: Any, *, ids: Any,
                  selected: Any, show: Callable[..., Any], show_outputs: list[Any],
                  flying: Any = None) -> Any:
    """The story follows the selected run; the picker follows the listing; a join shows the
    new run (`show(session, run_id)` renders the detail panel into `show_outputs`).

    The picker offers succeeded runs only, so the listing's ids alone are not enough to follow:
    a run listed while it ran keeps its id when it succeeds (Gradio fires a State's change only
    when its value changes), and a run made elsewhere (another tab, the API) can end between two
    ticks of the Library's timer. So the picker also refreshes when the in-flight count
    (`flying`) changes and whenever the joiner is opened."""
    private = {"api_visibility": "private", "show_progress": "hidden"}
    selected.change(guarded(handlers.story), inputs=[session, selected], outputs=[seq.story],
                    **private)
    triggers = [ids.change] + ([flying.change] if flying is not None else [])
    triggers += [seq.box.expand] if seq.box is not None else []
    gr.on(triggers, guarded(handlers.choices), inputs=[session], outputs=[seq.picks],
          trigger_mode="always_last", **private)
    seq.picks.change(guarded(handlers.order), inputs=[session, seq.picks, seq.order],
                     outputs=[seq.order, seq.listing], **private)
    joined = seq.join.click(guarded(handlers.join),
                            inputs=[session, seq.picks, seq.crossfade, seq.order, seq.size],
                            outputs=[selected], api_visibility="private",
                            show_progress="minimal")
    return joined.success(guarded(show), inputs=[session, selected], outputs=show_outputs,
                          **private)
