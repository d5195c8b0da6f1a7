"""Replicate's wire itself: the one `httpx.AsyncClient`, the retry rule, the key's one place.

`make_http_client` builds the client (timeouts, User-Agent, no credentials); `Wire._request` sends
one logical request: the key goes only to the API host, in the Authorization header it builds;
every response passes `protocol.raise_for_status`; GETs and cancels retry on 429, 5xx and network
errors, a create or upload only when the server certainly created nothing (kling-o1.md). The
limits and timeouts of the whole client live here. The client's parts (`files`, `predictions`,
`waiting`) build on `Wire`; `client.ReplicateClient` joins them.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from .. import __version__
from ..core.config import DEFAULT_BASE_URL, DEFAULT_MODEL, Secret
from ..core.errors import (
    ApiError,
    RateLimitError,
    ServerError,
    redact,
)
from ..core.models import Progress
from .protocol import (
    backoff_delay,
    is_retryable,
    raise_for_status,
    transport_error,
)

log = logging.getLogger(__name__)

USER_AGENT = f"kling-o1-studio/{__version__}"
# Timeouts: a create may hold the connection for `Prefer: wait` (at most 60 s, OpenAPI
# parameters_prefer_header), so reads get 65 s; writes are long enough for a 100 MB upload.
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 65.0
WRITE_TIMEOUT = 600.0
POOL_TIMEOUT = 30.0
# Replicate advises data: URIs only for small files: 256 KB in the OpenAPI spec (kling-o1.md).
INLINE_MAX_BYTES = 256 * 1024
UPLOAD_CONCURRENCY = 4
RETRY_ATTEMPTS = 4  # retries after the first try, for requests that are safe to repeat
# After a create with no clear answer, predictions made since this long before it are checked
# (our clock and Replicate's may disagree by a little).
CREATE_CLOCK_SLACK = 30.0
CLAIMED_MAX = 2000  # predictions this process created or adopted, remembered so none is adopted twice
RETRY_AFTER_CAP = 30.0  # never sleep longer than this on a server's Retry-After
# Pacing creates per key (issue #11): a 429 on create certainly created nothing, so the create
# waits its turn behind the key's limit for as long as the job's deadline allows. Waits a 429
# announces are trusted up to PACE_CAP; the learned gap between creates is forgotten after
# PACE_FORGET seconds without a 429.
PACE_CAP = 120.0
PACE_FORGET = 120.0
PACE_DEFAULT = 10.0  # a 429 that says nothing about when: Replicate's low-credit reset
CHUNK = 1024 * 1024

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]
OnUpdate = Callable[[Progress], Any]


def stale_connection(exc: BaseException) -> bool:
    """Whether a request died because the kept-alive connection it went out on had just been
    closed by the server (its idle timeout racing our reuse): nothing reached the server, so an
    idempotent request is sent again at once, as browsers do, not after a 1 s back-off (a
    delete of an upload paid 1.2 s for it over a 40 ms link, bench figure 1)."""
    return isinstance(exc, httpx.RemoteProtocolError) and "without sending" in str(exc)


def make_http_client(
    base_url: str = DEFAULT_BASE_URL,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: httpx.Timeout | None = None,
) -> httpx.AsyncClient:
    """The one place an `httpx.AsyncClient` is built: timeouts, User-Agent, no credentials."""
    return httpx.AsyncClient(
        base_url=base_url.rstrip("/"),
        transport=transport,
        timeout=timeout or httpx.Timeout(
            connect=CONNECT_TIMEOUT, read=READ_TIMEOUT, write=WRITE_TIMEOUT, pool=POOL_TIMEOUT
        ),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
    )



@dataclass
class _Pace:
    """One key's create pacing: when its next create may go, and the gap a 429 taught us."""

    next_at: float = 0.0
    gap: float = 0.0
    last_throttle: float = -math.inf


async def _notify(on_update: OnUpdate | None, progress: Progress) -> None:
    if on_update is None:
        return
    result = on_update(progress)
    if inspect.isawaitable(result):
        await result


class UploadBook(Protocol):
    """What the client tells about its uploads (the library's `Uploads` is one)."""

    def upload_made(self, base_url: str, file_id: str, token: Secret,
                    expires_at: float | None) -> None: ...

    def upload_gone(self, base_url: str, file_id: str) -> None: ...


class Wire:
    """The transport the client's parts share: one HTTP client, the retry rule, the state."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        model: str = DEFAULT_MODEL,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout | None = None,
        sleep: Sleep | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        retry_attempts: int = RETRY_ATTEMPTS,
        upload_concurrency: int = UPLOAD_CONCURRENCY,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model, _, self.version = model.partition(":")
        self._http = make_http_client(self.base_url, transport=transport, timeout=timeout)
        self._sleep: Sleep = sleep or asyncio.sleep
        self._clock: Clock = clock or time.monotonic
        self._rng = rng or random.Random()
        self._retry_attempts = retry_attempts
        self._upload_limit = asyncio.Semaphore(upload_concurrency)
        # prediction id owned by a job of this process -> when its create was sent (clock)
        self._claimed: dict[str, float | None] = {}
        self._paces: dict[str, _Pace] = {}  # per key (by a one-way id): create pacing
        # Where uploads are written down until deleted (kling_ui.library.uploads), so the next
        # process deletes what a killed one left; None: not kept (tests, the bench).
        self.book: UploadBook | None = None

    def __repr__(self) -> str:
        pinned = f":{self.version}" if self.version else ""
        return f"ReplicateClient(base_url={self.base_url!r}, model={self.model + pinned!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- transport ---------------------------------------------------------------------------
    def _is_api_host(self, url: str) -> bool:
        target, api = urlsplit(url), urlsplit(self.base_url)
        return (target.scheme, target.hostname, target.port) == (api.scheme, api.hostname, api.port)

    async def _request(
        self,
        method: str,
        url: str,
        token: Secret | None,
        *,
        what: str,
        idempotent: bool,
        build: Callable[[], dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        stream_to: Callable[[httpx.Response], Awaitable[Any]] | None = None,
        retry_throttled: bool = True,
        on_response: Callable[[httpx.Response], None] | None = None,
    ) -> Any:
        """Send one logical request with the retry rule; returns parsed JSON (or stream_to's value).

        `build` makes fresh request arguments per attempt (an upload reopens its file). The
        token goes only to the API host: never to delivery or any other host.
        """
        if not urlsplit(url).scheme:
            url = self.base_url + url
        secrets: tuple[str, ...] = ()
        send_headers = dict(headers or {})
        if token is not None and self._is_api_host(url):
            revealed = token.reveal()
            secrets = (revealed,)
            send_headers["Authorization"] = f"Bearer {revealed}"
        attempt = 0
        while True:
            try:
                extra = build() if build else {}
                request = self._http.build_request(method, url, headers=send_headers, **extra)
                response = await self._http.send(request, stream=True)
                try:
                    if response.status_code >= 400:
                        await response.aread()
                    raise_for_status(response, secrets=secrets)
                    if on_response is not None:
                        on_response(response)
                    if stream_to is not None:
                        return await stream_to(response)
                    await response.aread()
                    if not response.content:
                        return None
                    try:
                        return response.json()
                    except ValueError as exc:
                        raise ServerError(f"{what}: the server sent a reply that is not JSON.",
                                          status=response.status_code) from exc
                finally:
                    await response.aclose()
            except (ApiError, httpx.HTTPError) as exc:
                if not retry_throttled and isinstance(exc, RateLimitError):
                    raise  # the caller paces it (create_prediction)
                if attempt >= self._retry_attempts or not is_retryable(exc, idempotent=idempotent):
                    if isinstance(exc, httpx.HTTPError):
                        raise transport_error(exc, what, secrets) from exc
                    raise
                delay = backoff_delay(attempt, self._rng, first=1.0, factor=2.0, cap=RETRY_AFTER_CAP)
                if not attempt and idempotent and stale_connection(exc):
                    delay = 0.0  # a kept-alive connection the server had just closed: at once
                if isinstance(exc, ApiError) and exc.retry_after is not None:
                    delay = min(RETRY_AFTER_CAP, max(exc.retry_after, 0.1))
                log.warning("%s failed (%s); retrying in %.1f s", what,
                            redact(type(exc).__name__ + ": " + str(exc), *secrets), delay)
                attempt += 1
                await self._sleep(delay)

