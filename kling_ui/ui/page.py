"""The Studio's Gradio 6 Blocks: banner and keys, five mode tabs, the Library, API endpoints.

This module builds the page and wires events; it never touches files or the network itself. Every
handler calls the `Studio` (kling_ui.runs.service) and is wrapped by `common.guarded`, the one place
errors become `gr.Error`. Layout pieces live beside it: `tabs` (a mode tab), `compare`
(synchronized compare player), `library` (every run kept), `api` (named endpoints).

Gradio 6 takes theme, css and js in `launch()`, so `launch_options()` returns them with the
hosting settings (max file size, SSR off, no run history: nothing keyed may be recorded).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr
from starlette.datastructures import Headers
from starlette.middleware import Middleware

from ..core.config import Secret, Settings
from ..core.errors import AuthError, KlingConnectionError, KlingTimeoutError, ServerError
from ..core.models import Tab
from ..hosting.identity import LibraryCookie, LoginThrottle, peer_address
from ..hosting.proxies import client_address
from ..i18n import from_english, gradio_i18n, i18n, request_lang, t
from ..library.store import IN_FLIGHT, RUNS_DIR
from ..runs.resumer import resume_with_key
from .api import build_api
from .api_finish import build_finish_api
from .api_sequence import build_sequence_api
from .common import GOTO_JS, esc, guarded
from .compress import CompressOnce
from .continue_ import SLOTS, ContinueHandlers, show_after, wire_continue, wire_sequence
from .edge import StudioBlocks
from .gate import EventGate
from .library import (
    LibraryHandlers,
    build_library,
    detail_outputs,
    listing_outputs,
    refresh_after_run,
    wire_library,
)
from .mcp_server import install as install_mcp_server
from .quota import build_quota, meter_handler
from .share import ShareHandlers, wire_share
from .share_routes import ShareRoutes
from .tab_layout import ASSETS, build_tab, load_presets
from .tabs import TabHandlers, wire_tab
from .visitor import Session, event_visitor, owner_of, session_owner_filter

MAX_FILE_SIZE = "200mb"  # Kling accepts videos up to 200 MB (kling-o1.md)
LIBRARY_STORAGE_KEY = "kling-o1-studio-library"  # where pages before the cookie kept the key
TITLE = "Kling O1 Studio"
MCP_PATH = "/gradio_api/mcp/"  # where Gradio serves the MCP server (streamable HTTP)

log = logging.getLogger("kling_ui.ui")


def _banner(studio: Any, key: Secret | None) -> str:
    note = from_english(studio.backend_note(key))
    cls = "kling-banner-sim" if getattr(studio, "backend", "") == "simulator" else "kling-banner"
    problem = getattr(studio, "library_problem", None)
    extra = (f'<div class="kling-banner-problem" role="alert">⚠ {esc(problem)}</div>'
             if problem else "")
    return f'<div class="{cls}" id="kling-banner">{note}</div>{extra}'


def build_ui(settings: Settings, studio: Any) -> gr.Blocks:
    """The whole page. Queue settings are applied by the caller (app.create_app)."""
    presets = load_presets()
    max_age = max(60, int(settings.max_age_hours * 3600))
    # Gradio's own cached copies of uploads and outputs go after the same age as ours; what a
    # run keeps is copied into the library first.
    # StudioBlocks: every event's payload is checked at the edge before Gradio reads it.
    with StudioBlocks(title=TITLE, fill_width=False,
                      delete_cache=(min(3600, max_age), max_age)) as demo:
        files = getattr(studio, "files", None)
        if files is not None:
            # An export written inside Gradio's cache is served as it is: no second copy that
            # would outlive KLING_DOWNLOAD_MINUTES (kling_ui.runs.files).
            files.serve_downloads_from(Path(demo.GRADIO_CACHE) / "kling-downloads")
        # Whose library the page shows comes from the browser's HttpOnly library cookie, read
        # at load (kling_ui.hosting.identity sets it; the server stores only its hash).
        session = gr.State(Session())
        # A compact header (issue #23): the title, which backend runs this visitor's jobs in
        # one line, and the key box folded beside it, so the tabs and the result come first.
        with gr.Row(elem_id="kling-top", elem_classes=["kling-top"], equal_height=False):
            gr.HTML(f'<header class="kling-header"><h1>{TITLE}</h1><p>' + i18n("page.intro")
                    + "</p></header>", js_on_load=None, elem_classes=["kling-top-title"])
            banner = gr.HTML(_banner(studio, None), js_on_load=None, elem_id="kling-banner-html",
                             elem_classes=["kling-top-banner"])
            with gr.Accordion(i18n("key.accordion"), open=False, elem_id="kling-key"):
                gr.Markdown(i18n("key.help"))
                key_box = gr.Textbox(type="password", label=i18n("key.label"),
                                     placeholder="r8_…", elem_id="kling-key-box")
                with gr.Row():
                    use_key = gr.Button(i18n("key.use"), min_width=120)
                    forget_key = gr.Button(i18n("key.forget"), scale=0, min_width=90)
                key_status = gr.Markdown("")
        quota = build_quota(settings, studio.guard)  # what is left on the host's key; sign-in

        meter = meter_handler(studio)
        meter_event = {"fn": meter, "inputs": [session], "outputs": [quota.meter],
                       "api_visibility": "private", "show_progress": "hidden"}
        handlers: dict[Tab, TabHandlers] = {}
        tab_items: dict[Tab, gr.Tab] = {}
        # Each tab's latest run (its id; None: no run, so nothing to show again): the first tab's
        # found at page load, each other tab's when it is first opened.
        latest = {tab: gr.State(None) for tab in Tab}
        # One row of tabs; on a phone it scrolls sideways (assets/studio.css; issue #23).
        with gr.Tabs(elem_id="kling-tabs", overflow_behavior="wrap"):
            for tab in Tab:
                with gr.Tab(i18n(f"tab.{tab.value}"), id=tab.value, elem_id=f"tab-{tab.value}",
                            elem_classes=["kling-tab"]) as tab_items[tab]:
                    ui = build_tab(tab, presets.get(tab.value, []))
                    handlers[tab] = TabHandlers(studio, ui)
            with gr.Tab(i18n("tab.library"), id="library", elem_id="tab-library") as lib_tab:
                lib_ui = build_library(admin=bool(settings.admin_key))
        lib_handlers = LibraryHandlers(studio, handlers)

        refresh, refresh_inputs = refresh_after_run(lib_handlers, lib_ui)
        # Keep going from a result (issue #14): each tab's row and the Library's fill these.
        more = ContinueHandlers(studio)
        sharing = ShareHandlers(studio)  # share links and the showcase (issue #26)
        # Handlers open a tab through this hidden box, not by returning gr.Tabs (goto_tab).
        goto = gr.Textbox(visible=False, elem_id="kling-goto")
        goto.change(None, inputs=[goto], outputs=None, js=GOTO_JS, api_visibility="private",
                    queue=False, show_progress="hidden")
        more_outputs = [goto, *[handlers[t].ui.controls[name] for t, name in SLOTS]]
        first_tab = next(iter(Tab))

        def latest_id(s: Session, tab: Tab) -> str | None:
            run = studio.library.latest(session_owner_filter(studio, s), tab.value)
            return run.id if run else None

        def opened(tab: Tab) -> Callable[..., str | None]:
            def latest_on_open(s: Session, request: gr.Request) -> str | None:
                s.claim(request)  # the tab can be opened before the page's load has answered
                return latest_id(s, tab)
            return latest_on_open

        # Opening a tab asks for its last run first: the browser sends a tab's select events in
        # the order they were wired, and wired after the tab's checks this one went 0.6-1.3 s
        # late (a reload, then Edit: its last result took 4.0 s to show, against 2.7 s). What the
        # person types or drops meanwhile still wins: klingRestore decides in the browser, when
        # the answer lands. Queued, as a State's change only follows a queued answer.
        for tab in Tab:
            if tab is not first_tab:
                tab_items[tab].select(opened(tab), inputs=[session],
                                      outputs=[latest[tab]], api_visibility="private",
                                      show_progress="hidden")
        run_events = {}
        for h in handlers.values():
            # The first tab checks its inputs as the page loads; the others when first opened
            # (before that they say what they need, and Run is off). Every event the page
            # handles costs it dearly (ui.common.Changes): the load fired 29 of them.
            first = h.ui.tab == first_tab
            run_events[h.ui.tab] = wire_tab(
                h.ui, h, session, concurrency=max(1, settings.concurrency),
                on_result=guarded(refresh), result_outputs=listing_outputs(lib_ui),
                result_inputs=refresh_inputs,
                page_load=demo.load if first else tab_items[h.ui.tab].select, timer=lib_ui.timer)
            run_events[h.ui.tab].then(**meter_event)  # the meter counts the run
            assert h.ui.more is not None  # noqa: S101 - build_tab makes one for every tab
            wire_continue(h.ui.more, more, session, outputs=more_outputs, key=h.ui.tab.value)
        assert lib_ui.more is not None and lib_ui.sequence is not None  # noqa: S101
        wire_continue(lib_ui.more, more, session, outputs=more_outputs, source=lib_ui.selected)
        joined = wire_sequence(lib_ui.sequence, more, session, ids=lib_ui.ids, flying=lib_ui.flying,
                               selected=lib_ui.selected, show=lib_handlers.show,
                               show_outputs=detail_outputs(lib_ui))
        joined.then(guarded(refresh), inputs=[session, *refresh_inputs],
                    outputs=listing_outputs(lib_ui), api_visibility="private",
                    show_progress="hidden")

        restore_outputs: list[Any] = [goto]
        for h in handlers.values():
            restore_outputs += h.input_components()
        wire_library(lib_ui, lib_handlers, session, restore_outputs=restore_outputs)

        @guarded
        async def set_key(value: str, s: Session) -> tuple[str, str, str]:
            value = (value or "").strip()
            if not value:
                return "", t("key.paste_first"), _banner(studio, s.key)
            key = Secret(value)
            # Checked at once (GET /v1/account), so a bad key is refused now, not at Run.
            try:
                username = await studio.check_key(key)
            except AuthError:
                return ("", t("key.refused"), _banner(studio, s.key))
            except (KlingTimeoutError, KlingConnectionError, ServerError):
                s.key = key
                return ("", t("key.unchecked"), _banner(studio, s.key))
            s.key = key
            name = "".join(c for c in username if c.isalnum() or c in "-_.")
            note = t("key.using_name", name=name) if name else t("key.using")
            # Only this browser's own runs waiting for a key (none without a library).
            resumed = await resume_with_key(studio, s.owner, s.key) if s.owner else []
            if resumed:
                note += (t("key.resumed_many", n=len(resumed)) if len(resumed) != 1
                         else t("key.resumed_one"))
            return "", note, _banner(studio, s.key)

        @guarded
        def clear_key(s: Session) -> tuple[str, str, str]:
            s.key = None
            return "", t("key.forgotten"), _banner(studio, None)

        key_outputs = [key_box, key_status, banner]
        # Own key: no host quota, so the meter goes; forgotten, it comes back.
        use_key.click(set_key, inputs=[key_box, session], outputs=key_outputs,
                      api_visibility="private", show_progress="hidden").then(**meter_event)
        key_box.submit(set_key, inputs=[key_box, session], outputs=key_outputs,
                       api_visibility="private", show_progress="hidden").then(**meter_event)
        forget_key.click(clear_key, inputs=[session], outputs=key_outputs,
                         api_visibility="private", queue=False, show_progress="hidden"
                         ).then(**meter_event)

        media = getattr(studio, "media", None)
        if media is not None:  # an event's media work is its visitor's (kling_ui.hosting.bounds)
            media.identify = functools.partial(event_visitor, settings.trusted_proxies)
        build_api(studio, concurrency=max(1, settings.concurrency))
        build_sequence_api(studio, concurrency=max(1, settings.concurrency // 2))
        build_finish_api(studio, concurrency=max(1, settings.concurrency))

        def on_load(s: Session, request: gr.Request) -> list[Any]:
            s.claim(request)  # no cookie (a raw caller): no library at all
            s.lang = request_lang(request)
            # The meter in the same answer: one event at load, not two (issue #23).
            return [_banner(studio, s.key), latest_id(s, first_tab), meter(s, request),
                    running_tab(s)]

        def running_tab(s: Session) -> Any:
            """A reload in the middle of a run in another tab opens that tab (the outside look
            found a reloaded Edit run waiting unseen behind Text), unless the person has
            touched the page by the time the answer arrives (GOTO_JS's "auto:")."""
            if not s.owner:
                return gr.skip()
            owner = session_owner_filter(studio, s)
            flying = studio.library.runs(owner=owner, status=IN_FLIGHT, limit=10)
            own = [r for r in flying if not r.settings.get("derived")]
            tabs = {tab.value for tab in Tab}
            if not own or own[0].tab == first_tab.value or own[0].tab not in tabs:
                return gr.skip()
            return f"auto:{own[0].tab}#{own[0].id}"

        # Only the first tab shows its last run again at load; another tab when first opened
        # (a returning visitor with runs in all five tabs waited 8-13 s for the page to settle).
        demo.load(on_load, inputs=[session],
                  outputs=[banner, latest[first_tab], quota.meter, goto],
                  api_visibility="private", show_progress="hidden")

        # Signing in or out reloads the page: on_load's meter covers it. The Library's grid is
        # filled when the Library is opened, not at load (issue #23: the first view's work only).
        def library_opened(s: Session, mode: str, status: str, search: str,
                           request: gr.Request) -> list[Any]:
            s.claim(request)  # opened before the page's load answered: still this visitor's
            return lib_handlers.render(s, mode, status, search)

        lib_tab.select(guarded(library_opened), inputs=[session, *refresh_inputs],
                       outputs=listing_outputs(lib_ui), api_visibility="private",
                       show_progress="hidden")
        for h in handlers.values():
            # Checks and cost on load (issue #12) come from the tab's own refresh listener
            # (wire_tab's `page_load`), not from a second one here: two listeners raced, and a
            # preset clicked as the page opened was judged "prompt is empty" by the load's late
            # answer, with the prompt filled and Run off.
            # Each tab shows its latest run again, and follows it while it runs. Not in the run
            # pool: watching costs nothing, and the run it watches already holds its place.
            # Only a tab that has a run does (its `latest` changed from None).
            reattached = latest[h.ui.tab].change(
                guarded(h.reattach), inputs=[session, latest[h.ui.tab]],
                outputs=h.outputs_reattach(),
                api_visibility="private", show_progress="hidden", concurrency_limit=None,
                preprocess=False)
            # Its inputs, only into fields the person left alone, decided in the browser when
            # the answer lands (issue #23): the server sends a plan and each file into a hidden
            # twin (TabRun.restore_inputs), and `klingRestore` applies them to the fields still
            # untouched and at their default then. A clip dropped while the answer travelled,
            # or text typed, stays the person's.
            fields = json.dumps(h.ui.field_ids())
            twins = list(h.ui.twins.values())
            latest[h.ui.tab].change(
                guarded(h.restore_inputs), inputs=[session, latest[h.ui.tab]],
                outputs=h.outputs_restore(), api_visibility="private",
                show_progress="hidden", queue=False, preprocess=False,
            ).then(None, inputs=[h.ui.restore, *twins, *h.input_components()],
                   outputs=h.input_components(), api_visibility="private",
                   show_progress="hidden",
                   js=f"(plan, ...a) => window.klingRestore ? window.klingRestore({fields}, "
                      f"{json.dumps(h.input_names())}, {json.dumps(list(h.ui.twins))}, plan, "
                      f"a.slice(0, {len(twins)}), a.slice({len(twins)})) : "
                      f"a.slice({len(twins)}).map(() => undefined)")
            h.after_result(reattached)
            assert h.ui.takes is not None  # noqa: S101 - build_tab makes one for every tab
            # ...and its latest takes side by side, when it was several (ui/takes.py).
            latest[h.ui.tab].change(
                guarded(h.takes.reattach), inputs=[session, latest[h.ui.tab]],
                outputs=h.ui.takes.outputs,
                api_visibility="private", show_progress="hidden", concurrency_limit=None)
            assert h.ui.more is not None  # noqa: S101
            show_after(h.ui.more, more, session, h.ui.tab.value, run_events[h.ui.tab], reattached)
            wire_share(h.ui.share, sharing, session, key=h.ui.tab.value,  # issue #26
                       after=(run_events[h.ui.tab], reattached))
        assert lib_ui.share is not None  # noqa: S101 - build_library makes one
        wire_share(lib_ui.share, sharing, session, source=lib_ui.selected)
    return demo


# The system's own sans and mono (issue #23): nothing fetched from a font CDN (Soft's Montserrat
# came from Google Fonts, blocked the first paint, and offline fell back to a face drawn with
# "Alternates" glyphs: "Ɛdit video"), and CJK faces for the Chinese page.
SANS = ["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue",
        "Arial", "Noto Sans", "Liberation Sans", "PingFang SC", "Microsoft YaHei",
        "Noto Sans CJK SC", "sans-serif"]
MONO = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Liberation Mono", "monospace"]


def studio_theme() -> gr.themes.Base:
    """Soft/indigo, with every text colour at WCAG AA (4.5:1) on its background.

    Soft's own block labels are indigo-500 on indigo-100 (3.62:1), its subdued text neutral-400
    on white (2.5:1) and its primary buttons white on indigo-500 (4.46:1); axe-core flags them all
    (tests/test_ui_a11y.py), so each is one or two steps darker here.
    """
    return gr.themes.Soft(primary_hue="indigo", secondary_hue="sky", font=SANS,
                          font_mono=MONO).set(
        block_label_text_color="*primary_700",
        block_title_text_color="*primary_700",
        body_text_color_subdued="*neutral_600",
        block_info_text_color="*neutral_600",
        input_placeholder_color="*neutral_500",
        checkbox_label_background_fill_selected="*primary_600",
        button_primary_background_fill="*primary_600",
        button_primary_background_fill_hover="*primary_700",
        link_text_color="*secondary_800",
        link_text_color_hover="*secondary_900",
        link_text_color_visited="*secondary_800",
    )


def _read(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


def mcp_enabled(settings: Settings) -> bool:
    """KLING_MCP (on by default), when the `mcp` package (`gradio[mcp]`) is installed.

    Off behind APP_PASSWORD: Gradio's MCP server calls the app through its own client, which
    cannot log in, so every tool call would fail ("credentials were not provided").
    """
    if not settings.mcp:
        return False
    if settings.app_password:
        log.info("MCP server off: APP_PASSWORD is set, and MCP clients cannot log in.")
        return False
    if importlib.util.find_spec("mcp") is None:
        log.warning("MCP server off: the mcp package is missing (pip install -r requirements.txt "
                    "installs gradio[mcp]); set KLING_MCP=0 to silence this.")
        return False
    install_mcp_server()  # Gradio's server, with list-of-files parameters that work
    return True


def stop_uvicorn_forwarding() -> None:
    """Keep the socket peer uvicorn saw, so KLING_TRUSTED_PROXIES is the only forwarding rule.

    By default uvicorn believes X-Forwarded-For from 127.0.0.1 (FORWARDED_ALLOW_IPS) and puts
    the header's last entry in place of the peer: any caller on the same host, and every MCP
    tool call (Gradio runs them through its client on 127.0.0.1 with the caller's headers),
    could then name itself. Gradio builds uvicorn's Config without `forwarded_allow_ips`, so
    uvicorn reads the variable when the app launches.
    """
    before = os.environ.get("FORWARDED_ALLOW_IPS")
    if before:
        log.warning("FORWARDED_ALLOW_IPS=%s is ignored: set KLING_TRUSTED_PROXIES to the number "
                    "of proxies in front of the Studio instead.", before)
    os.environ["FORWARDED_ALLOW_IPS"] = ""


def launch_options(settings: Settings, studio: Any) -> dict[str, Any]:
    """Keyword arguments for `Blocks.launch()` (Gradio 6: theme, css and js live here)."""
    stop_uvicorn_forwarding()
    allowed = [str(ASSETS)]
    blocked: list[str] = []
    library = getattr(studio, "library", None)
    if library is not None:
        # Served by path: only what the page links to, whose names carry enough random bits
        # that nobody finds another visitor's file: runs (96-bit run ids) and temporary files
        # (128 random bits each, media.paths). The rest of the data folder (the database, the
        # secret, anything a host puts there) never is; nor exports made before downloads got
        # their random folders (named after the prompt and date).
        allowed += [str(Path(library.root) / RUNS_DIR), str(library.tmp_dir)]
        blocked += [*library.private_paths(), str(library.tmp_dir / "exports")]
    opts: dict[str, Any] = {
        "server_name": settings.host,
        "server_port": settings.port,
        "max_file_size": MAX_FILE_SIZE,
        "ssr_mode": False,
        "run_history": False,  # a visitor's key must never be replayable from the browser
        "allowed_paths": allowed,
        "blocked_paths": blocked,
        "theme": studio_theme(),
        "css": _read("studio.css"),
        # Rules for Gradio's own frame (its padding on a phone): css= only reaches inside it.
        "head": "<style>" + _read("frame.css") + "</style>",
        # Rules for Gradio's own frame (its padding on a phone): css= only reaches inside it.
        "js": "() => {\n" + _read("studio.js") + "\n" + _read("adopt.js") + "\n}",
        "footer_links": ["api", "gradio"],
        # Only our own messages (gr.Error) reach a caller: an exception's text may name a
        # server path or a library's internals (issue #20); the host's log keeps it.
        "show_error": False,
        # The named endpoints (api.py, api_finish.py, api_sequence.py) as MCP tools (issue #15);
        # the UI's private events are not tools. KLING_MCP=0 serves no MCP endpoint at all.
        "mcp_server": mcp_enabled(settings),
        # English and Simplified Chinese labels, chosen by the browser's language (kling_ui.i18n)
        "i18n": gradio_i18n(),
        # Gradio hands app_kwargs to its FastAPI app: gzip the page, its JS/CSS and JSON (274 KiB
        # went uncompressed), Gradio's own unchanging frontend files once each (ui/compress.py).
        # Video, images and the SSE event stream are left alone.
        "app_kwargs": {"middleware": [Middleware(CompressOnce),
                                      # /share/<token> and /showcase: before the library cookie
                                      Middleware(ShareRoutes, studio=studio, settings=settings),
                                      *identity_middleware(settings, studio),
                                      # An absurd event request is refused before Gradio reads it.
                                      Middleware(EventGate)]},
    }
    if settings.app_password:
        guard = getattr(studio, "guard", None)
        password = settings.app_password

        def check(_user: str, attempt: str) -> bool:
            if guard is not None:
                return bool(guard.check_password(attempt))
            return attempt == password.reveal()

        opts["auth"] = check
        opts["auth_message"] = "This Studio is protected by a password (APP_PASSWORD)."
    return opts


def identity_middleware(settings: Settings, studio: Any) -> list[Middleware]:
    """Who a visitor is (kling_ui.hosting.identity): the HttpOnly library cookie, with the one-time
    adoption of an old page's localStorage key; wrong APP_PASSWORD logins throttled."""
    library = getattr(studio, "library", None)

    def adopt(old_key: str, new_key: str) -> int:
        moved = int(library.reassign(owner_of(old_key), owner_of(new_key))) if library else 0
        if moved:
            log.info("a browser's library moved to its cookie (%d runs)", moved)
        return moved

    secret = getattr(library, "legacy_browser_secret", None)
    out = [Middleware(LibraryCookie, adopt=adopt, legacy_secret=secret,
                      trusted_hops=settings.trusted_proxies)]
    if settings.app_password:
        hops = settings.trusted_proxies

        def address(scope: Any) -> str:
            # The same rule as the per-visitor limits (kling_ui.hosting.proxies): behind a Space's proxy
            # every peer is the proxy, so the peer alone would make one guesser lock out all.
            forwarded_for = Headers(scope=scope).getlist("x-forwarded-for")  # through trusted hops only:
            return client_address(peer_address(scope), forwarded_for, hops)

        out.append(Middleware(LoginThrottle, address=address))
    return out
