"""The share links' HTTP routes (issue #26), answered before Gradio sees the request.

    GET /share/<token>                  the share page (kling_ui.ui.share_page)
    GET /share/<token>/<file>           output.mp4, original.<ext>, poster.jpg, compare.mp4
                                        (?download=1: as an attachment)
    GET /showcase                       the host's pinned shares; 404 unless KLING_ADMIN_KEY is set

Mounted like the other custom routes: an ASGI middleware that page.launch_options hands to
Gradio's FastAPI app (`app_kwargs={"middleware": ...}`), placed before the library cookie, so a
share page neither needs nor sets one. Every file is found from the token alone (the run's own
paths, looked up in the library); the caller names only one of four fixed file names, never a
path. An unknown, revoked or expired token, a malformed one, and a run whose output is gone
all get the same 404. Absolute URLs (Open Graph) use KLING_PUBLIC_URL, else the request's own
origin through KLING_TRUSTED_PROXIES (kling_ui.hosting.proxies.public_origin).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from ..core.errors import KlingError
from ..core.naming import slug
from ..hosting.proxies import public_origin
from ..i18n import lang_of
from .share_page import IMAGE_TYPES, gone_html, original_name, share_html, showcase_html

log = logging.getLogger(__name__)

PAGE_CACHE = "no-cache"  # revalidated every time: a revoked link stops at once
MEDIA_CACHE = "private, max-age=600"
MEDIA_TYPES = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime",
               ".webm": "video/webm", ".jpg": "image/jpeg", **IMAGE_TYPES}


def _lang(request: Request) -> str:
    return lang_of(request.headers.get("accept-language", ""))


class ShareRoutes:
    """ASGI middleware: /share/... and /showcase here, everything else to Gradio."""

    def __init__(self, app: ASGIApp, *, studio: Any, settings: Any) -> None:
        self.app = app
        self.studio = studio
        self.settings = settings
        self.router = Router(routes=[
            Route("/share/{token}", self.page, methods=["GET"]),
            Route("/share/{token}/{name}", self.media, methods=["GET"]),
            Route("/showcase", self.showcase, methods=["GET"]),
        ], default=self.not_found)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path.startswith("/share/") or path.rstrip("/") == "/showcase":
            if path != "/showcase" and path.endswith("/"):
                scope = {**scope, "path": path.rstrip("/")}
            await self.router(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def not_found(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Anything else under /share/ (an extra segment, an encoded slash): a plain 404."""
        await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)

    @property
    def sharing(self) -> Any:
        return self.studio.sharing

    def origin(self, request: Request) -> str:
        if self.settings.public_url:
            return str(self.settings.public_url)
        headers = Headers(scope=request.scope)
        return public_origin(request.url.scheme, headers.get("host"),
                             headers.getlist("x-forwarded-proto"),
                             headers.getlist("x-forwarded-host"),
                             self.settings.trusted_proxies,
                             fallback=f"{self.settings.host}:{self.settings.port}")

    async def page(self, request: Request) -> Response:
        found = self.sharing.resolve(request.path_params["token"])
        lang = _lang(request)
        if found is None:
            return HTMLResponse(gone_html(lang), status_code=404,
                                headers={"cache-control": "no-store"})
        share, run = found
        html = share_html(run, share, self.origin(request), lang,
                          size=self.sharing.comparison_size(run))
        return HTMLResponse(html, headers={"cache-control": PAGE_CACHE,
                                           "referrer-policy": "no-referrer",
                                           "x-robots-tag": "noindex"})

    async def media(self, request: Request) -> Response:
        found = self.sharing.resolve(request.path_params["token"])
        name = request.path_params["name"]
        if found is None:
            return PlainTextResponse("Not Found", status_code=404)
        _share, run = found
        path: str | None = None
        if name == "output.mp4":
            path = run.output
        elif name == "poster.jpg":
            path = run.poster
        elif name == "compare.mp4":
            try:
                path = await self.sharing.comparison(run)
            except KlingError as exc:
                log.info("comparison for a share failed: %s", exc.message)
                return PlainTextResponse("The comparison could not be made; try again later.",
                                         status_code=503)
        elif name == "original-poster.jpg":
            try:
                path = await self.sharing.original_poster(run)
            except KlingError as exc:
                log.info("no still of a shared original: %s", exc.message)
        elif name == original_name(run):
            path = run.original
        if not path or not Path(path).is_file():
            return PlainTextResponse("Not Found", status_code=404)
        kind = MEDIA_TYPES.get(Path(path).suffix.lower(), "application/octet-stream")
        headers = {"cache-control": MEDIA_CACHE, "x-robots-tag": "noindex"}
        if name == "compare.mp4" and request.query_params.get("download"):
            stem = slug(run.prompt or run.tab)[:40] or "kling"
            return FileResponse(path, media_type=kind, headers=headers,
                                filename=f"{stem}-compare.mp4")
        return FileResponse(path, media_type=kind, headers=headers)

    async def showcase(self, request: Request) -> Response:
        if not self.sharing.showcase_enabled:
            return PlainTextResponse("Not Found", status_code=404)
        return HTMLResponse(showcase_html(self.sharing.showcase(), _lang(request)),
                            headers={"cache-control": PAGE_CACHE})
