"""The door in front of Gradio's event routes: an absurd request is refused before Gradio reads it.

Gradio checks every file value of an event on the event loop every visitor shares, resolving
its path against each allowed folder: a request listing one upload 5,000 times held the loop
for about 2 s before our handler even saw it (issue #20). `EventGate` reads the body of a
POST to an event route (queue/join, call, run, api), and refuses it at once, with HTTP 422 in
the form `gradio_client` turns into a ValidationError carrying our message, when it is larger
than `MAX_BODY_BYTES` or holds more than `MAX_FILES` file values. Anything else passes
through unchanged (the body replayed as it came). Pages, uploads, files and MCP are untouched:
an MCP list of files is capped where it is turned into files (`ui.mcp_server`).

The limits sit well above what any event of the Studio takes (at most 20 clips for a join,
`media.join.MAX_CLIPS`; 8 images in the References tab), so a person who drops 30 images on
the page still gets the page's own message saying how many to remove.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ..i18n import t
from ..media.join import MAX_CLIPS
from . import cancels

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_FILES = 3 * MAX_CLIPS  # file values in one event's data
MAX_BODY_BYTES = 8_000_000  # an event's JSON (files travel by /upload, not in it)
EVENT_ROUTES = ("/gradio_api/queue/join", "/gradio_api/call/", "/gradio_api/run/",
                "/gradio_api/api/")
CANCEL_ROUTE = "/gradio_api/cancel"  # an explicit cancel, noted for ui.cancels (issue #22)


def count_files(value: Any, limit: int) -> int:
    """File values (dicts with a `path` or `url`, as Gradio's FileData) in `value`, counting
    no further than `limit + 1`."""
    seen = 0
    stack = [value]
    while stack and seen <= limit:
        item = stack.pop()
        if isinstance(item, dict):
            if "path" in item or ("url" in item and "meta" in item):
                seen += 1
                continue
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return seen


def refusal(message: str) -> bytes:
    """A 422 body gradio_client reads as a ValidationError with `message`."""
    return json.dumps({"detail": [{"__type__": "validate", "is_valid": False,
                                   "parameter_name": "data", "message": message}]}).encode()


class EventGate:
    """ASGI middleware: refuse oversized or file-stuffed event requests before Gradio parses
    them (see the module docstring)."""

    def __init__(self, app: ASGIApp, max_files: int = MAX_FILES,
                 max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_files = max_files
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope.get("type") == "http" else ""
        if scope.get("method") == "POST" and path.endswith(CANCEL_ROUTE):
            await self._note_cancel(scope, receive, send)
            return
        if scope.get("method") != "POST" or not any(r in path for r in EVENT_ROUTES):
            await self.app(scope, receive, send)
            return
        body = await self._read_body(receive, send)
        if body is None:
            return
        try:
            data = json.loads(body).get("data") if body else None
        except (ValueError, AttributeError):
            data = None  # not ours to judge: Gradio answers malformed bodies itself
        n = count_files(data, self.max_files)
        if n > self.max_files:
            await self._refuse(send, t("gate.too_many_files", "en", limit=self.max_files))
            return
        await self._pass_on(scope, body, receive, send)

    async def _note_cancel(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Note which event a caller cancels (before Gradio cancels its task), then pass on.
        A hang-up never comes this way: only an explicit cancel cancels a run."""
        body = await self._read_body(receive, send)
        if body is None:
            return
        try:
            data = json.loads(body) if body else {}
            session_hash, fn_index = data.get("session_hash"), data.get("fn_index")
        except (ValueError, AttributeError):
            session_hash = fn_index = None
        if isinstance(session_hash, str) and isinstance(fn_index, int | str):
            cancels.note(session_hash, fn_index)
        await self._pass_on(scope, body, receive, send)

    async def _read_body(self, receive: Receive, send: Send) -> bytes | None:
        """The whole request body, or None when the caller went away or it is too big (then
        refused here, before anything parses it)."""
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the caller went away
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await self._refuse(send, t("gate.too_big", "en",
                                           mb=self.max_body_bytes // 1_000_000))
                return None
            chunks.append(chunk)
            more = bool(message.get("more_body"))
        return b"".join(chunks)

    async def _pass_on(self, scope: Scope, body: bytes, receive: Receive, send: Send) -> None:
        """Hand the request to Gradio with the body read here given back as it came."""
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(send: Send, message: str) -> None:
        body = refusal(message)
        await send({"type": "http.response.start", "status": 422,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
