"""The Library tab: every run this visitor made (or, in a single-user Studio, every run), kept.

A grid of posters with mode, status (live while running), cost, date and prompt; filters by mode
and status and a prompt search; per run: play beside its original, download, restore into its
tab, export a zip, delete. Dropping a Studio MP4 (settings in its comment tag) restores its
settings. Handlers only ask the Studio's library; a visitor can touch only their own runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import gradio as gr

from ..core.errors import InputError
from ..core.models import Tab
from ..core.profile import DEFAULT_PROFILE, profile_for_replicate
from ..i18n import current_lang, i18n
from ..i18n import t as _t
from ..library.results import result_from_run
from ..library.store import IN_FLIGHT, TERMINAL, Run
from ..media.motion import verdict
from .common import (
    esc,
    facts_html,
    goto_tab,
    guarded,
    info,
    run_cost,
    run_progress_html,
    status_text,
)
from .compare import compare_html
from .continue_ import ContinueUI, SequenceUI, build_continue, build_joiner, build_sequence
from .edge import own_upload
from .share import ShareUI, build_share
from .tab_layout import ASSETS, spec_values
from .tabs import TabHandlers
from .takes import take_badge
from .visitor import Session, session_owner_filter

SHOWN = 60  # runs in the grid at once (newest first); the filters find older ones
POSTER_RUNNING = str(ASSETS / "poster-running.png")
POSTER_ENDED = str(ASSETS / "poster-ended.png")
MODES = [(i18n("lib.all_modes"), "")] + [(i18n(f"tab.{t.value}"), t.value) for t in Tab]
STATUSES = [(i18n("lib.any_status"), ""), (i18n("lib.running"), "running"),
            (i18n("lib.done"), "succeeded"), (i18n("lib.ended"), "ended")]


@dataclass
class LibraryUI:
    totals: Any
    mode: Any
    status: Any
    search: Any
    gallery: Any
    ids: Any
    selected: Any
    detail: Any
    heading: Any
    compare: Any
    facts: Any
    restore: Any
    download: Any
    export: Any
    export_file: Any
    delete: Any
    confirm_delete: Any
    drop: Any
    timer: Any
    flying: Any
    more: ContinueUI | None = None  # next shot, edit this, use a frame (issue #14)
    sequence: SequenceUI | None = None  # the story line and the sequence joiner (issue #14)
    share: ShareUI | None = None  # the Share panel (issue #26)


def build_library(*, admin: bool = False) -> LibraryUI:
    """Lay out the Library tab (call inside a gr.Tab); `admin`: the showcase fold too."""
    totals = gr.Markdown("", elem_id="kling-library-totals", elem_classes=["kling-totals"])
    with gr.Row(elem_classes=["kling-library-filters"]):
        mode = gr.Dropdown(MODES, value="", label=i18n("lib.mode"), min_width=160, scale=1)
        status = gr.Dropdown(STATUSES, value="", label=i18n("lib.status"), min_width=160, scale=1)
        search = gr.Textbox(label=i18n("lib.search"), placeholder=i18n("lib.search.placeholder"), min_width=200,
                            scale=2, elem_id="kling-library-search")
    gallery = gr.Gallery(label=i18n("lib.runs"), columns=4, height="auto", allow_preview=False,
                         interactive=False, object_fit="cover", elem_id="kling-library-gallery",
                         buttons=[])
    ids = gr.State([])
    selected = gr.State("")
    flying = gr.State(0)
    with gr.Column(visible=False, elem_id="kling-library-detail") as detail:
        heading = gr.HTML("", js_on_load=None)
        compare = gr.HTML("", js_on_load=None, elem_id="kling-library-compare")
        facts = gr.HTML("", js_on_load=None)
        sequence = build_sequence()
        more = build_continue("library", visible=True)
        share = build_share("library", visible=True, admin=admin)
        with gr.Row(elem_classes=["kling-library-actions"]):
            restore = gr.Button(i18n("lib.restore"), variant="primary", min_width=150)
            download = gr.DownloadButton(i18n("lib.download"), min_width=140,
                                         elem_id="kling-library-download")
            export = gr.Button(i18n("lib.export"), min_width=110, elem_id="kling-library-export")
            delete = gr.Button(i18n("lib.delete"), variant="stop", min_width=90)
            confirm_delete = gr.Button(i18n("lib.confirm_delete"), variant="stop",
                                       visible=False, min_width=160)
        export_file = gr.File(label=i18n("lib.export_file"), visible=False,
                              interactive=False)
    build_joiner(sequence)
    with gr.Accordion(i18n("lib.from_file"), open=False):
        gr.Markdown(i18n("lib.from_file.help"), elem_classes=["kling-note"])
        drop = gr.File(label=i18n("lib.drop"), file_types=[".mp4", ".mov"],
                       height=90, elem_id="kling-library-drop")
    # Off until something runs: every tick is a message the page pays for (see ui.common.Changes),
    # so it ticks only while a run is in flight. A run started here turns it on (wire_tab);
    # the listing turns it off once nothing runs.
    timer = gr.Timer(2.0, active=False)
    return LibraryUI(totals, mode, status, search, gallery, ids, selected, detail, heading,
                     compare, facts, restore, download, export, export_file, delete,
                     confirm_delete, drop, timer, flying, more, sequence, share)


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _label(run: Run) -> str:
    """What the run is: its mode, or what was made from a run (a splice, a sequence: issue #24
    filed a sequence as "Edit video"); and its model when it is not the default one (#25)."""
    derived = run.settings.get("derived")
    if derived in ("splice", "sequence"):
        return _t(f"lib.kind.{derived}")
    label = _t(f"tab.{run.tab}") if run.tab in Tab._value2member_map_ else run.tab
    profile = profile_for_replicate(run.model)
    return label if profile is None or profile.id == DEFAULT_PROFILE else (
        f"{label} · {profile.name}")


def detail_notes(run: Run, children: list[Run]) -> str:
    """Under a run's facts in the Library: its motion report's verdict, and the runs made from
    it (next shots, splices, sequences), newest last (issue #24)."""
    lines: list[str] = []
    figures = run.metrics.get("motion")
    if isinstance(figures, dict) and "score" in figures:
        said = verdict(figures, current_lang())
        lines.append(_t("lib.motion", verdict=said[:1].upper() + said[1:],
                        score=float(figures["score"])))
    if children:
        items = ", ".join(f"{_label(c)} · {_when(c.created_at)}" for c in children)
        lines.append(_t("lib.children", n=len(children), items=items))
    return "".join(f'<p class="kling-note">{esc(line)}</p>' for line in lines)


def _status(run: Run) -> str:
    status = status_text(run.status)
    if run.in_flight and run.fraction is not None:
        status += f" {run.fraction:.0%}"
    return status


CAPTION_PROMPT = 80  # characters of the prompt on a caption; the whole is in the opened run


def _caption(run: Run) -> str:
    """Two short lines on the poster: how it went (status, mode, cost, when), then the prompt's
    start, cut at a word with an ellipsis. The page clamps it to whole lines (studio.css); the
    opened run shows the whole prompt (issue #23: captions were cut mid-line)."""
    badge = take_badge(run)  # "★ Keeper · take 2/3" (issue #14)
    return (f"{badge + ' · ' if badge else ''}{_status(run)} · {_label(run)} · {run_cost(run)} · "
            f"{_when_short(run.created_at)}\n{shorten(run.prompt, CAPTION_PROMPT)}")


def _when_short(ts: float, now: float | None = None) -> str:
    """When, as a caption says it: the time (UTC) for a run of today, else the day; the opened
    run says it whole."""
    day = datetime.fromtimestamp(ts, tz=timezone.utc)
    today = datetime.fromtimestamp(time.time() if now is None else now, tz=timezone.utc)
    return day.strftime("%H:%M") if day.date() == today.date() else day.strftime("%Y-%m-%d")


def shorten(text: str, limit: int) -> str:
    """`text` on one line, at most `limit` characters: cut at the last space in its second half
    (Chinese has none: cut at the limit) and ended with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:，。；：、") + "…"


def _poster(run: Run) -> str:
    if run.poster and Path(run.poster).is_file():
        return run.poster
    return POSTER_RUNNING if run.in_flight else POSTER_ENDED


class LibraryHandlers:
    def __init__(self, studio: Any, tabs: dict[Tab, TabHandlers]) -> None:
        self.studio = studio
        self.tabs = tabs

    @property
    def library(self) -> Any:
        return self.studio.library

    def _own(self, session: Session, run_id: str) -> Run:
        """The run, if this visitor may see it; else a clear refusal."""
        run = self.library.get(run_id) if run_id else None
        owner = session_owner_filter(self.studio, session)
        if run is None or (owner is not None and run.owner != owner):
            raise InputError(_t("error.not_in_library"))
        return run

    def render(self, session: Session, mode: str, status: str, search: str) -> list[Any]:
        """Totals, the grid (newest first), the ids behind it, how many run, and the timer
        (ticking while any does)."""
        owner = session_owner_filter(self.studio, session)
        wanted: Any = {"running": IN_FLIGHT, "ended": tuple(s for s in TERMINAL if s != "succeeded")
                       }.get(status, status or None)
        runs = self.library.runs(owner=owner, tab=mode or None, status=wanted, search=search,
                                 limit=SHOWN)
        t = self.library.totals(owner=owner)
        note = ""
        if self.studio.library_problem:
            note = f"\n\n⚠ {self.studio.library_problem}"
        totals = ((_t("lib.runs_n", n=t.runs) if t.runs != 1 else _t("lib.runs_one"))
                  + (_t("lib.n_running", n=t.in_flight) if t.in_flight else "")
                  + _t("lib.spend", today=t.spent_today, total=t.spent_all)
                  + (_t("lib.n_simulated", n=t.simulated) if t.simulated else "")
                  + (_t("lib.newest", n=SHOWN) if len(runs) == SHOWN else "")
                  + note)
        if not runs:
            empty = (_t("lib.no_match") if (mode or status or search) else _t("lib.empty"))
            totals += f"\n\n{empty}"
        items = [(_poster(r), _caption(r)) for r in runs]
        return [totals, items, [r.id for r in runs], t.in_flight, gr.Timer(active=t.in_flight > 0)]

    def tick(self, session: Session, mode: str, status: str, search: str, flying: int) -> list[Any]:
        """The timer: re-render only while something runs (and once more when it ends)."""
        owner = session_owner_filter(self.studio, session)
        now_flying = self.library.totals(owner=owner).in_flight
        if not now_flying and not flying:
            return [*[gr.skip()] * 4, gr.Timer(active=False)]
        return self.render(session, mode, status, search)

    def select(self, session: Session, ids: list[str], evt: gr.SelectData) -> list[Any]:
        index = int(evt.index or 0) if not isinstance(evt.index, list) else int(evt.index[0])
        if not 0 <= index < len(ids):
            return [gr.skip()] * 7
        return self.show(session, ids[index])

    def show(self, session: Session, run_id: str) -> list[Any]:
        """The detail panel for one run (`detail_outputs` order)."""
        run = self._own(session, run_id)
        result = result_from_run(run)
        cost = run_cost(run, long=True)
        badge = take_badge(run)
        badge = f'<span class="kling-take-keeper">{esc(badge)}</span> ' if badge else ""
        heading = (f'<h3 class="kling-library-heading">{badge}{esc(_label(run))} · '
                   f'{esc(_status(run))} · {esc(_when(run.created_at))}</h3>'
                   f'<p class="kling-note">{esc(cost)} · {esc(_t("lib.prompt"))} {esc(run.prompt)}</p>')
        if run.status == "succeeded" and run.output:
            body, facts = compare_html(result), facts_html(result)
            facts += detail_notes(run, self.library.children(run.id))
            file = run.output
        else:
            body, facts, file = run_progress_html(run), "", None
        return [run.id, gr.Column(visible=True), heading, body, facts,
                gr.DownloadButton(value=file, visible=bool(file)),
                gr.Button(visible=True)]

    def restore(self, session: Session, run_id: str) -> list[Any]:
        run = self._own(session, run_id)
        spec = result_from_run(run).spec
        return self._restore_spec(spec, _t("lib.restored_run", when=_when(run.created_at)))

    def _restore_spec(self, spec: Any, what: str) -> list[Any]:
        out: list[Any] = [goto_tab(spec.tab.value)]
        for tab, h in self.tabs.items():
            names = h.input_names()
            out += spec_values(spec, names) if tab is spec.tab else [gr.skip()] * len(names)
        info(_t("lib.restored_into", what=what, tab=_t(f"tab.{spec.tab.value}")))
        return out

    def export(self, session: Session, run_id: str) -> Any:
        run = self._own(session, run_id)
        path = self.studio.files.export_zip(run)
        return gr.File(value=str(path), visible=True)

    def ask_delete(self) -> Any:
        return gr.Button(visible=True)

    def delete(self, session: Session, run_id: str, mode: str, status: str,
               search: str) -> list[Any]:
        run = self._own(session, run_id)
        self.library.delete(run.id)
        info(_t("lib.deleted"))
        return ["", gr.Column(visible=False), gr.Button(visible=False),
                *self.render(session, mode, status, search)]

    async def drop(self, session: Session, file: Any) -> list[Any]:
        path = own_upload(file, library=self.library, owner=session.owner)
        skip = [gr.skip()] * (1 + sum(len(h.input_names()) for h in self.tabs.values()))
        if not path:
            return skip
        spec, run_id = await self.studio.spec_from_video(path)
        if run_id:
            try:
                spec = result_from_run(self._own(session, run_id)).spec or spec
            except InputError:
                pass  # not this visitor's run: the settings still restore, without its files
        return self._restore_spec(spec, _t("lib.restored_video"))


def wire_library(ui: LibraryUI, handlers: LibraryHandlers, session: Any, *,
                 restore_outputs: list[Any]) -> None:
    filters = [ui.mode, ui.status, ui.search]
    listing = listing_outputs(ui)
    private = {"api_visibility": "private", "show_progress": "hidden"}
    gr.on([f.change for f in filters], guarded(handlers.render), inputs=[session, *filters],
          outputs=listing, trigger_mode="always_last", **private)
    ui.timer.tick(guarded(handlers.tick), inputs=[session, *filters, ui.flying], outputs=listing,
                  **private)
    ui.gallery.select(guarded(handlers.select), inputs=[session, ui.ids],
                      outputs=detail_outputs(ui), **private)
    ui.restore.click(guarded(handlers.restore), inputs=[session, ui.selected],
                     outputs=restore_outputs, **private)
    ui.export.click(guarded(handlers.export), inputs=[session, ui.selected],
                    outputs=[ui.export_file], api_visibility="private")
    ui.delete.click(handlers.ask_delete, outputs=[ui.confirm_delete], **private)
    ui.confirm_delete.click(guarded(handlers.delete), inputs=[session, ui.selected, *filters],
                            outputs=[ui.selected, ui.detail, ui.confirm_delete, *listing],
                            **private)
    ui.drop.upload(guarded(handlers.drop), inputs=[session, ui.drop], outputs=restore_outputs,
                   api_visibility="private", preprocess=False, show_progress="hidden")


def detail_outputs(ui: LibraryUI) -> list[Any]:
    return [ui.selected, ui.detail, ui.heading, ui.compare, ui.facts, ui.download, ui.restore]


def listing_outputs(ui: LibraryUI) -> list[Any]:
    return [ui.totals, ui.gallery, ui.ids, ui.flying, ui.timer]


def refresh_after_run(handlers: LibraryHandlers, ui: LibraryUI) -> Any:
    """A handler for after a run ends in any tab: the library shows it at once."""
    def refresh(session: Session, mode: str, status: str, search: str) -> list[Any]:
        return handlers.render(session, mode, status, search)

    return refresh, [ui.mode, ui.status, ui.search]
