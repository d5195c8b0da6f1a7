"""A local stand-in for the Replicate HTTP API, serving `kwaivgi/kling-o1` with real mp4 outputs.

It implements, with Replicate's JSON shapes and status codes (shared/reference/replicate-openapi.yaml),
the subset the client uses: the Files API, prediction create (model and version routes) / get /
cancel, `Prefer: wait=N`, `Cancel-After`, RFC 7807 problem details and 422 `invalid_fields` for
inputs that break the kling-o1 schema. Outputs are rendered by `media.render` in a worker thread
and served from `/delivery/{id}/output.mp4`, like replicate.delivery.

For tests, `SimState` records every request (without the token: a short hash marks which key
was used), and takes faults: forced statuses, delays, dropped connections, outcomes.
`running_simulator()` / `start_simulator()` serve it on 127.0.0.1 on a free port in a thread.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import json
import logging
import re
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from .config import DEFAULT_MODEL
from .media.render import RenderJob, render
from .rules import MAX_IMAGES_WITH_VIDEO, MAX_IMAGES_WITHOUT_VIDEO, UPLOAD_MAX_BYTES

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

SIM_VERSION = "6d5f2d4becc7" + "0" * 52  # looks like the model page's version id
TERMINAL = ("succeeded", "failed", "canceled", "aborted")
# The kling-o1 input schema (seed-kling-o1-model-page.txt).
INPUT_KEYS = {
    "prompt", "aspect_ratio", "duration", "end_image", "keep_original_sound", "mode",
    "reference_images", "reference_video", "start_image", "video_reference_type",
}
ENUMS = {
    "aspect_ratio": ("16:9", "9:16", "1:1"),
    "mode": ("std", "pro"),
    "video_reference_type": ("feature", "base"),
}
URI_KEYS = ("start_image", "end_image", "reference_video")
# Top-level keys of a create body (schemas_prediction_request; additionalProperties: false).
BODY_KEYS = {"input", "stream", "webhook", "webhook_events_filter"}
PREFER_RE = re.compile(r"^wait(=([1-9]|[1-9][0-9]|60))?$")
DURATION_RE = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?$")


def key_marker(token: str) -> str:
    """A short, one-way marker of an API key, so tests can tell keys apart without seeing them."""
    return hashlib.sha256(token.encode()).hexdigest()[:10]


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).isoformat().replace("+00:00", "Z")


def _new_id() -> str:
    return base64.b32encode(secrets.token_bytes(15)).decode().lower()[:26]


def parse_cancel_after(value: str) -> float | None:
    """Seconds in a Cancel-After value ("30s", "5m", "1h30m45s", bare "30"); None if malformed."""
    m = DURATION_RE.match(value.strip())
    if not value.strip() or not m:
        return None
    h, mins, s = (float(g) if g else 0.0 for g in m.groups())
    return h * 3600 + mins * 60 + s


@dataclass
class Fault:
    """One injected misbehaviour for the next `times` requests matching `method` and `path`.

    `path` matches as a prefix (`/v1/predictions` also matches `/v1/predictions/abc`), or as a
    regular expression when it starts with `^`. Exactly one effect applies, in this order:
    `drop` (send headers and half a body, then cut the connection), otherwise an optional
    `delay` followed by `status` (a problem-details body, or an HTML page when `html`), or, with
    no status, the normal answer after the delay.
    """

    path: str
    status: int | None = None
    method: str | None = None
    times: int = 1
    delay: float = 0.0
    drop: bool = False
    html: bool = False
    retry_after_header: float | None = None
    retry_after_body: float | None = None
    detail: str = ""

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        if self.path.startswith("^"):
            return re.match(self.path, path) is not None
        return path.startswith(self.path)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the simulator saw it, minus the Authorization header."""

    method: str
    path: str
    headers: dict[str, str]
    key: str | None  # key_marker() of the bearer token, None without one
    body: Any = None  # the parsed JSON body of a create, else None
    at: float = 0.0


@dataclass
class SimOptions:
    """How the simulated model and server behave. Tests shrink the times."""

    model_seconds: float = 6.0  # processing time after starting
    start_seconds: float = 0.3  # time spent in "starting"
    valid_tokens: frozenset[str] | None = None  # None: any non-empty bearer token works
    upload_limit: int = UPLOAD_MAX_BYTES  # files of this size or more get 413
    html_413: bool = False  # answer 413 as a proxy's HTML page instead of JSON
    min_cancel_after: float = 5.0  # Replicate refuses Cancel-After below 5 s
    accepted_202: bool = False  # answer 202 (not 201) when a create is still running
    model: str = DEFAULT_MODEL
    delivery_host: str | None = None  # serve outputs under another host name (e.g. "localhost")
    render_workers: int = 2


@dataclass
class SimPrediction:
    id: str
    input: dict[str, Any]
    base_url: str
    created: float
    version: str = "hidden"
    status: str = "starting"
    logs: str = ""
    output: Any = None
    error: str | None = None
    started: float | None = None
    completed: float | None = None
    cancel_after: float | None = None
    outcome: str = "succeeded"  # forced outcome: succeeded, failed, canceled, aborted, data_uri
    render: Future[Path] | None = None
    data_removed: bool = False


@dataclass
class SimFile:
    id: str
    name: str
    content_type: str
    size: int
    sha256: str
    path: Path
    created: float
    metadata: dict[str, Any] = field(default_factory=dict)


class SimState:
    """Everything the simulator knows; tests read it and inject faults through it.

    Thread-safe for the test thread and the server thread: mutations take `lock`.
    """

    def __init__(self, options: SimOptions | None = None, *, root: str | None = None) -> None:
        self.options = options or SimOptions()
        self.root = Path(root or tempfile.mkdtemp(prefix="kling-sim-"))
        self.lock = threading.RLock()
        self.requests: list[RecordedRequest] = []
        self.predictions: dict[str, SimPrediction] = {}
        self.files: dict[str, SimFile] = {}
        self.cancels: list[str] = []
        self.deleted_files: list[str] = []
        self.faults: list[Fault] = []
        self.outcomes: list[str] = []  # forced outcomes for the next creates, in order
        self.output_while_processing = 0  # next N creates answer with output, status processing
        self.executor = ThreadPoolExecutor(self.options.render_workers, "kling-sim-render")

    # -- fault injection -------------------------------------------------------------------
    def add_fault(self, path: str, status: int | None = None, **kwargs: Any) -> Fault:
        fault = Fault(path=path, status=status, **kwargs)
        with self.lock:
            self.faults.append(fault)
        return fault

    def end_next(self, outcome: str, times: int = 1) -> None:
        """Force the next predictions' end: failed, canceled, aborted, or data_uri (output)."""
        if outcome not in ("succeeded", "failed", "canceled", "aborted", "data_uri"):
            raise ValueError(f"unknown outcome {outcome!r}")
        with self.lock:
            self.outcomes.extend([outcome] * times)

    def expire_output(self, prediction_id: str) -> None:
        """Delete an output as replicate.delivery does an hour after the end: delivery gives 404."""
        with self.lock:
            pred = self.predictions[prediction_id]
            pred.data_removed = True

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and fault.matches(method, path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    # -- queries for tests -----------------------------------------------------------------
    def requests_to(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        with self.lock:
            return [r for r in self.requests if r.path.startswith(path)
                    and (method is None or r.method == method.upper())]

    def creates(self) -> list[RecordedRequest]:
        with self.lock:
            return [r for r in self.requests if r.method == "POST" and (
                r.path == "/v1/predictions" or re.fullmatch(r"/v1/models/[^/]+/[^/]+/predictions", r.path)
            )]

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.root, ignore_errors=True)

    # -- lifecycle -------------------------------------------------------------------------
    def advance(self, pred: SimPrediction, now: float | None = None) -> None:
        """Bring `pred` up to date with the clock: starting -> processing -> an end state."""
        now = time.time() if now is None else now
        with self.lock:
            if pred.status in TERMINAL:
                return
            age = now - pred.created
            opts = self.options
            if pred.started is None and pred.outcome != "aborted" and age >= opts.start_seconds:
                pred.started = pred.created + opts.start_seconds
                pred.status = "processing"
                pred.logs = "Starting Kling O1 (simulated)\n"
            if pred.cancel_after is not None and age >= pred.cancel_after:
                # Cancel-After: before the model started it is "aborted", after it "canceled".
                if pred.started is None or pred.started - pred.created >= pred.cancel_after:
                    pred.started = None
                    self._end(pred, "aborted", now)
                else:
                    self._end(pred, "canceled", now, "Prediction was canceled: Cancel-After passed.")
                return
            if pred.started is None:
                if pred.outcome == "aborted" and age >= opts.start_seconds:
                    self._end(pred, "aborted", now)
                return
            frac = min(1.0, (now - pred.started) / max(opts.model_seconds, 1e-6))
            self._grow_logs(pred, frac)
            if frac < 1.0:
                return
            if pred.outcome == "failed":
                self._end(pred, "failed", now, "Simulated failure: the model could not generate "
                          "this video (E1234).")
            elif pred.outcome == "canceled":
                self._end(pred, "canceled", now)
            elif pred.render is not None and pred.render.done():
                exc = pred.render.exception()
                if exc is not None:
                    self._end(pred, "failed", now, f"Rendering failed: {exc}")
                else:
                    pred.output = self.output_value(pred)
                    pred.logs += "Video ready\n"
                    self._end(pred, "succeeded", now)

    def _grow_logs(self, pred: SimPrediction, frac: float) -> None:
        step = int(frac * 100) // 20 * 20
        have = pred.logs.count("Generating frames")
        for pct in range(have * 20, step + 1, 20):
            pred.logs += f"Generating frames {pct}%\n"

    def _end(self, pred: SimPrediction, status: str, now: float, error: str | None = None) -> None:
        pred.status = status
        pred.completed = now
        if error:
            pred.error = error
        if status == "aborted":
            pred.error = pred.error or "Prediction was aborted: its deadline passed before it started."

    def output_value(self, pred: SimPrediction) -> str:
        assert pred.render is not None
        path = pred.render.result()
        if pred.outcome == "data_uri":
            return "data:video/mp4;base64," + base64.b64encode(path.read_bytes()).decode()
        base = pred.base_url
        if self.options.delivery_host:
            parts = urlsplit(base)
            port = f":{parts.port}" if parts.port else ""
            base = f"{parts.scheme}://{self.options.delivery_host}{port}"
        return f"{base}/delivery/{pred.id}/output.mp4"

    def prediction_json(self, pred: SimPrediction) -> dict[str, Any]:
        self.advance(pred)
        base = pred.base_url
        metrics: dict[str, Any] = {}
        if pred.started is not None and pred.completed is not None:
            metrics["predict_time"] = round(pred.completed - pred.started, 3)
            metrics["total_time"] = round(pred.completed - pred.created, 3)
        return {
            "id": pred.id,
            "model": self.options.model,
            "version": pred.version,
            "input": pred.input,
            "logs": pred.logs,
            "output": pred.output,
            "data_removed": pred.data_removed,
            "error": pred.error,
            "source": "api",
            "status": pred.status,
            "created_at": _iso(pred.created),
            "started_at": _iso(pred.started),
            "completed_at": _iso(pred.completed),
            "metrics": metrics,
            "urls": {
                "get": f"{base}/v1/predictions/{pred.id}",
                "cancel": f"{base}/v1/predictions/{pred.id}/cancel",
                "web": f"{base}/p/{pred.id}",
                "stream": f"{base}/v1/predictions/{pred.id}/stream",
            },
        }


# -- responses ---------------------------------------------------------------------------------
def problem(status: int, title: str, detail: str = "", **extra: Any) -> JSONResponse:
    """An RFC 7807 problem-details response, as Replicate sends."""
    body = {"title": title, "detail": detail or title, "status": status, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


TITLES = {
    400: "Bad request", 401: "Unauthenticated", 402: "Billing required", 404: "Not found",
    413: "Request Entity Too Large", 422: "Input validation failed", 429: "Too many requests",
    500: "Internal server error", 502: "Bad gateway", 503: "Service unavailable",
    504: "Gateway timeout",
}
HTML_413 = (
    "<html><head><title>413 Request Entity Too Large</title></head><body>"
    "<center><h1>413 Request Entity Too Large</h1></center><hr><center>nginx</center>"
    "</body></html>"
)


def fault_response(fault: Fault) -> Response:
    status = fault.status or 500
    if fault.html:
        return HTMLResponse(HTML_413 if status == 413 else f"<html><body><h1>{status}</h1></body></html>",
                            status_code=status)
    headers = {}
    extra: dict[str, Any] = {}
    if fault.retry_after_header is not None:
        headers["Retry-After"] = f"{fault.retry_after_header:g}"
    if fault.retry_after_body is not None:
        extra["retry_after"] = fault.retry_after_body
    detail = fault.detail
    if status == 429 and not detail:
        secs = fault.retry_after_body or fault.retry_after_header or 1
        detail = f"Request was throttled. Your rate limit resets in ~{secs:g}s."
    if status == 422 and "invalid_fields" not in extra:
        extra["invalid_fields"] = [{"type": "simulated", "field": "input",
                                    "description": detail or "Simulated validation error"}]
    resp = problem(status, TITLES.get(status, "Error"), detail, **extra)
    resp.headers.update(headers)
    return resp


# -- input validation (422) --------------------------------------------------------------------
def validate_body(body: Any, *, version_route: bool) -> list[dict[str, str]]:
    """The `invalid_fields` Replicate would list for a create body against the kling-o1 schema."""
    bad: list[dict[str, str]] = []

    def add(field_name: str, description: str, type_: str = "invalid") -> None:
        bad.append({"type": type_, "field": field_name, "description": description})

    if not isinstance(body, dict):
        add("(root)", "Request body must be a JSON object", "invalid_type")
        return bad
    allowed = BODY_KEYS | ({"version"} if version_route else set())
    for key in sorted(set(body) - allowed):
        add(key, f"Additional property {key} is not allowed", "additional_property_not_allowed")
    if version_route and not isinstance(body.get("version"), str):
        add("version", "version is required", "required")
    inp = body.get("input")
    if not isinstance(inp, dict):
        add("input", "input is required and must be an object", "required")
        return bad
    for key in sorted(set(inp) - INPUT_KEYS):
        add(f"input.{key}", f"Additional property {key} is not allowed",
            "additional_property_not_allowed")
    prompt = inp.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        add("input.prompt", "prompt is required", "required")
    for key, choices in ENUMS.items():
        if key in inp and inp[key] not in choices:
            allowed_values = ", ".join(f'"{c}"' for c in choices)
            add(f"input.{key}", f"{key} must be one of the following: {allowed_values}", "enum")
    if "duration" in inp:
        d = inp["duration"]
        if isinstance(d, bool) or not isinstance(d, int) or not 3 <= d <= 10:
            add("input.duration", "duration must be an integer between 3 and 10", "enum")
    if "keep_original_sound" in inp and not isinstance(inp["keep_original_sound"], bool):
        add("input.keep_original_sound", "Invalid type. Expected: boolean", "invalid_type")
    for key in URI_KEYS:
        if key in inp and not (isinstance(inp[key], str) and inp[key]):
            add(f"input.{key}", "Does not match format 'uri'", "format")
    refs = inp.get("reference_images", [])
    if not isinstance(refs, list) or not all(isinstance(r, str) and r for r in refs):
        add("input.reference_images", "Invalid type. Expected: array of uri", "invalid_type")
        refs = []
    if "end_image" in inp and "start_image" not in inp:
        add("input.end_image", "end_image requires start_image to be set")
    limit = MAX_IMAGES_WITH_VIDEO if "reference_video" in inp else MAX_IMAGES_WITHOUT_VIDEO
    if len(refs) > limit:
        add("input.reference_images", f"Array must have at most {limit} items", "array_max_items")
    return bad


# -- the ASGI app ------------------------------------------------------------------------------
class _Drop(Exception):
    """Raised after half a response so uvicorn cuts the connection (a dropped connection)."""


class SimMiddleware:
    """Records each request, checks auth, and applies injected faults before the routes."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], state: SimState):
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = self.state
        path: str = scope["path"]
        method: str = scope["method"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        auth = headers.pop("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        record = RecordedRequest(method, path, headers, key_marker(token) if token else None,
                                 at=time.time())
        with state.lock:
            state.requests.append(record)
            index = len(state.requests) - 1
        scope.setdefault("state", {})["record_index"] = index
        if path.startswith("/_sim/"):
            await self.app(scope, receive, send)
            return
        fault = state.take_fault(method, path)
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.drop:
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", b"4096")]})
            await send({"type": "http.response.body", "body": b'{"id": "dropp', "more_body": True})
            raise _Drop("simulated dropped connection")
        if fault is not None and fault.status is not None:
            await fault_response(fault)(scope, receive, send)
            return
        if path.startswith("/v1/"):
            valid = state.options.valid_tokens
            if not token or (valid is not None and token not in valid):
                detail = "You did not pass a valid authentication token" if token else (
                    "You did not pass an authentication token")
                await problem(401, "Unauthenticated", detail)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _state(request: Request) -> SimState:
    state: SimState = request.app.state.sim
    return state


async def create_file(request: Request) -> Response:
    state = _state(request)
    limit = state.options.upload_limit
    too_large: Response = (HTMLResponse(HTML_413, status_code=413) if state.options.html_413
                           else problem(413, "Request Entity Too Large",
                                        f"Files must be less than {limit // (1024 * 1024)}MB in size"))
    length = int(request.headers.get("content-length") or 0)
    if length > limit + 64 * 1024:  # the multipart envelope is small; refuse before reading
        return too_large
    async with request.form(max_files=1, max_part_size=1024 * 1024) as form:
        content = form.get("content")
        if not isinstance(content, UploadFile):
            return problem(422, "Input validation failed", "content is required",
                           invalid_fields=[{"type": "required", "field": "content",
                                            "description": "content is required"}])
        file_id = _new_id()
        dest = state.root / "files" / file_id
        size, digest = await asyncio.to_thread(_save_upload, content, dest)
        if size >= limit:
            dest.unlink(missing_ok=True)
            return too_large
        metadata: dict[str, Any] = {}
        raw_meta = form.get("metadata")
        if isinstance(raw_meta, str) and raw_meta:
            with contextlib.suppress(ValueError):
                metadata = json.loads(raw_meta)
        name = content.filename or (form.get("filename") if isinstance(form.get("filename"), str) else None) or "file"
        sim_file = SimFile(file_id, str(name), content.content_type or "application/octet-stream",
                           size, digest, dest, time.time(), metadata)
    with state.lock:
        state.files[file_id] = sim_file
    return JSONResponse(_file_json(sim_file, _base(request)), status_code=201)


def _save_upload(content: UploadFile, dest: Path) -> tuple[int, str]:
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    content.file.seek(0)
    with dest.open("wb") as out:
        while chunk := content.file.read(1024 * 1024):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _file_json(f: SimFile, base: str) -> dict[str, Any]:
    return {
        "id": f.id, "name": f.name, "content_type": f.content_type, "size": f.size,
        "etag": f.sha256[:32], "checksums": {"sha256": f.sha256}, "metadata": f.metadata,
        "created_at": _iso(f.created), "expires_at": _iso(f.created + 86400),
        "urls": {"get": f"{base}/v1/files/{f.id}"},
    }


async def get_file(request: Request) -> Response:
    state = _state(request)
    f = state.files.get(request.path_params["file_id"])
    if f is None:
        return problem(404, "Not found", "File not found")
    return JSONResponse(_file_json(f, _base(request)))


async def delete_file(request: Request) -> Response:
    state = _state(request)
    file_id = request.path_params["file_id"]
    with state.lock:
        f = state.files.pop(file_id, None)
        if f is not None:
            state.deleted_files.append(file_id)
    if f is None:
        return problem(404, "Not found", "File not found")
    f.path.unlink(missing_ok=True)
    return Response(status_code=204)


async def create_model_prediction(request: Request) -> Response:
    owner, name = request.path_params["owner"], request.path_params["name"]
    if f"{owner}/{name}" != _state(request).options.model:
        return problem(404, "Not found", f"Model {owner}/{name} not found")
    return await _create(request, version_route=False)


async def create_version_prediction(request: Request) -> Response:
    return await _create(request, version_route=True)


async def _create(request: Request, *, version_route: bool) -> Response:
    state = _state(request)
    try:
        body = await request.json()
    except ValueError:
        return problem(400, "Bad request", "Request body is not valid JSON")
    with state.lock:
        state.requests[request.scope["state"]["record_index"]] = _with_body(
            state.requests[request.scope["state"]["record_index"]], body)
    invalid = validate_body(body, version_route=version_route)
    wait_s = 0.0
    prefer = request.headers.get("prefer")
    if prefer is not None:
        m = PREFER_RE.match(prefer.strip())
        # The OpenAPI pattern lets 61-99 through; its description says 1..60.
        if not m or float(m.group(2) or 60) > 60:
            invalid.append({"type": "invalid", "field": "Prefer",
                            "description": "Prefer must be wait or wait=n with n in 1..60"})
        else:
            wait_s = float(m.group(2) or 60)
    cancel_after = None
    raw_cancel = request.headers.get("cancel-after")
    if raw_cancel is not None:
        cancel_after = parse_cancel_after(raw_cancel)
        if cancel_after is None or cancel_after < state.options.min_cancel_after:
            invalid.append({"type": "invalid", "field": "Cancel-After", "description":
                            f"Cancel-After must be a duration of at least "
                            f"{state.options.min_cancel_after:g}s"})
    if invalid:
        detail = "; ".join(f"{f['field']}: {f['description']}" for f in invalid)
        return problem(422, "Input validation failed", detail, invalid_fields=invalid)
    with state.lock:
        outcome = state.outcomes.pop(0) if state.outcomes else "succeeded"
        early_output = state.output_while_processing > 0
        if early_output:
            state.output_while_processing -= 1
    version = "hidden"
    if version_route:
        version = str(body["version"]).rsplit(":", 1)[-1]
    pred = SimPrediction(_new_id(), body["input"], _base(request), time.time(), version=version,
                         cancel_after=cancel_after, outcome=outcome)
    pred.render = state.executor.submit(_render_prediction, state, pred)
    with state.lock:
        state.predictions[pred.id] = pred
    if early_output:
        # Replicate can answer 201 with output while status still reads "processing".
        with contextlib.suppress(Exception):  # a failed render shows up as a failed prediction
            await asyncio.wrap_future(pred.render)
        data = state.prediction_json(pred)
        if data["status"] not in TERMINAL and pred.render.exception() is None:
            data["status"] = "processing"
            data["output"] = state.output_value(pred)
        return JSONResponse(data, status_code=201)
    deadline = time.time() + wait_s
    while time.time() < deadline:
        state.advance(pred)
        if pred.status in TERMINAL:
            break
        await asyncio.sleep(0.05)
    data = state.prediction_json(pred)
    code = 202 if state.options.accepted_202 and data["status"] not in TERMINAL else 201
    return JSONResponse(data, status_code=code)


def _with_body(rec: RecordedRequest, body: Any) -> RecordedRequest:
    return RecordedRequest(rec.method, rec.path, rec.headers, rec.key, body, rec.at)


def _render_prediction(state: SimState, pred: SimPrediction) -> Path:
    """Resolve the input URLs to local files and render the output (runs in a worker thread)."""
    inp = pred.input
    work = state.root / "predictions" / pred.id
    work.mkdir(parents=True, exist_ok=True)
    get = lambda key: _local_input(state, inp[key], work, key)  # noqa: E731
    images = [get("start_image")] if "start_image" in inp else []
    if "end_image" in inp:
        images.append(get("end_image"))
    refs = [_local_input(state, u, work, f"ref{i}") for i, u in enumerate(inp.get("reference_images", []))]
    video = get("reference_video") if "reference_video" in inp else None
    if video is not None:
        kind = "base" if inp.get("video_reference_type") == "base" else "feature"
    elif images:
        kind = "frames"
    elif refs:
        kind = "references"
    else:
        kind = "text"
    job = RenderJob(
        kind=kind, prompt=str(inp.get("prompt", "")), mode=str(inp.get("mode", "pro")),
        aspect_ratio=str(inp.get("aspect_ratio", "16:9")), duration=int(inp.get("duration", 5)),
        images=tuple(images if kind == "frames" else refs), video=video,
        keep_sound=bool(inp.get("keep_original_sound", True)),
    )
    return render(job, work / "output.mp4")


def _local_input(state: SimState, url: str, work: Path, name: str) -> str:
    """A local path for an input URL: our own /v1/files or /delivery URL, or a data: URI."""
    if url.startswith("data:"):
        try:
            head, payload = url.split(",", 1)
            data = base64.b64decode(payload) if head.endswith(";base64") else payload.encode()
        except (ValueError, binascii.Error) as exc:
            raise ValueError(f"{name}: malformed data URI") from exc
        path = work / f"{name}.bin"
        path.write_bytes(data)
        return str(path)
    path_part = urlsplit(url).path
    m = re.fullmatch(r"/v1/files/([^/]+)(?:/download)?", path_part)
    if m:
        with state.lock:
            f = state.files.get(m.group(1))
        if f is None:
            raise ValueError(f"{name}: file {m.group(1)} not found (deleted before the run?)")
        return str(f.path)
    m = re.fullmatch(r"/delivery/([^/]+)/output\.mp4", path_part)
    if m and m.group(1) in state.predictions:
        render_future = state.predictions[m.group(1)].render
        if render_future is not None:
            return str(render_future.result())
    raise ValueError(f"{name}: could not download {url[:60]} (the simulator has no internet)")


async def get_prediction(request: Request) -> Response:
    state = _state(request)
    pred = state.predictions.get(request.path_params["prediction_id"])
    if pred is None:
        return problem(404, "Not found", "Prediction not found")
    return JSONResponse(state.prediction_json(pred))


async def cancel_prediction(request: Request) -> Response:
    state = _state(request)
    pred = state.predictions.get(request.path_params["prediction_id"])
    if pred is None:
        return problem(404, "Not found", "Prediction not found")
    with state.lock:
        state.cancels.append(pred.id)
        state.advance(pred)
        if pred.status not in TERMINAL:
            state._end(pred, "canceled", time.time())
    return JSONResponse(state.prediction_json(pred))


async def delivery(request: Request) -> Response:
    state = _state(request)
    pred = state.predictions.get(request.path_params["prediction_id"])
    if pred is None or pred.data_removed or pred.render is None or not pred.render.done():
        return problem(404, "Not found", "Output not found or expired")
    return FileResponse(pred.render.result(), media_type="video/mp4", filename="output.mp4")


async def add_fault_endpoint(request: Request) -> Response:
    """POST /_sim/faults {"path": ..., "status": ..., ...}: the same as SimState.add_fault."""
    spec = await request.json()
    kind = spec.pop("outcome", None)
    if kind:
        _state(request).end_next(kind, int(spec.pop("times", 1)))
        return JSONResponse({"ok": True}, status_code=201)
    fault = _state(request).add_fault(**spec)
    return JSONResponse({"ok": True, "fault": fault.__dict__}, status_code=201)


def create_app(state: SimState | None = None) -> Starlette:
    """The simulator as an ASGI app; `app.state.sim` is its `SimState`."""
    state = state or SimState()
    routes = [
        Route("/v1/files", create_file, methods=["POST"]),
        Route("/v1/files/{file_id}", get_file, methods=["GET"]),
        Route("/v1/files/{file_id}", delete_file, methods=["DELETE"]),
        Route("/v1/models/{owner}/{name}/predictions", create_model_prediction, methods=["POST"]),
        Route("/v1/predictions", create_version_prediction, methods=["POST"]),
        Route("/v1/predictions/{prediction_id}", get_prediction, methods=["GET"]),
        Route("/v1/predictions/{prediction_id}/cancel", cancel_prediction, methods=["POST"]),
        Route("/delivery/{prediction_id}/output.mp4", delivery, methods=["GET"]),
        Route("/_sim/faults", add_fault_endpoint, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.sim = state
    app.add_middleware(SimMiddleware, state=state)
    return app


# -- running it ----------------------------------------------------------------------------------
def _serve(app: Any, host: str, port: int, timeout: float) -> tuple[str, Callable[[], None]]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False,
                            timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name=f"kling-sim-{bound_port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("The simulator did not start listening in time.")
        time.sleep(0.01)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout)
        sock.close()

    return f"http://{host}:{bound_port}", stop


def serve_in_thread(
    app: Any, host: str = "127.0.0.1", port: int = 0, *, timeout: float = 10.0
) -> tuple[str, Callable[[], None]]:
    """Serve an ASGI `app` with uvicorn in a daemon thread; returns (base_url, stop).

    The socket is bound here, so port 0 gives a free port known before the server starts, and
    the call returns only once the server accepts connections.
    """
    return _serve(app, host, port, timeout)


@dataclass
class RunningSimulator:
    """A simulator serving in a daemon thread. `stop()` shuts it down and deletes its files."""

    base_url: str
    state: SimState
    _stop: Callable[[], None]

    def stop(self) -> None:
        self._stop()
        self.state.close()


def start_simulator(
    options: SimOptions | None = None, *, host: str = "127.0.0.1", port: int = 0, **kwargs: Any
) -> RunningSimulator:
    """Start a simulator on `host`, a free port, in a thread: one call for the app and tests.

    `kwargs` are `SimOptions` fields (e.g. `model_seconds=0.5`). Call `.stop()` when done.
    """
    state = SimState(options or SimOptions(**kwargs))
    try:
        base_url, stop = _serve(create_app(state), host, port, 10.0)
    except BaseException:
        state.close()
        raise
    return RunningSimulator(base_url, state, stop)


class SimulatorServer:
    """Start/stop handle for the app: `SimulatorServer(model_seconds=6).start()` -> base URL."""

    def __init__(self, **options: Any) -> None:
        self.options = SimOptions(**options)
        self._running: RunningSimulator | None = None

    def start(self) -> str:
        if self._running is None:
            self._running = start_simulator(self.options)
        return self._running.base_url

    @property
    def base_url(self) -> str:
        return self.start()

    @property
    def state(self) -> SimState:
        self.start()
        assert self._running is not None
        return self._running.state

    def stop(self) -> None:
        if self._running is not None:
            self._running.stop()
            self._running = None


@contextlib.contextmanager
def running_simulator(**options: Any) -> Iterator[RunningSimulator]:
    """`with running_simulator(model_seconds=0.3) as sim:` -> sim.base_url, sim.state."""
    sim = start_simulator(**options)
    try:
        yield sim
    finally:
        sim.stop()
