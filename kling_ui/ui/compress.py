"""Compressed responses without compressing the same file on every page load.

Over plain HTTP (a local run, the tests) a browser asks for gzip only, and every page load fetched
Gradio's whole frontend (about 1.7 MB of JS and 0.15 MB of CSS under /assets/) gzipped afresh at
level 9: 0.3 s of the server's CPU per visitor per load (issue #23's page-load cost). Those files
are Gradio's build output with a content hash in each name, so they never change while the app
runs: each is compressed once, at the best level, and the bytes are served from memory after
that. Everything else (the page with its config, JSON answers) is compressed per response at
level 6, which came out the same size as 9 on this page for half the CPU.

In front of Gradio's own Brotli middleware, which only answers browsers that ask for `br` (HTTPS):
a body this one has encoded is passed on as it is.
"""

from __future__ import annotations

import functools
import gzip
import threading
from collections import OrderedDict
from dataclasses import dataclass

import anyio
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

IMMUTABLE_PREFIXES = ("/assets/", "/static/")  # Gradio's built frontend: hashed names
# What a kept file may be: script, styles and their data. Never a page (text/html): a page's
# answer carries the visitor's own library cookie (hosting.identity), which must not be kept and
# handed to the next visitor, so anything with a set-cookie is never kept either.
KEEPABLE = ("application/javascript", "text/javascript", "text/css", "image/svg+xml",
            "application/json", "application/wasm", "application/manifest+json")
MIN_BYTES = 1024  # below this gzip's header costs more than it saves
MAX_FILE_BYTES = 16 << 20  # a file bigger than this is compressed per response, not kept
CACHE_BYTES = 48 << 20  # all kept bodies together (Gradio's assets: about 0.7 MB gzipped)
DYNAMIC_LEVEL = 6


@dataclass(frozen=True)
class Kept:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


class KeptBodies:
    """The compressed files, least recently used first out past `limit` bytes. Keyed by path
    alone: a query string cannot make another copy of the same file."""

    def __init__(self, limit: int = CACHE_BYTES) -> None:
        self.limit = limit
        self.size = 0
        self._items: OrderedDict[str, Kept] = OrderedDict()
        self._lock = threading.Lock()
        self.compressions = 0  # how many times a file was compressed (tests; bench)

    def get(self, path: str) -> Kept | None:
        with self._lock:
            kept = self._items.get(path)
            if kept is not None:
                self._items.move_to_end(path)
            return kept

    def put(self, path: str, kept: Kept) -> None:
        with self._lock:
            old = self._items.pop(path, None)
            if old is not None:
                self.size -= len(old.body)
            self._items[path] = kept
            self.size += len(kept.body)
            while self.size > self.limit and self._items:
                _, dropped = self._items.popitem(last=False)
                self.size -= len(dropped.body)


def _keepable(headers: Headers) -> bool:
    kind = headers.get("content-type", "").partition(";")[0].strip().lower()
    return (kind in KEEPABLE and "content-encoding" not in headers
            and "set-cookie" not in headers and "no-store" not in headers.get("cache-control", ""))


def _fresh(request: Headers, kept: Kept) -> bool:
    asked = request.get("if-none-match")
    etag = dict(kept.headers).get(b"etag")
    if not asked or not etag:
        return False
    return etag.decode("latin-1") in (t.strip() for t in asked.split(","))


class CompressOnce:
    """ASGI middleware: /assets/ and /static/ compressed once and kept; the rest at level 6."""

    def __init__(self, app: ASGIApp, kept: KeptBodies | None = None) -> None:
        self.app = app
        self.kept = kept if kept is not None else KeptBodies()
        self.dynamic = GZipMiddleware(app, minimum_size=MIN_BYTES, compresslevel=DYNAMIC_LEVEL)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        path = scope.get("path", "")
        if (scope.get("method") != "GET" or not path.startswith(IMMUTABLE_PREFIXES)
                or ".." in path or "%" in path  # only plain file names are kept
                or "gzip" not in headers.get("accept-encoding", "").lower()
                or "range" in headers):
            await self.dynamic(scope, receive, send)
            return
        kept = self.kept.get(path) or await self._fetch(scope, receive, send, path)
        if kept is not None and _fresh(headers, kept):  # the browser's copy is this one
            await send({"type": "http.response.start", "status": 304,
                        "headers": [(k, v) for k, v in kept.headers
                                    if k.lower() in (b"etag", b"last-modified", b"vary")]})
            await send({"type": "http.response.body", "body": b""})
        elif kept is not None:
            await send({"type": "http.response.start", "status": kept.status,
                        "headers": kept.headers})
            await send({"type": "http.response.body", "body": kept.body})

    async def _fetch(self, scope: Scope, receive: Receive, send: Send, path: str) -> Kept | None:
        """The file from Gradio, uncompressed and whole, compressed once and kept if it is a 200
        of a compressible type within the size limit. Anything else is sent on as Gradio gave
        it, and None returned: the app is asked once either way."""
        start: Message = {}
        chunks: list[bytes] = []
        size = 0
        passing = False

        async def pass_on() -> None:
            nonlocal passing
            passing = True
            await send(start)
            for chunk in chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            chunks.clear()

        async def capture(message: Message) -> None:
            nonlocal size, start
            if passing:
                await send(message)
            elif message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                size += len(chunks[-1])
                if size > MAX_FILE_BYTES:
                    await pass_on()
                    await send({"type": "http.response.body", "body": b"",
                                "more_body": message.get("more_body", False)})
            else:  # pathsend, trailers...: not a body this can keep
                await pass_on()
                await send(message)

        # The file as it is: no conditional or encoded answer to keep by mistake.
        plain = [(k, v) for k, v in scope.get("headers", [])
                 if k.lower() not in (b"accept-encoding", b"if-none-match",
                                      b"if-modified-since")]
        await self.app({**scope, "headers": plain}, receive, capture)
        if passing:
            return None
        headers = MutableHeaders(raw=list(start.get("headers", [])))
        body = b"".join(chunks)
        if start.get("status") != 200 or not _keepable(headers) or len(body) < MIN_BYTES:
            await send(start)
            await send({"type": "http.response.body", "body": body})
            return None
        packed = await anyio.to_thread.run_sync(functools.partial(gzip.compress, body, 9))
        self.kept.compressions += 1
        headers["content-encoding"] = "gzip"
        headers["content-length"] = str(len(packed))
        headers.add_vary_header("Accept-Encoding")
        kept = Kept(200, headers.raw, packed)
        self.kept.put(path, kept)
        return kept
