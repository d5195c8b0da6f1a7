"""The Studio's Gradio 6 Blocks: banner and keys, five mode tabs, session history, API endpoints.

This module builds the page and wires events; it never touches files or the network itself. Every
handler calls the `Studio` (kling_ui.service) and is wrapped by `common.guarded`, the one place
errors become `gr.Error`. Layout pieces live beside it: `tabs` (a mode tab), `compare`
(synchronized compare player), `history` (the runs), `api` (named endpoints).

Gradio 6 takes theme, css and js in `launch()`, so `launch_options()` returns them with the
hosting settings (max file size, SSR off, no run history: nothing keyed may be recorded).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from ..config import Secret, Settings
from ..errors import AuthError, KlingConnectionError, KlingTimeoutError, ServerError
from ..models import Tab
from .api import build_api
from .common import Session, guarded, session_id
from .history import render, restore_handler
from .tabs import ASSETS, TabHandlers, build_tab, load_presets, wire_tab

MAX_FILE_SIZE = "200mb"  # Kling accepts videos up to 200 MB (kling-o1.md)
TITLE = "Kling O1 Studio"


def _banner(studio: Any, key: Secret | None) -> str:
    note = studio.backend_note(key)
    cls = "kling-banner-sim" if getattr(studio, "backend", "") == "simulator" else "kling-banner"
    return f'<div class="{cls}" id="kling-banner">{note}</div>'


def build_ui(settings: Settings, studio: Any) -> gr.Blocks:
    """The whole page. Queue settings are applied by the caller (app.create_app)."""
    presets = load_presets()
    max_age = max(60, int(settings.max_age_hours * 3600))
    # Gradio's own cached copies of uploads and outputs go after the same age as ours.
    with gr.Blocks(title=TITLE, fill_width=False,
                   delete_cache=(min(3600, max_age), max_age)) as demo:
        session = gr.State(Session())
        gr.HTML(f'<header class="kling-header"><h1>{TITLE}</h1><p>Try every input mode of '
                "Kling O1 (<code>kwaivgi/kling-o1</code> on Replicate): checks before you pay, "
                "the result beside the original.</p></header>", js_on_load=None)
        banner = gr.HTML(_banner(studio, None), js_on_load=None, elem_id="kling-banner-html")
        with gr.Accordion("Use your own Replicate key", open=False, elem_id="kling-key"):
            gr.Markdown("Kept in this browser session only, on the server; never shown again or "
                        "saved. Clear it with *Forget*. API callers can send the "
                        "`X-Replicate-Api-Token` header instead.")
            with gr.Row():
                key_box = gr.Textbox(type="password", label="Replicate API token",
                                     placeholder="r8_…", scale=3, elem_id="kling-key-box")
                use_key = gr.Button("Use for this session", scale=1, min_width=120)
                forget_key = gr.Button("Forget", scale=0, min_width=90)
            key_status = gr.Markdown("")

        handlers: dict[Tab, TabHandlers] = {}
        with gr.Tabs(elem_id="kling-tabs", overflow_behavior="wrap") as tabs:
            for tab in Tab:
                with gr.Tab(tab.label, id=tab.value, elem_id=f"tab-{tab.value}",
                            elem_classes=["kling-tab"]):
                    ui = build_tab(tab, presets.get(tab.value, []))
                    handlers[tab] = TabHandlers(studio, ui)
            with gr.Tab("History", id="history", elem_id="tab-history"):
                history_gallery = gr.Gallery(label="Runs of this session", columns=3, height=360,
                                             allow_preview=False, elem_id="kling-history-gallery",
                                             interactive=False)
                history_table = gr.HTML(render(Session())[1], js_on_load=None,
                                        elem_id="kling-history-table")

        def show_history(s: Session) -> tuple[Any, str]:
            return render(s)

        for h in handlers.values():
            wire_tab(h.ui, h, session, concurrency=max(1, settings.concurrency),
                     on_result=show_history, result_outputs=[history_gallery, history_table])

        restore_outputs: list[Any] = [tabs]
        for h in handlers.values():
            restore_outputs += h.input_components()
        history_gallery.select(guarded(restore_handler(handlers)), inputs=[session],
                               outputs=restore_outputs, api_visibility="private")

        @guarded
        async def set_key(value: str, s: Session) -> tuple[str, str, str]:
            value = (value or "").strip()
            if not value:
                return "", "Paste a key first.", _banner(studio, s.key)
            key = Secret(value)
            # Checked at once (GET /v1/account), so a bad key is refused now, not at Run.
            try:
                username = await studio.check_key(key)
            except AuthError:
                return ("", "✗ Replicate refused this key (401), so it is not used. Copy it again "
                        "from replicate.com/account/api-tokens.", _banner(studio, s.key))
            except (KlingTimeoutError, KlingConnectionError, ServerError):
                s.key = key
                return ("", "Your key is in use; Replicate could not be reached to check it just "
                        "now, so it will be checked when you run.", _banner(studio, s.key))
            s.key = key
            name = "".join(c for c in username if c.isalnum() or c in "-_.")
            return ("", f"Using your key (@{name})." if name else "Using your key.",
                    _banner(studio, s.key))

        @guarded
        def clear_key(s: Session) -> tuple[str, str, str]:
            s.key = None
            return "", "Your key is forgotten.", _banner(studio, None)

        key_outputs = [key_box, key_status, banner]
        use_key.click(set_key, inputs=[key_box, session], outputs=key_outputs,
                      api_visibility="private", queue=False, show_progress="hidden")
        key_box.submit(set_key, inputs=[key_box, session], outputs=key_outputs,
                       api_visibility="private", queue=False, show_progress="hidden")
        forget_key.click(clear_key, inputs=[session], outputs=key_outputs,
                         api_visibility="private", queue=False, show_progress="hidden")

        build_api(studio, concurrency=max(1, settings.concurrency))

        def end_session(request: gr.Request) -> None:
            # A closed tab's fixed files and outputs go at once (a run still in flight keeps
            # its files until it ends); older leftovers go with the sweeper (app.create_app).
            studio.forget_session(session_id(request))

        demo.unload(end_session)
    return demo


def _read(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


def launch_options(settings: Settings, studio: Any) -> dict[str, Any]:
    """Keyword arguments for `Blocks.launch()` (Gradio 6: theme, css and js live here)."""
    allowed = [str(ASSETS)]
    data_dir = getattr(studio, "data_dir", None) or settings.data_dir
    if data_dir:
        allowed.append(str(Path(data_dir)))
    opts: dict[str, Any] = {
        "server_name": settings.host,
        "server_port": settings.port,
        "max_file_size": MAX_FILE_SIZE,
        "ssr_mode": False,
        "run_history": False,  # a visitor's key must never be replayable from the browser
        "allowed_paths": allowed,
        "theme": gr.themes.Soft(primary_hue="indigo", secondary_hue="sky"),
        "css": _read("studio.css"),
        "js": "() => {\n" + _read("studio.js") + "\n}",
        "footer_links": ["api", "gradio"],
        "show_error": True,
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
