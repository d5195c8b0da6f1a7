"""Who a visitor is, at the HTTP edge: the library cookie and the APP_PASSWORD throttle (issue #20).

Two small ASGI middlewares that Gradio's FastAPI app runs in front of every route (page.py hands
them over in `launch_options(app_kwargs={"middleware": ...})`):

- `LibraryCookie` gives each browser a random library key (256 bits) in an `HttpOnly` cookie, set
  by the server on the page it serves. The page script cannot read it (HttpOnly), nothing else
  sent to a visitor holds it, and the server stores only its hash (ui.visitor.owner_of). It also
  answers `POST .../kling/adopt-library`: a browser from before the cookie still holds its old
  key in localStorage, encrypted with a secret that Gradio sent every visitor in /config; the
  page posts that blob once, the server decrypts it with the data folder's old secret, moves the
  old key's runs to the cookie's key and the page forgets the blob. The old key opens nothing
  after that (anyone who read it with the public secret is locked out).
- `LoginThrottle` counts wrong APP_PASSWORD logins (Gradio's POST /login answering 400) per
  client address: after `FAILURES` in `WINDOW` seconds the next login gets 429 with Retry-After,
  without the password being checked. A right password clears the count.

No Gradio here: plain ASGI over Starlette's types, testable without a page.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..i18n import lang_of, t
from .proxies import public_scheme

LIBRARY_COOKIE = "kling_library"
COOKIE_MAX_AGE = 400 * 86400  # the longest browsers keep a cookie (Chrome caps Max-Age at 400 days)
ADOPT_PATH = "/kling/adopt-library"  # the page's one-time move from localStorage (assets/adopt.js)
ADOPT_MAX_BYTES = 4096  # an old blob is ~90 characters; anything longer is not one
_KEY = re.compile(r"[A-Za-z0-9_-]{32,128}")  # what new_library_key (and the old page) made

FAILURES = 5  # wrong passwords per address per WINDOW before logins wait (issue #20: 270/s)
WINDOW = 60.0
_MAX_ADDRESSES = 10_000  # addresses remembered; older ones are pruned first


def new_library_key() -> str:
    """A fresh library key: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def valid_key(value: str | None) -> str | None:
    """`value` when it looks like a library key, else None (a key is a bearer secret: a short
    or odd one is refused rather than hashed into someone's library)."""
    value = (value or "").strip()
    return value if _KEY.fullmatch(value) else None


def cookie_key(cookies: Any) -> str | None:
    """The library key in a request's cookies (a mapping, e.g. gr.Request.cookies), if any."""
    value = cookies.get(LIBRARY_COOKIE) if hasattr(cookies, "get") else None
    return valid_key(value if isinstance(value, str) else None)


def _request_cookie(scope: Scope) -> str | None:
    raw = Headers(scope=scope).get("cookie", "")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # noqa: BLE001 - a malformed Cookie header means no key, nothing more
        return None
    morsel = jar.get(LIBRARY_COOKIE)
    return valid_key(morsel.value) if morsel is not None else None


def set_cookie_header(key: str, scope: Scope, trusted_hops: int = 0) -> str:
    """The Set-Cookie value for `key` on this request.

    HttpOnly always; Secure when the request came over https (directly or, behind
    `trusted_hops` proxies, per the X-Forwarded-Proto the outermost trusted one wrote: the
    rule of kling_ui.hosting.proxies, so a visitor's own header changes nothing).
    SameSite=Lax, except for a page loaded in a cross-site frame over https (a Hugging Face
    Space shown inside huggingface.co): a Lax cookie would be neither stored nor sent there, so
    it is `SameSite=None; Secure; Partitioned` (CHIPS), a cookie kept for that one embedding
    site only.
    """
    headers = Headers(scope=scope)
    https = public_scheme(scope.get("scheme", "http"), headers.getlist("x-forwarded-proto"),
                          trusted_hops) == "https"
    framed = (headers.get("sec-fetch-site") == "cross-site"
              and headers.get("sec-fetch-dest") in ("iframe", "frame"))
    parts = [f"{LIBRARY_COOKIE}={key}", "Path=/", f"Max-Age={COOKIE_MAX_AGE}", "HttpOnly"]
    if https and framed:
        parts += ["Secure", "SameSite=None", "Partitioned"]
    else:
        parts += ["SameSite=Lax"] + (["Secure"] if https else [])
    return "; ".join(parts)


def legacy_key(blob: str, secret: str) -> str | None:
    """The library key an old page kept in localStorage (gr.BrowserState), or None.

    Gradio 6's frontend stores `base64(iv) + ":" + CryptoJS.AES.encrypt(JSON, SHA256(secret)
    as hex)`: with a passphrase, CryptoJS derives key and IV with OpenSSL's EVP_BytesToKey (MD5,
    one round) from an 8-byte salt kept after "Salted__" (the first IV is ignored).
    """
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    try:
        _iv, _, body = blob.partition(":")
        raw = base64.b64decode(body, validate=True)
        if not raw.startswith(b"Salted__") or len(raw) < 32 or len(raw) % 16:
            return None
        salt, data = raw[8:16], raw[16:]
        passphrase = hashlib.sha256(secret.encode()).hexdigest().encode()
        derived, block = b"", b""
        while len(derived) < 48:
            block = hashlib.md5(block + passphrase + salt, usedforsecurity=False).digest()
            derived += block
        decryptor = Cipher(algorithms.AES(derived[:32]), modes.CBC(derived[32:48])).decryptor()
        padded = decryptor.update(data) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        value = json.loads(unpadder.update(padded) + unpadder.finalize())
    except Exception:  # noqa: BLE001 - a wrong secret or a made-up blob is simply not a key
        return None
    return valid_key(value) if isinstance(value, str) else None


class LibraryCookie:
    """Sets the library cookie on the page, and adopts an old page's key once (see module doc).

    `adopt(old_key, new_key)` moves the old key's runs to the new one and returns how many;
    `legacy_secret()` is the data folder's old BrowserState secret (None: nothing to adopt).
    """

    def __init__(self, app: ASGIApp, *, adopt: Callable[[str, str], int] | None = None,
                 legacy_secret: Callable[[], str | None] | None = None,
                 trusted_hops: int = 0) -> None:
        self.app = app
        self.adopt = adopt
        self.legacy_secret = legacy_secret
        self.trusted_hops = trusted_hops

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        key = _request_cookie(scope)
        if scope["method"] == "POST" and scope["path"].rstrip("/").endswith(ADOPT_PATH):
            await self._adopt(scope, receive, send, key)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                # Only the page itself (HTML) carries the cookie: a browser always loads it first,
                # and an API response never hands a key to a client that did not ask for a page.
                if headers.get("content-type", "").startswith("text/html"):
                    # The same key again renews its 400 days; a browser without one gets one.
                    headers.append("set-cookie", set_cookie_header(key or new_library_key(), scope,
                                                                    self.trusted_hops))
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    async def _adopt(self, scope: Scope, receive: Receive, send: Send, key: str | None) -> None:
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > ADOPT_MAX_BYTES:
                await _json(send, 413, {"moved": 0})
                return
        content_type = Headers(scope=scope).get("content-type", "")
        secret = self.legacy_secret() if self.legacy_secret is not None else None
        try:
            blob = json.loads(body).get("blob") if content_type.startswith("application/json") else None
        except (ValueError, AttributeError):
            blob = None
        old = legacy_key(blob, secret) if isinstance(blob, str) and secret else None
        new = key or new_library_key()
        moved = self.adopt(old, new) if old and old != new and self.adopt is not None else 0
        # 200 even for a blob that opens nothing: the page forgets it either way.
        await _json(send, 200, {"moved": moved},
                    cookie=None if key else set_cookie_header(new, scope, self.trusted_hops))


async def _json(send: Send, status: int, content: dict[str, Any], *,
                cookie: str | None = None, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps(content).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store"), *(extra or [])]
    if cookie:
        headers.append((b"set-cookie", cookie.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class LoginThrottle:
    """At most `failures` wrong APP_PASSWORD logins per client address per `window` seconds."""

    def __init__(self, app: ASGIApp, *, failures: int = FAILURES, window: float = WINDOW,
                 clock: Callable[[], float] = time.monotonic,
                 address: Callable[[Scope], str] | None = None) -> None:
        self.app = app
        self.failures = max(1, int(failures))
        self.window = float(window)
        self.clock = clock
        self.address = address or peer_address
        self._lock = threading.Lock()
        self._seen: dict[str, deque[float]] = {}

    def retry_after(self, address: str) -> float:
        """Seconds until `address` may try a password again (0: now)."""
        now = self.clock()
        with self._lock:
            times = self._seen.get(address)
            if times is None:
                return 0.0
            while times and times[0] <= now - self.window:
                times.popleft()
            if not times:
                del self._seen[address]
                return 0.0
            return times[0] + self.window - now if len(times) >= self.failures else 0.0

    def _record(self, address: str, ok: bool) -> None:
        with self._lock:
            if ok:
                self._seen.pop(address, None)
                return
            if len(self._seen) >= _MAX_ADDRESSES and address not in self._seen:
                self._seen.pop(next(iter(self._seen)))  # the oldest address first
            self._seen.setdefault(address, deque()).append(self.clock())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["method"] != "POST"
                or not scope["path"].rstrip("/").endswith("/login")):
            await self.app(scope, receive, send)
            return
        address = self.address(scope)
        wait = self.retry_after(address)
        if wait > 0:
            secs = max(1, math.ceil(wait))
            lang = lang_of(Headers(scope=scope).get("accept-language", ""))
            await _json(send, 429, {"detail": t("login.throttled", lang, secs=secs)},
                        extra=[(b"retry-after", str(secs).encode())])
            return
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        await self.app(scope, receive, watch)
        if status == 400:  # Gradio's "Incorrect credentials."
            self._record(address, ok=False)
        elif 200 <= status < 300:
            self._record(address, ok=True)


def peer_address(scope: Scope) -> str:
    """The address that opened the connection (never a header the caller wrote)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"
