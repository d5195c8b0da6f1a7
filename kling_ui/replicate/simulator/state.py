"""The simulator's state: options, recorded requests, faults, predictions and files."""

from __future__ import annotations

import base64
import hashlib
import math
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ...core.config import DEFAULT_MODEL
from ...core.rules import UPLOAD_MAX_BYTES

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

SIM_VERSION = "6d5f2d4becc7" + "0" * 52  # looks like the model page's version id
TERMINAL = ("succeeded", "failed", "canceled", "aborted")
ENCODING = "Encoding the video"  # the log line while the render outlasts the model time
# Each model's input schema is its profile (core/profile.py; schema.validate_body).
URI_KEYS = ("start_image", "end_image", "reference_video")
# Top-level keys of a create body (schemas_prediction_request; additionalProperties: false).
BODY_KEYS = {"input", "stream", "webhook", "webhook_events_filter"}
PREFER_RE = re.compile(r"^wait(=([1-9]|[1-9][0-9]|60))?$")
DURATION_RE = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?$")


# Which bearer tokens the simulator accepts when SimOptions.valid_tokens is None. A real key is
# "r8_" + 37 characters; the simulator accepts any token of 20+ characters without spaces (real
# keys, the app's simulator token, test keys) and refuses short or spaced ones such as "hello"
# with Replicate's own 401 body, so a pasted key check behaves as it does on Replicate.
MIN_KEY_CHARS = 20


def plausible_key(token: str) -> bool:
    return len(token) >= MIN_KEY_CHARS and not any(c.isspace() for c in token)


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
    valid_tokens: frozenset[str] | None = None  # None: any plausible_key() works
    upload_limit: int = UPLOAD_MAX_BYTES  # files of this size or more get 413
    html_413: bool = False  # answer 413 as a proxy's HTML page instead of JSON
    min_cancel_after: float = 5.0  # Replicate refuses Cancel-After below 5 s
    accepted_202: bool = False  # answer 202 (not 201) when a create is still running
    model: str = DEFAULT_MODEL
    delivery_host: str | None = None  # serve outputs under another host name (e.g. "localhost")
    render_workers: int = 2
    # Throttling per key, as Replicate does it: a token bucket of `create_burst` creates refilled
    # at `creates_per_minute`; None = no limit (Replicate's 600/min never binds here). A key
    # over it gets Replicate's 429 body; `low_credit` words it as for a key under $5 of credit.
    creates_per_minute: float | None = None
    create_burst: int = 1
    low_credit: bool = False
    # Serve this mp4 as every prediction's output instead of rendering one (benchmarks): the
    # model then takes exactly its model time, as on Replicate, with no ffmpeg render running
    # beside the clients being timed or ending a short "model" late.
    fixed_output: str | None = None
    # Each distinct input is rendered once per process (kling_ui.media.render_cache); off where
    # a test needs a render's own time.
    render_cache: bool = True


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
    key: str = ""  # key_marker of the token that created it: list shows an account its own
    model: str = ""  # owner/name it was created for ("" = the options' model)


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
        # Creates that make the prediction and then answer nothing for this many seconds (the
        # client's read timeout fires): "Replicate accepted it, but the reply never came".
        self.stall_creates: list[float] = []
        self.deleted_files: list[str] = []
        self.faults: list[Fault] = []
        self.outcomes: list[str] = []  # forced outcomes for the next creates, in order
        self.output_while_processing = 0  # next N creates answer with output, status processing
        self.executor = ThreadPoolExecutor(self.options.render_workers, "kling-sim-render")
        self.buckets: dict[str, tuple[float, float]] = {}  # key marker -> (tokens, at)
        self.throttled: list[RecordedRequest] = []  # creates answered 429

    def take_create(self, key: str, now: float | None = None) -> float | None:
        """Spend one of `key`'s creates; None when allowed, else seconds until one is available."""
        rate = self.options.creates_per_minute
        if rate is None:
            return None
        now = time.time() if now is None else now
        burst = float(max(1, self.options.create_burst))
        with self.lock:
            tokens, at = self.buckets.get(key, (burst, now))
            tokens = min(burst, tokens + (now - at) * rate / 60.0)
            if tokens >= 1.0:
                self.buckets[key] = (tokens - 1.0, now)
                return None
            self.buckets[key] = (tokens, now)
            return (1.0 - tokens) * 60.0 / rate

    def throttle_detail(self, wait: float) -> str:
        """Replicate's 429 detail text [issue #11], with its "~Ns" rounded up."""
        secs = max(1, math.ceil(wait))
        if self.options.low_credit:
            return (f"Your rate limit is reduced to {self.options.creates_per_minute:g} requests "
                    f"per minute with a burst of {self.options.create_burst} requests while you "
                    f"have less than $5.0 in credit. Your rate limit resets in ~{secs}s.")
        return f"Request was throttled. Your rate limit resets in ~{secs}s."

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
            rendering = (pred.render is not None and not pred.render.done()
                         and pred.outcome not in ("failed", "canceled"))
            if frac >= 1.0 and rendering:
                # The model's time is up but this machine is still drawing the video: say so,
                # rather than stand at "100%" for as long as the render takes (a phone clip's
                # edit stood there 22 s on 2 busy cores).
                self._grow_logs(pred, 0.99)
                if ENCODING not in pred.logs:
                    pred.logs += ENCODING + "\n"
                return
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
                    # It ended when its model time was up, not when someone looked: an honest
                    # metrics.predict_time, as Replicate reports it.
                    self._end(pred, "succeeded", min(now, pred.started + opts.model_seconds))

    def next_change_at(self, pred: SimPrediction) -> float | None:
        """When the clock alone next moves `pred` on (start, end, Cancel-After); None if ended.

        A held create sleeps until then, so it answers the moment the model ends, as
        Replicate's blocking API does, not at the next tick of a poll loop.
        """
        with self.lock:
            if pred.status in TERMINAL:
                return None
            at = (pred.created + self.options.start_seconds if pred.started is None
                  else pred.started + self.options.model_seconds)
            if pred.cancel_after is not None:
                at = min(at, pred.created + pred.cancel_after)
            return at

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
            "model": pred.model or self.options.model,
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
