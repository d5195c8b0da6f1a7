"""The Share panel under a finished run (issue #26): in each tab's result and the Library's detail.

"Share" makes (or shows again) the run's link to its read-only page at `/share/<token>`, in a
read-only box with a copy button; "Revoke link" deletes it. When the host set KLING_ADMIN_KEY
the Library's panel also has a "Showcase (host)" fold: the admin key and Pin / Unpin. Every
action goes through `Studio.sharing` with this visitor's library as the owner: only a run's
owner can share, revoke or pin it (and pinning also needs the admin key, compared on the
server, its wrong guesses throttled per visitor).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import gradio as gr

from ..core.errors import InputError
from ..hosting.proxies import public_origin
from ..i18n import i18n, t
from .common import guarded, info
from .visitor import Session, session_owner_filter, visitor_id


@dataclass
class ShareUI:
    box: Any
    share: Any
    link: Any
    note: Any
    revoke: Any
    admin_key: Any = None
    pin: Any = None
    unpin: Any = None


def build_share(key: str, *, visible: bool = False, admin: bool = False) -> ShareUI:
    """The panel (hidden until a tab has a finished run); `admin` adds the showcase fold."""
    with gr.Column(visible=visible, elem_id=f"{key}-share", elem_classes=["kling-share"],
                   variant="panel") as box:
        with gr.Row(equal_height=True):
            share = gr.Button(i18n("share.button"), min_width=100, elem_id=f"{key}-share-btn")
            revoke = gr.Button(i18n("share.revoke"), variant="stop", min_width=120,
                               visible=False, elem_id=f"{key}-share-revoke")
        link = gr.Textbox(label=i18n("share.link"), interactive=False, visible=False,
                          buttons=["copy"], elem_id=f"{key}-share-link")
        note = gr.Markdown(i18n("share.help"), elem_classes=["kling-note"])
        ui = ShareUI(box, share, link, note, revoke)
        if admin:
            with gr.Accordion(i18n("share.admin"), open=False):
                gr.Markdown(i18n("share.admin_help"), elem_classes=["kling-note"])
                ui.admin_key = gr.Textbox(label=i18n("share.admin_key"), type="password",
                                          elem_id=f"{key}-admin-key")
                with gr.Row(equal_height=True):
                    ui.pin = gr.Button(i18n("share.pin"), min_width=120, elem_id=f"{key}-pin")
                    ui.unpin = gr.Button(i18n("share.unpin"), min_width=100,
                                         elem_id=f"{key}-unpin")
    return ui


class ShareHandlers:
    """Plain handlers over `Studio.sharing`; each returns the panel's [box, share, revoke,
    link, note] updates."""

    def __init__(self, studio: Any) -> None:
        self.studio = studio

    @property
    def sharing(self) -> Any:
        return self.studio.sharing

    def _owner(self, session: Session) -> str | None:
        return session_owner_filter(self.studio, session)

    def link(self, token: str, request: gr.Request | None) -> str:
        settings = self.studio.settings
        if settings.public_url:
            return f"{settings.public_url}/share/{token}"
        headers = getattr(request, "headers", None) or {}

        def values(name: str) -> list[str]:
            if hasattr(headers, "getlist"):
                return [str(v) for v in headers.getlist(name)]
            value = headers.get(name) if hasattr(headers, "get") else None
            return [str(value)] if value else []

        inner = getattr(request, "request", None)
        scheme = str(getattr(getattr(inner, "url", None), "scheme", "") or "http")
        origin = public_origin(scheme, (values("host") or [""])[0], values("x-forwarded-proto"),
                               values("x-forwarded-host"), settings.trusted_proxies,
                               fallback=f"{settings.host}:{settings.port}")
        return f"{origin}/share/{token}"

    def _panel(self, run_id: str, share: Any, request: gr.Request | None, *,
               shown: bool = True, said: str = "") -> list[Any]:
        if share is None:
            return [gr.Column(visible=shown), gr.Button(visible=True), gr.Button(visible=False),
                    gr.Textbox(value="", visible=False), said or t("share.help")]
        until = (t("share.no_expiry") if share.expires_at is None else t(
            "share.expires", when=datetime.fromtimestamp(share.expires_at, tz=timezone.utc)
            .strftime("%Y-%m-%d %H:%M UTC")))
        return [gr.Column(visible=shown), gr.Button(visible=False), gr.Button(visible=True),
                gr.Textbox(value=self.link(share.token, request), visible=True),
                (said + " " if said else "") + until]

    def show(self, session: Session, run_id: str | None,
             request: gr.Request | None = None) -> list[Any]:
        """The panel for a run: shown only under a finished run of this visitor."""
        run = self.studio.library.get(run_id) if run_id else None
        owner = self._owner(session)
        ok = bool(run and run.status == "succeeded" and run.output
                  and (owner is None or run.owner == owner))
        share = self.sharing.current(run_id, owner) if ok and run_id else None
        return self._panel(run_id or "", share, request, shown=ok)

    def share(self, session: Session, run_id: str | None,
              request: gr.Request | None = None) -> list[Any]:
        share = self.sharing.share(run_id or "", self._owner(session))
        return self._panel(run_id or "", share, request, said=t("share.made"))

    def revoke(self, session: Session, run_id: str | None,
               request: gr.Request | None = None) -> list[Any]:
        self.sharing.revoke(run_id or "", self._owner(session))
        info(t("share.revoked"))
        return self._panel(run_id or "", None, request, said=t("share.revoked"))

    def pin(self, session: Session, run_id: str | None, key: str, pinned: bool,
            request: gr.Request | None = None) -> list[Any]:
        who = visitor_id(request, self.studio.settings.trusted_proxies)
        if not self.sharing.admin_ok(key, who):
            raise InputError(t("share.admin_wrong"))
        share = self.sharing.pin(run_id or "", self._owner(session), pinned)
        said = t("share.pinned") if pinned else t("share.unpinned")
        info(said)
        return self._panel(run_id or "", share, request, said=said)


def outputs(ui: ShareUI) -> list[Any]:
    return [ui.box, ui.share, ui.revoke, ui.link, ui.note]


def wire_share(ui: ShareUI, handlers: ShareHandlers, session: Any, *, source: Any = None,
               key: str = "", after: tuple[Any, ...] = ()) -> None:
    """Connect one panel. Its run is the Library's selected one (`source`, a gr.State of its
    id) or, for a tab's panel (`key`), the run that tab shows (`Session.watching`), followed
    after each of the `after` events (the tab's run, a page reattaching to it)."""
    private = {"api_visibility": "private", "show_progress": "hidden"}
    out = outputs(ui)

    def bind(fn: Any) -> Any:
        if source is not None:
            def from_library(s: Session, run_id: str, request: gr.Request) -> list[Any]:
                return fn(s, run_id, request)

            return guarded(from_library)

        def from_tab(s: Session, request: gr.Request) -> list[Any]:
            return fn(s, s.watching.get(key, ""), request)

        return guarded(from_tab)

    run_in = [session] + ([source] if source is not None else [])
    if source is not None:
        source.change(bind(handlers.show), inputs=run_in, outputs=out, **private)
    for event in after:
        event.then(bind(handlers.show), inputs=run_in, outputs=out, **private)
    ui.share.click(bind(handlers.share), inputs=run_in, outputs=out, **private)
    ui.revoke.click(bind(handlers.revoke), inputs=run_in, outputs=out, **private)
    if ui.pin is not None and ui.unpin is not None and source is not None:
        def pin(s: Session, run_id: str, key_: str, request: gr.Request) -> list[Any]:
            return handlers.pin(s, run_id, key_, True, request)

        def unpin(s: Session, run_id: str, key_: str, request: gr.Request) -> list[Any]:
            return handlers.pin(s, run_id, key_, False, request)

        ui.pin.click(guarded(pin), inputs=[*run_in, ui.admin_key], outputs=out, **private)
        ui.unpin.click(guarded(unpin), inputs=[*run_in, ui.admin_key], outputs=out, **private)
