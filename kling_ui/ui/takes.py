"""Takes (issue #14): 1-4 runs of the same settings at once, side by side; the user keeps one.

Kling O1 has no seed, so each take of one prompt differs. The Takes control sits with a tab's
quality settings; with more than one take the cost line says "3 takes × $0.84 = $2.52" and the
Run button "Run 3 takes ($2.52)". Above the host's KLING_TAKES_CONFIRM_USD the first press only
arms the button ("… - confirm"); the second press runs. Any change to the tab's settings disarms.

Each take is its own library run, started through `Studio.start` like a single run, so each goes
through the same runner and is admitted by the Guard on its own: when only two of three fit in a
visitor's limits, the third says why it was refused. The takes share a group id, kept in each
run's metrics (`metrics["takes"] = {"group", "index", "of"}`), and the chosen one gets
`metrics["keeper"] = True`; the Library shows both as a badge. Metrics rather than a new column:
a group is looked up only to mark its keeper (a few rows, by `json_extract`), and the schema's
numbered migrations stay free for data the library must index or sort by.

The grid replaces the tab's single result while takes run: one column per take, its status while
it runs, then its player and a "Keep this take" button.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from ..core.errors import InputError, KlingError, PredictionError
from ..core.jobs import JobSpec
from ..i18n import i18n
from ..i18n import t as _t
from ..library.store import Run
from .common import (
    RUN_STATE,
    Changes,
    esc,
    file_url,
    guarded,
    info,
    is_target,
    line_text,
    progress_html,
    stage_text,
    status_text,
)
from .visitor import Session, session_owner_filter, visitor_id

log = logging.getLogger(__name__)

MAX_TAKES = 4
WATCH_EVERY = 0.5  # seconds between looks at the takes (the page hears only of changes)


def take_count(value: Any) -> int:
    """The Takes control's value as 1-4 (anything else: 1, the tab as it always was)."""
    try:
        n = int(value)
    except (TypeError, ValueError):
        return 1
    return n if 1 <= n <= MAX_TAKES else 1


def takes_total(n: int, cost_usd: float) -> float:
    return round(n * cost_usd, 2)


def needs_confirm(n: int, cost_usd: float, threshold: float) -> bool:
    return n > 1 and takes_total(n, cost_usd) > threshold + 1e-9


def cost_line(cost_text: str, cost_usd: float, n: int, threshold: float) -> str:
    """The cost line beside Run: the estimate, or N x the estimate for several takes."""
    if n <= 1 or cost_usd <= 0:
        return f"**{cost_text}**"
    line = _t("takes.cost", n=n, each=cost_usd, total=takes_total(n, cost_usd), cost=cost_text)
    if needs_confirm(n, cost_usd, threshold):
        line += _t("takes.confirm_above", threshold=threshold)
    return line


def run_label(n: int, cost_usd: float, *, armed: bool = False) -> str:
    if n <= 1:
        return _t("run")
    label = _t("takes.run", n=n)
    if cost_usd > 0:
        label += f" (${takes_total(n, cost_usd):.2f})"
    return label + (_t("takes.confirm") if armed else "")


def take_badge(run: Run) -> str:
    """"★ Keeper · take 2/3" for a library run that was one of several takes ("" otherwise)."""
    takes = run.metrics.get("takes") if isinstance(run.metrics, dict) else None
    if not isinstance(takes, dict):
        return ""
    where = {"index": takes.get("index", "?"), "of": takes.get("of", "?")}
    return _t("takes.badge_keeper" if run.metrics.get("keeper") else "takes.badge", **where)


# -- layout ------------------------------------------------------------------------------------

@dataclass
class TakesUI:
    """The grid shown where a tab's result is while (and after) several takes run."""

    panel: Any
    cols: list[Any]
    slots: list[Any]
    keep: list[Any]

    @property
    def outputs(self) -> list[Any]:
        return [self.panel, *self.cols, *self.slots, *self.keep]


def build_count(key: str) -> gr.Radio:
    """The Takes control (1-4), beside the quality settings."""
    return gr.Radio([1, 2, 3, 4], value=1, label=i18n("takes"), min_width=150,
                    info=i18n("takes.info"), elem_id=f"{key}-takes")


def build_takes(key: str) -> TakesUI:
    """The takes grid (hidden until several takes run); call where the result panel is."""
    cols, slots, keep = [], [], []
    with (gr.Column(visible=False, elem_id=f"{key}-takes-panel",
                    elem_classes=["kling-takes"]) as panel,
          gr.Row(equal_height=False, elem_classes=["kling-takes-grid"])):
        for i in range(1, MAX_TAKES + 1):
            # 160 px: three takes fit side by side in the result's column on a desktop.
            with gr.Column(visible=False, min_width=160, elem_id=f"{key}-take-{i}",
                           elem_classes=["kling-take-col"]) as col:
                slots.append(gr.HTML("", js_on_load=None))
                keep.append(gr.Button(i18n("takes.keep"), visible=False, size="sm",
                                      elem_id=f"{key}-keep-{i}"))
            cols.append(col)
    return TakesUI(panel, cols, slots, keep)


# -- one take's state --------------------------------------------------------------------------

@dataclass(frozen=True)
class TakeView:
    index: int
    of: int
    state: str  # running | canceling | done | failed | canceled
    text: str
    fraction: float | None = None
    output: str | None = None
    poster: str | None = None
    keeper: bool = False

    @property
    def final(self) -> bool:
        return self.state in ("done", "failed", "canceled")


def slot_html(view: TakeView) -> str:
    badge = (f' <span class="kling-take-keeper">{esc(_t("takes.keeper"))}</span>'
             if view.keeper else "")
    name = esc(_t("takes.head", index=view.index, of=view.of))
    head = (f'<div class="kling-take-head"><b>{name}</b> · '
            f'<span class="kling-take-status">{esc(view.text)}</span>{badge}</div>')
    if view.state == "done" and view.output:
        poster = f' poster="{file_url(view.poster)}"' if view.poster else ""
        body = (f'<video class="kling-take-video" src="{file_url(view.output)}"{poster} controls '
                f'loop muted playsinline preload="metadata" '
                f'aria-label="{name}"></video>')
    else:
        bar = ""
        if view.fraction is not None and not view.final:
            pct = max(0.0, min(1.0, view.fraction)) * 100
            bar = f'<div class="kling-bar"><span style="width:{pct:.0f}%"></span></div>'
        icon = {"failed": "✗", "canceled": "■"}.get(view.state, "◷")
        body = f'<div class="kling-take-wait">{icon} {esc(view.text)}{bar}</div>'
    return (f'<div class="kling-take kling-take-{view.state}" data-take="{view.index}">'
            f"{head}{body}</div>")


def _failure_text(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, PredictionError) and exc.status == "canceled":
        return "canceled", status_text("canceled")
    if isinstance(exc, PredictionError):
        return "failed", _t("status.failed_msg", message=exc.message)
    if isinstance(exc, KlingError):
        return "failed", _t("status.not_run", message=exc.message)
    return "failed", _t("status.failed_unexpected")


@dataclass
class TakeGroup:
    """One press of Run with several takes. A take not started yet has no run id: it waits for
    a free place in the Studio's pool (KLING_CONCURRENCY jobs at once)."""

    group: str
    run_ids: list[str | None]
    started: float
    canceled: bool = False


class TakesHandlers:
    """Start, watch, cancel and keep one tab's takes. Per browser session (weakly: a closed
    page's entries go with its Session), never in the Session itself."""

    def __init__(self, studio: Any, tab_key: str, *, has_finish: bool) -> None:
        self.studio = studio
        self.key = tab_key
        self.has_finish = has_finish
        # What a confirmation was asked for: the count, the total and the settings. Another
        # setting asks again (this replaced a listener on every control: issue #23).
        self._armed: weakref.WeakKeyDictionary[Session, tuple[int, float, JobSpec]] = (
            weakref.WeakKeyDictionary())
        self._groups: weakref.WeakKeyDictionary[Session, TakeGroup] = weakref.WeakKeyDictionary()

    @property
    def threshold(self) -> float:
        return float(getattr(self.studio.settings, "takes_confirm_usd", 2.0))

    def cancel(self, session: Session) -> bool:
        """Cancel every take still running; True when there was one."""
        group = self._groups.get(session)
        if group is None:
            return False
        waiting = any(rid is None for rid in group.run_ids) and not group.canceled
        group.canceled = True  # takes still waiting for a place never start
        return any([self.studio.cancel_run(rid) for rid in group.run_ids if rid]) or waiting

    def _start_waiting(self, group: TakeGroup, start: Any) -> None:
        """Start the group's takes. Each is one job like any run: it joins the Studio's line
        (kling_ui.runs.pool) and waits there for one of KLING_CONCURRENCY slots, showing its place."""
        for i, rid in enumerate(group.run_ids):
            if rid is not None or group.canceled:
                continue
            group.run_ids[i] = start(i + 1)

    def _view(self, run_id: str | None, index: int, of: int, canceled: bool = False) -> TakeView:
        if run_id is None:
            if canceled:
                return TakeView(index, of, "canceled", _t("takes.canceled_before"))
            return TakeView(index, of, "running", _t("takes.waiting"))
        handle = self.studio.handle(run_id)
        if handle is not None and not handle.done:
            p = handle.progress
            if handle.cancel_requested:
                return TakeView(index, of, "canceling", _t("title.canceling"))
            text = stage_text(p.stage) if p else _t("stage.queued")
            if p is not None and p.stage == "queued" and p.position is not None:
                text = line_text(p.position, p.wait,  # its place in the Studio's line
                                 late=float(p.extra.get("late") or 0.0),  # type: ignore[arg-type]
                                 waited=float(p.extra.get("waited") or 0.0))  # type: ignore[arg-type]
            if p is not None and p.fraction is not None:
                text += f" {max(0.0, min(1.0, p.fraction)) * 100:.0f}%"
            return TakeView(index, of, "running", text, p.fraction if p else None)
        if handle is not None:
            result, exc = handle.outcome()
            if exc is not None:
                state, text = _failure_text(exc)
                if not isinstance(exc, KlingError):
                    log.error("take %s ended with an unexpected error", run_id, exc_info=exc)
                return TakeView(index, of, state, text)
        run = self.studio.library.get(run_id)
        if run is None:
            return TakeView(index, of, "running" if handle is None else "failed",
                            _t("stage.queued") if handle is None else _t("takes.gone"))
        state = RUN_STATE.get(run.status, "running")
        text = status_text(run.status)
        if run.error and state != "running":
            text = f"{text}: {run.error}"
        ok = state == "done" and bool(run.output) and Path(str(run.output)).is_file()
        return TakeView(index, of, state, text, run.fraction, run.output if ok else None,
                        run.poster, bool(run.metrics.get("keeper")))

    def _views(self, group: TakeGroup) -> list[TakeView]:
        n = len(group.run_ids)
        return [self._view(rid, i, n, group.canceled) for i, rid in enumerate(group.run_ids, 1)]

    @staticmethod
    def _grid(views: list[TakeView], *, first: bool) -> list[Any]:
        """[panel, cols, slots, keep] for the grid."""
        n = len(views)
        cols = ([gr.Column(visible=i < n) for i in range(MAX_TAKES)] if first
                else [gr.skip()] * MAX_TAKES)
        slots = [slot_html(v) for v in views] + [""] * (MAX_TAKES - n)
        keep = []
        for v in views:
            if v.state == "done" and v.output:
                keep.append(gr.Button(_t("takes.keeper") if v.keeper else _t("takes.keep"),
                                      variant="primary" if v.keeper else "secondary",
                                      visible=True))
            else:
                keep.append(gr.Button(visible=False))
        keep += [gr.Button(visible=False)] * (MAX_TAKES - n)
        return [gr.Column(visible=True) if first else gr.skip(), *cols, *slots, *keep]

    def hidden(self) -> list[Any]:
        """The grid's outputs for a single run: hidden, as the tab always was."""
        return [gr.Column(visible=False), *[gr.skip()] * (3 * MAX_TAKES)]

    def _head(self, progress: str, *, first: bool, last: bool = False) -> list[Any]:
        """The tab's own run outputs (progress, compare, facts, download, summary, finish)."""
        if not first:
            rest = [gr.skip()] * (4 + int(self.has_finish))
            if last and self.has_finish:
                rest[-1] = None  # the finishing panel follows one result: there is none here
            return [progress, *rest]
        # The single result's placeholder goes while the takes are the result.
        return [progress, "", "", gr.File(value=None, visible=False),
                gr.JSON(value=None, visible=False), *([None] if self.has_finish else [])]

    async def run(self, request: gr.Request, session: Session, spec: JobSpec,
                  n: int) -> AsyncIterator[list[Any]]:
        """Start `n` takes (after a confirmation above the threshold) and watch them all.

        Yields the tab's run outputs, then the grid's, then the Run button."""
        pre = await self.studio.preflight(spec)
        total = takes_total(n, pre.cost_usd)
        skip_grid = [gr.skip()] * (1 + 3 * MAX_TAKES)
        if needs_confirm(n, pre.cost_usd, self.threshold) and self._armed.get(session) != (
                n, total, spec):
            self._armed[session] = (n, total, spec)
            note = _t("takes.confirm_note", n=n, total=total, threshold=self.threshold)
            # Not a run status (no tab title): a question, beside the button it is about.
            yield [f'<div class="kling-checks"><p class="kling-warn" role="status">⚠ {esc(note)}'
                   "</p></div>",
                   *[gr.skip()] * (4 + int(self.has_finish)), *skip_grid,
                   gr.Button(value=run_label(n, pre.cost_usd, armed=True))]
            return
        self._armed.pop(session, None)
        parent = session.parents.pop(self.key, None)
        group = TakeGroup(secrets.token_hex(8), [None] * n, time.monotonic())

        def start(index: int) -> str:
            handle = self.studio.start(
                spec, visitor_token=session.key,
                visitor_id=visitor_id(request, self.studio.settings.trusted_proxies),
                owner=session.run_owner(), parent_id=parent,
                takes={"group": group.group, "index": index, "of": n})
            return str(handle.run_id)

        self._start_waiting(group, start)
        self._groups[session] = group
        session.watching[self.key] = str(group.run_ids[0])
        label = gr.Button(value=run_label(n, pre.cost_usd))
        first = True
        changes = Changes()  # a message only when a take's state changes
        while True:
            self._start_waiting(group, start)
            views = self._views(group)
            done = all(v.final for v in views)
            summary = self._summary(views, group, done)
            if changes.new(summary, *views):
                yield [*self._head(summary, first=first, last=done),
                       *self._grid(views, first=first), label if first else gr.skip()]
                first = False
            if done:
                return
            await asyncio.sleep(WATCH_EVERY)

    async def reattach(self, session: Session, run_id: str | None) -> AsyncIterator[list[Any]]:
        """On page load: when the tab's latest run is a take, its group's grid again (followed
        while any take runs), so a reload can still mark the keeper. The grid's outputs.

        `run_id` is the tab's latest run, as the page found it (page.latest_id)."""
        owner = session_owner_filter(self.studio, session)
        latest = self.studio.library.get(run_id) if run_id else None
        takes = latest.metrics.get("takes") if latest is not None else None
        if not isinstance(takes, dict) or not takes.get("group"):
            yield self.hidden()
            return
        runs = [r for r in self.studio.library.takes(str(takes["group"]))
                if owner is None or r.owner == owner]
        group = TakeGroup(str(takes["group"]), [r.id for r in runs], time.monotonic())
        self._groups[session] = group
        first = True
        changes = Changes()
        while True:
            views = self._views(group)
            if changes.new(*views):
                yield self._grid(views, first=first)
                first = False
            if all(v.final for v in views):
                return
            await asyncio.sleep(WATCH_EVERY)

    @staticmethod
    def _summary(views: list[TakeView], group: TakeGroup, done: bool) -> str:
        n = len(views)
        elapsed = time.monotonic() - group.started
        ok = sum(v.state == "done" for v in views)
        if not done:
            canceling = any(v.state == "canceling" for v in views)
            return progress_html(None, elapsed, state="canceling" if canceling else "running",
                                 message=_t("takes.progress", n=n, ok=ok, running=n - ok))
        if ok == n:
            message = _t("takes.all_done", n=n)
        elif ok:
            message = _t("takes.some_done", ok=ok, n=n)
        else:
            message = _t("takes.none_done", n=n)
        state = "done" if ok else ("canceled" if all(v.state == "canceled" for v in views)
                                   else "failed")
        return progress_html(None, elapsed, state=state, message=message)

    def keep(self, session: Session, index: int) -> list[Any]:
        """Mark take `index` (1-based) the keeper of this page's latest takes."""
        group = self._groups.get(session)
        if group is None or not 1 <= index <= len(group.run_ids):
            raise InputError(_t("takes.gone_page"))
        run_id = group.run_ids[index - 1]
        run = self.studio.library.get(run_id) if run_id else None
        if run is None or run.status != "succeeded":
            raise InputError(_t("takes.no_video", index=index))
        self.studio.library.set_keeper(group.group, run.id)
        session.watching[self.key] = run.id  # Next shot and the like continue from the keeper
        info(_t("takes.kept", index=index))
        return self._grid(self._views(group), first=False)[1 + MAX_TAKES:]


def wire_takes(ui: TakesUI, handlers: TakesHandlers, session: Any, *,
               after: tuple[Any, list[Any], list[Any]] | None = None) -> None:
    """Keep buttons (then `after` = (fn, inputs, outputs): the Library shows the new keeper).
    A pending confirmation holds for the settings it was asked for only (`TakesHandlers.run`)."""
    private = {"api_visibility": "private", "show_progress": "hidden"}
    # One listener for the Keep buttons, told which was clicked by the event's target: every
    # listener costs the page's start, 8 of them per tab did (issue #23).
    # (By elem_id: the target's Gradio id is not the one the button had when this was wired.)

    def keep(session: Session, evt: gr.EventData) -> list[Any]:
        index = next((i for i, btn in enumerate(ui.keep, 1) if is_target(evt, btn)), 0)
        return handlers.keep(session, index)

    kept = gr.on([btn.click for btn in ui.keep], guarded(keep), inputs=[session],
                 outputs=[*ui.slots, *ui.keep], **private)
    if after is not None:
        kept.success(after[0], inputs=after[1], outputs=after[2], **private)
