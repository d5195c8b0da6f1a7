"""The async Replicate client: files, predictions, polling, cancel and downloads.

One `httpx.AsyncClient` (built by `make_http_client`) serves every visitor: the API key is never
stored on the client but passed to each call as a `config.Secret`, revealed only where the
Authorization header is built (`_request`). Every response passes `protocol.raise_for_status`,
which turns problem details (and a proxy's HTML page) into `errors.ApiError` subclasses; the
values and the backoff schedule live in `protocol` too and are re-exported here.

Retries follow one rule (kling-o1.md, "A POST that created a paid prediction must never be
repeated blindly"): GETs (poll, download, file info) and cancels retry on 429, 5xx and network
errors; a create or upload POST retries only when the server certainly created nothing: a 429,
or a connection that was refused before the request was sent (`httpx.ConnectError`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import inspect
import logging
import math
import mimetypes
import os
import random
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from .. import __version__
from ..core.config import DEFAULT_BASE_URL, DEFAULT_MODEL, Secret
from ..core.errors import (
    ApiError,
    InputError,
    KlingConnectionError,
    KlingError,
    KlingTimeoutError,
    NotFoundError,
    PredictionError,
    RateLimitError,
    ServerError,
    StorageError,
    redact,
)
from ..core.models import Problem, Progress
from ..core.rules import UPLOAD_MAX_BYTES
from .protocol import (
    Prediction,
    UploadedFile,
    ambiguous_error,
    backoff_delay,
    expected_end,
    has_upload_url,
    is_retryable,
    poll_delay,
    progress_fraction,
    raise_for_status,
    ratelimit_exhausted,
    transport_error,
    unverified_error,
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


class ReplicateClient:
    """Async client for `kwaivgi/kling-o1` on Replicate (or the simulator). One per process.

    `model` is "owner/name" (official-model route) or "owner/name:version" (pinned version,
    POST /v1/predictions). Every call takes the visitor's `token`; nothing keeps it.
    """

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

    def __repr__(self) -> str:
        pinned = f":{self.version}" if self.version else ""
        return f"ReplicateClient(base_url={self.base_url!r}, model={self.model + pinned!r})"

    async def __aenter__(self) -> ReplicateClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

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
                if isinstance(exc, ApiError) and exc.retry_after is not None:
                    delay = min(RETRY_AFTER_CAP, max(exc.retry_after, 0.1))
                log.warning("%s failed (%s); retrying in %.1f s", what,
                            redact(type(exc).__name__ + ": " + str(exc), *secrets), delay)
                attempt += 1
                await self._sleep(delay)

    # -- files -------------------------------------------------------------------------------
    async def upload_file(
        self, path: str | os.PathLike[str], token: Secret, *, content_type: str | None = None
    ) -> UploadedFile:
        """POST /v1/files with the file streamed from disk (never read whole into memory)."""
        p = Path(path)
        size = p.stat().st_size
        if size >= UPLOAD_MAX_BYTES:
            raise InputError(
                f"{p.name} is {size / 1_000_000:.1f} MB; Replicate accepts files under 100 MB "
                "(100,000,000 bytes with the upload's envelope). Let the input doctor re-encode it "
                "smaller, or pick a shorter clip.",
                [Problem("file", "is too large to upload", fix="shrink")],
            )
        ctype = content_type or mimetypes.guess_type(p.name)[0] or "application/octet-stream"

        handles: list[Any] = []

        def build() -> dict[str, Any]:
            handle = p.open("rb")  # httpx streams file objects in 64 KiB chunks
            handles.append(handle)
            return {"files": {"content": (p.name, handle, ctype)}}

        try:
            async with self._upload_limit:
                data = await self._request("POST", "/v1/files", token, what=f"Uploading {p.name}",
                                           idempotent=False, build=build)
        finally:
            for handle in handles:
                handle.close()
        return UploadedFile(
            id=str(data["id"]), url=str((data.get("urls") or {}).get("get", "")),
            size=int(data.get("size", size)), name=str(data.get("name", p.name)),
            content_type=str(data.get("content_type", ctype)),
        )

    async def upload_files(
        self, paths: Iterable[str | os.PathLike[str]], token: Secret
    ) -> list[UploadedFile]:
        """Upload one job's files in parallel (at most `upload_concurrency` at once), in order."""
        return list(await asyncio.gather(*(self.upload_file(p, token) for p in paths)))

    async def as_input_url(self, path: str | os.PathLike[str], token: Secret) -> str:
        """A URL for a prediction input: a data: URI for files <= 256 KB, else an upload's URL."""
        p = Path(path)
        if p.stat().st_size <= INLINE_MAX_BYTES:
            ctype = mimetypes.guess_type(p.name)[0] or "application/octet-stream"
            return f"data:{ctype};base64," + base64.b64encode(p.read_bytes()).decode()
        return (await self.upload_file(p, token)).url

    async def input_urls(
        self, paths: Sequence[str | os.PathLike[str]], token: Secret
    ) -> tuple[dict[str, str], list[UploadedFile]]:
        """URLs for one job's files (small ones inline, the rest uploaded in parallel).

        Returns {path: url} and the uploads, so the caller can delete them after the run.
        """
        urls: dict[str, str] = {}
        to_upload: list[str] = []
        for path in dict.fromkeys(str(p) for p in paths):
            if Path(path).stat().st_size <= INLINE_MAX_BYTES:
                urls[path] = await self.as_input_url(path, token)
            else:
                to_upload.append(path)
        uploaded = await self.upload_files(to_upload, token)
        urls.update({p: u.url for p, u in zip(to_upload, uploaded, strict=True)})
        return urls, uploaded

    async def delete_file(self, file_id: str, token: Secret) -> bool:
        """DELETE /v1/files/{id}; best effort: failures are logged, never raised."""
        try:
            await self._request("DELETE", f"/v1/files/{file_id}", token,
                                what="Deleting an uploaded file", idempotent=True)
        except KlingError as exc:
            log.warning("could not delete uploaded file %s: %s", file_id, exc)
            return False
        return True

    async def delete_files(self, files: Sequence[UploadedFile], token: Secret) -> int:
        """Delete one job's uploads in parallel (best effort); returns how many went."""
        done = await asyncio.gather(*(self.delete_file(f.id, token) for f in files))
        return sum(done)

    # -- account -----------------------------------------------------------------------------
    async def account(self, token: Secret) -> str:
        """The username a key belongs to: GET /v1/account (OpenAPI account.get).

        A bad key answers 401 (`AuthError`), which is never retried, so a pasted key is judged
        with one request.
        """
        data = await self._request("GET", "/v1/account", token, what="Checking the key",
                                   idempotent=True)
        return str((data or {}).get("username") or "")

    # -- predictions -------------------------------------------------------------------------
    async def create_prediction(
        self,
        input: dict[str, Any],
        token: Secret,
        *,
        wait: int = 5,
        cancel_after: str | None = "30m",
        pace_budget: float | None = None,
        on_update: OnUpdate | None = None,
        cancel_event: asyncio.Event | None = None,
    ) -> Prediction:
        """Start a prediction; answers 201 or 202. Never repeated unless nothing was created.

        A throttled key (429) waits its turn, told by `on_update` ("Replicate is pacing this
        key: starting in ~8 s"), for up to `pace_budget` seconds in all (the job's deadline);
        without a budget, for `retry_attempts` 429s. `cancel_event` ends that wait at once
        (nothing was created, so nothing is billed).
        """
        headers: dict[str, str] = {}
        if wait:
            headers["Prefer"] = f"wait={max(1, min(60, int(wait)))}"
        if cancel_after:
            headers["Cancel-After"] = cancel_after
        if self.version:
            url, body = "/v1/predictions", {"version": self.version, "input": input}
        else:
            url, body = f"/v1/models/{self.model}/predictions", {"input": input}
        pace = self._paces.setdefault(_key_id(token), _Pace())
        paced, throttles = 0.0, 0
        while True:
            now = self._clock()
            if now - pace.last_throttle > PACE_FORGET:
                pace.gap = 0.0
            # Claim the key's next slot before sleeping, so jobs queue in turn, one gap apart.
            slot = max(now, pace.next_at)
            pace.next_at = slot + pace.gap
            delay = slot - now
            if delay > 0:
                if pace_budget is not None and paced + delay > pace_budget:
                    raise RateLimitError(
                        f"Replicate is throttling this key and the job could not start within "
                        f"its {pace_budget:.0f} s deadline. Try again later, or add credit: keys "
                        "with little credit get a much lower rate limit.", status=429)
                await _notify(on_update, Progress(
                    stage="starting", status="",
                    log_line=f"Replicate is pacing this key: starting in ~{math.ceil(delay)} s"))
                await self._pause(delay, cancel_event)
                paced += delay
                if cancel_event is not None and cancel_event.is_set():
                    raise PredictionError("Cancelled before the job started; nothing was billed.",
                                          prediction_id=None, status="canceled")
            sent_at, sent_clock = time.time(), self._clock()
            try:
                data = await self._request("POST", url, token, what="Starting the prediction",
                                           idempotent=False, headers=headers,
                                           build=lambda: {"json": body}, retry_throttled=False,
                                           on_response=lambda r: _note_exhausted(pace, r, self._clock))
                break
            except RateLimitError as exc:
                # Nothing was created: wait for the key's limit to reset, then try again.
                throttles += 1
                if pace_budget is None and throttles > self._retry_attempts:
                    raise
                gap = min(PACE_CAP, exc.retry_after if exc.retry_after is not None else PACE_DEFAULT)
                pace.gap, pace.last_throttle = gap, self._clock()
                pace.next_at = max(pace.next_at, pace.last_throttle + gap)
                log.info("create throttled; next create on this key in %.1f s", gap)
                continue
            except (KlingTimeoutError, KlingConnectionError, ServerError) as exc:
                # No reply, or a 5xx from a proxy: Replicate may still have made (and will bill)
                # the prediction. Find it and carry on with it, so a retry can never pay twice.
                found = await self._find_created(input, token, since=sent_at, cause=exc)
                if found is None:
                    raise
                log.warning("starting the prediction got no clear answer; found it as %s",
                            found.id)
                self._claim(found.id)
                return found
        prediction = Prediction.from_json(data)
        self._claim(prediction.id, sent_clock)
        return prediction

    def _claim(self, prediction_id: str, sent: float | None = None) -> None:
        """Remember a prediction some job of this process owns, so no other job adopts it, and
        when its create was sent (this client's clock), for `wait` to place its expected end."""
        self._claimed[prediction_id] = sent
        while len(self._claimed) > CLAIMED_MAX:
            self._claimed.pop(next(iter(self._claimed)))

    async def _find_created(
        self, input: dict[str, Any], token: Secret, *, since: float, cause: KlingError
    ) -> Prediction | None:
        """The prediction a create with no clear answer made, if any (GET /v1/predictions).

        Adopts only a prediction whose whole input equals ours (issue #11): on a shared host key
        two visitors may run the same preset, so "same prompt" is not enough. An input with an
        uploaded file's URL is unique (a URL per upload); a text-only one is adopted only when
        exactly one prediction matches and no other job of this process owns it, else we raise
        with the candidates' ids rather than guess. Raises too when even the look-up fails,
        since then we cannot say whether the user is being billed.
        """
        after = datetime.fromtimestamp(since - CREATE_CLOCK_SLACK, tz=timezone.utc).isoformat()
        try:
            page = await self._request("GET", "/v1/predictions", token, idempotent=True,
                                       what="Checking whether the prediction started",
                                       build=lambda: {"params": {"created_after": after}})
        except KlingError as exc:
            raise unverified_error(cause) from exc
        same = [item for item in (page or {}).get("results", [])
                if (item.get("input") or {}) == input]
        if not same:
            return None
        ids = [str(item.get("id", "")) for item in same]
        if has_upload_url(input) and len(same) > 1:
            log.error("several predictions carry this job's own upload URLs: %s", ids)
        unowned = [item for item in same if str(item.get("id", "")) not in self._claimed]
        if len(same) == 1 and unowned:
            return Prediction.from_json(same[0])
        raise ambiguous_error(cause, ids)

    async def get_prediction(self, prediction: Prediction | str, token: Secret) -> Prediction:
        url = (prediction.get_url if isinstance(prediction, Prediction) else "") or (
            f"/v1/predictions/{_id_of(prediction)}")
        data = await self._request("GET", url, token, what="Checking the prediction",
                                   idempotent=True)
        return Prediction.from_json(data)

    async def cancel(self, prediction: Prediction | str, token: Secret) -> Prediction:
        """POST /v1/predictions/{id}/cancel (idempotent: cancelling twice is harmless)."""
        url = (prediction.cancel_url if isinstance(prediction, Prediction) else "") or (
            f"/v1/predictions/{_id_of(prediction)}/cancel")
        data = await self._request("POST", url, token, what="Cancelling the prediction",
                                   idempotent=True)
        return Prediction.from_json(data)

    async def _cancel_quietly(self, prediction: Prediction, token: Secret) -> Prediction | None:
        """Cancel it; the prediction as Replicate answered, or None if the cancel failed."""
        try:
            return await self.cancel(prediction, token)
        except KlingError as exc:
            log.warning("could not cancel prediction %s: %s", prediction.id, exc)
            return None

    async def wait(
        self,
        prediction: Prediction,
        token: Secret,
        *,
        on_update: OnUpdate | None = None,
        deadline: float | None = None,
        cancel_event: asyncio.Event | None = None,
        expected_seconds: float | None = None,
        sent_at: float | None = None,
    ) -> Prediction:
        """Poll until the prediction ends; returns it when done, else raises PredictionError.

        `on_update` (sync or async) gets a `Progress` after every poll. When `cancel_event` is
        set or `deadline` seconds pass, the prediction is cancelled on the server first.
        `expected_seconds` (this mode's usual model time) makes polls sparse until just before
        the expected end and dense around it (`protocol.poll_delay`); `sent_at` is when the
        create was sent, on this client's clock (default: as this client recorded it, or now).
        """
        start = self._clock()
        sent = sent_at if sent_at is not None else self._claimed.get(prediction.id) or start
        current = prediction
        attempt = 0
        while True:
            elapsed = self._clock() - start
            await _notify(on_update, _progress(current, elapsed))
            if current.is_done:
                return current
            if current.is_terminal:
                raise _ended_badly(current)
            if cancel_event is not None and cancel_event.is_set():
                stopped = await self._cancel_quietly(current, token)
                if stopped is not None and stopped.is_terminal:
                    # The last word is Replicate's answer to the cancel ("canceled"), not the
                    # "starting" of the poll before it.
                    await _notify(on_update, _progress(stopped, self._clock() - start))
                raise PredictionError("Cancelled: the prediction was stopped on Replicate.",
                                      prediction_id=current.id, status="canceled")
            if deadline is not None and elapsed >= deadline:
                await self._cancel_quietly(current, token)
                raise PredictionError(
                    f"Timed out: no result after {deadline:.0f} s, so the prediction was "
                    "cancelled on Replicate. Try again later or raise KLING_JOB_TIMEOUT.",
                    prediction_id=current.id, status="timed out")
            now = self._clock()
            end_at = expected_end(current, sent_at=sent, now=now, expected_seconds=expected_seconds)
            delay = poll_delay(now, attempt, end_at, self._rng)
            if deadline is not None:
                delay = max(0.0, min(delay, deadline - elapsed))
            attempt += 1
            await self._pause(delay, cancel_event)
            if cancel_event is not None and cancel_event.is_set():
                continue
            current = await self.get_prediction(current, token)

    async def _pause(self, delay: float, cancel_event: asyncio.Event | None) -> None:
        """Sleep `delay`, waking early when `cancel_event` is set."""
        if cancel_event is None:
            await self._sleep(delay)
            return
        sleeper = asyncio.ensure_future(self._sleep(delay))
        waiter = asyncio.ensure_future(cancel_event.wait())
        try:
            await asyncio.wait({sleeper, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, waiter):
                task.cancel()
            await asyncio.gather(sleeper, waiter, return_exceptions=True)

    # -- output ------------------------------------------------------------------------------
    async def download_output(
        self, output: Any, dest_path: str | os.PathLike[str], token: Secret | None = None
    ) -> Path:
        """Save a prediction's output (URL, list of URLs, or data: URI) to `dest_path` at once.

        Streams to a `.part` file and renames it when complete. `token` is sent only when the
        URL is on the API host; delivery hosts never see it. Raises StorageError when the file
        cannot be written (the `.part` file is removed).
        """
        url = output[0] if isinstance(output, (list, tuple)) and output else output
        if not isinstance(url, str) or not url:
            raise PredictionError("The prediction finished without an output video.",
                                  prediction_id=None, status="succeeded")
        dest = Path(dest_path)
        part = dest.with_name(dest.name + ".part")
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            if url.startswith("data:"):
                _write_data_uri(url, part)
            else:
                await self._download_url(url, part, token)
            if part.stat().st_size == 0:
                raise KlingConnectionError("The output video downloaded empty. Try again.")
            part.replace(dest)
        except OSError as exc:
            # Our disk, not the network (httpx raises its own errors): full, over quota, an I/O
            # error, read-only. The caller decides what that means for a paid output.
            raise StorageError(f"The output video could not be written to disk "
                               f"({exc.strerror or type(exc).__name__}).") from exc
        finally:
            with contextlib.suppress(OSError):  # a read-only folder cannot lose it either
                part.unlink(missing_ok=True)
        return dest

    async def _download_url(self, url: str, part: Path, token: Secret | None) -> None:
        async def save(response: httpx.Response) -> None:
            with part.open("wb") as out:  # rewritten from scratch on every attempt
                async for chunk in response.aiter_bytes(CHUNK):
                    out.write(chunk)

        try:
            await self._request("GET", url, token, what="Downloading the output video",
                                idempotent=True, stream_to=save)
        except NotFoundError as exc:
            raise NotFoundError(
                "The output video is already gone: Replicate deletes outputs about an hour "
                "after a prediction ends. Run the job again.",
                status=exc.status, title=exc.title, detail=exc.detail) from exc
        except ApiError as exc:
            if exc.status != 410:
                raise
            raise NotFoundError(
                "The output video is already gone (410). Run the job again.",
                status=exc.status, title=exc.title, detail=exc.detail) from exc

    # -- everything at once ------------------------------------------------------------------
    async def run(
        self,
        input: dict[str, Any],
        token: Secret,
        *,
        on_update: OnUpdate | None = None,
        cancel_event: asyncio.Event | None = None,
        deadline: float | None = None,
        dest_dir: str | os.PathLike[str] | None = None,
        dest: str | os.PathLike[str] | None = None,
        on_created: Callable[[Prediction], Any] | None = None,
        wait: int = 5,
        cancel_after: str | None = "30m",
        expected_seconds: float | None = None,
        on_finished: Callable[[Prediction], Any] | None = None,
    ) -> tuple[Prediction, Path]:
        """Create, wait and download to `dest` (or `dest_dir`/<id>.mp4).

        Any exit without success after the create cancels the prediction (shielded), so an
        abandoned job cannot run on. `on_created` (sync or async) gets the new prediction.
        `expected_seconds` is this mode's usual model time, if known (see `wait`).
        `on_finished` (sync) gets the prediction once it succeeded, before the download: its
        inputs are no longer needed, so their uploads can go while the output comes down.

        The create is held (`Prefer: wait`, `wait` seconds) only when the model may end inside
        the hold: the time is unknown or shorter. A held create answers the moment a short model
        ends, but until it answers there is no prediction id, so Cancel cannot reach Replicate,
        the library cannot record the id and the progress cannot say "starting". For a mode
        that usually runs longer (real Kling O1 runs take minutes) the hold buys nothing: the
        polls placed at the expected end notice it as fast (bench figure 1).
        """
        if expected_seconds is not None and expected_seconds > wait:
            wait = 0
        prediction = await self.create_prediction(input, token, wait=wait, cancel_after=cancel_after,
                                                  pace_budget=deadline, on_update=on_update,
                                                  cancel_event=cancel_event)
        return await self.follow(prediction, token, on_update=on_update, cancel_event=cancel_event,
                                 deadline=deadline, dest_dir=dest_dir, dest=dest,
                                 on_created=on_created, expected_seconds=expected_seconds,
                                 on_finished=on_finished)

    async def follow(
        self,
        prediction: Prediction,
        token: Secret,
        *,
        on_update: OnUpdate | None = None,
        cancel_event: asyncio.Event | None = None,
        deadline: float | None = None,
        dest_dir: str | os.PathLike[str] | None = None,
        dest: str | os.PathLike[str] | None = None,
        on_created: Callable[[Prediction], Any] | None = None,
        expected_seconds: float | None = None,
        on_finished: Callable[[Prediction], Any] | None = None,
    ) -> tuple[Prediction, Path]:
        """Wait for an existing prediction and download its output (what `run` does after the
        create; the resumer calls it for a prediction found in the library after a restart)."""
        finished = prediction.is_terminal
        try:
            if on_created is not None:
                result = on_created(prediction)
                if inspect.isawaitable(result):
                    await result
            prediction = await self.wait(prediction, token, on_update=on_update,
                                         deadline=deadline, cancel_event=cancel_event,
                                         expected_seconds=expected_seconds)
            finished = True
            if on_finished is not None:
                on_finished(prediction)
            folder = Path(dest_dir) if dest_dir else Path(tempfile.gettempdir()) / "kling-outputs"
            await _notify(on_update, Progress(stage="downloading", status=prediction.status,
                                              prediction_id=prediction.id))
            target = Path(dest) if dest else folder / f"{prediction.id}.mp4"
            path = await self.download_output(prediction.output, target, token)
        except PredictionError:
            raise  # wait() already cancelled it when that was needed
        except BaseException:
            if not finished:
                # An abandoned job must not run on (and bill) after we stopped waiting for it.
                await asyncio.shield(self._cancel_quietly(prediction, token))
            raise
        await _notify(on_update, Progress(stage="done", status=prediction.status,
                                          prediction_id=prediction.id, fraction=1.0))
        return prediction, path


# -- module helpers ------------------------------------------------------------------------------
@dataclass
class _Pace:
    """One key's create pacing: when its next create may go, and the gap a 429 taught us."""

    next_at: float = 0.0
    gap: float = 0.0
    last_throttle: float = -math.inf


def _key_id(token: Secret) -> str:
    """A one-way id for a key, so pacing is per key without keeping the key."""
    return hashlib.sha256(token.reveal().encode()).hexdigest()[:16]


def _note_exhausted(pace: _Pace, response: httpx.Response, clock: Clock) -> None:
    """A reply saying no requests remain (`ratelimit-remaining: 0`) holds the next create."""
    reset = ratelimit_exhausted(response)
    if reset is not None:
        pace.next_at = max(pace.next_at, clock() + min(PACE_CAP, reset))


def _id_of(prediction: Prediction | str) -> str:
    return prediction.id if isinstance(prediction, Prediction) else prediction


def _progress(p: Prediction, elapsed: float) -> Progress:
    stage = "starting" if p.status == "starting" else "processing"
    if p.is_done:
        stage = "processing"
    return Progress(stage=stage, status=p.status, elapsed=elapsed, log_line=p.last_log_line,
                    fraction=progress_fraction(p.logs), prediction_id=p.id)


async def _notify(on_update: OnUpdate | None, progress: Progress) -> None:
    if on_update is None:
        return
    result = on_update(progress)
    if inspect.isawaitable(result):
        await result


def _ended_badly(p: Prediction) -> PredictionError:
    if p.status == "failed":
        text = (p.error or "no reason given").strip()
        return PredictionError(f"The prediction failed on Replicate: {text}",
                               prediction_id=p.id, status="failed")
    if p.status == "aborted":
        return PredictionError(
            "The prediction was aborted: its deadline (Cancel-After) passed before it started "
            "running, usually because Replicate was busy. Try again.",
            prediction_id=p.id, status="aborted")
    return PredictionError("The prediction was cancelled on Replicate before it finished.",
                           prediction_id=p.id, status="canceled")


def _write_data_uri(uri: str, dest: Path) -> None:
    head, sep, payload = uri.partition(",")
    if not sep:
        raise ServerError("The output is a malformed data: URI.", status=200)
    try:
        data = base64.b64decode(payload) if head.endswith(";base64") else payload.encode()
    except (ValueError, binascii.Error) as exc:
        raise ServerError("The output data: URI could not be decoded.", status=200) from exc
    dest.write_bytes(data)
