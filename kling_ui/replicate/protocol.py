"""Replicate's HTTP API as values and rules: prediction and file shapes, the polling schedule,
Retry-After, and `raise_for_status`, the one function every response passes.

`raise_for_status` turns RFC 7807 problem details (and a proxy's HTML page) into the
`errors.ApiError` tree with messages a person can act on; `is_retryable` is the one rule for what
may be sent again (kling-o1.md: "A POST that created a paid prediction must never be repeated
blindly"). No I/O here beyond reading a response already received.
"""

from __future__ import annotations

import contextlib
import math
import random
import re
import statistics
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from ..core.errors import (
    ApiError,
    AuthError,
    BillingError,
    KlingConnectionError,
    KlingError,
    KlingTimeoutError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitError,
    ServerError,
    ValidationError,
    redact,
)

BILLING_URL = "https://replicate.com/account/billing#billing"
TERMINAL = frozenset({"succeeded", "failed", "canceled", "aborted"})
# Polling: quick first look, then back off with jitter. A 2 s cap (not 5 s): the end of a
# multi-minute Kling run is noticed ~1 s late on average instead of ~2.5 s, at 30 GETs/min per
# job; 20 jobs stay at 600/min, well inside Replicate's 3000/min for non-create endpoints
# (kling-o1.md, rate limits). Measured in bench/ figure 1.
POLL_FIRST = 0.5
POLL_FACTOR = 1.3
POLL_MAX = 2.0
POLL_JITTER = 0.2
# When the usual model time is known (issue #11): sparse polls, at most POLL_SPARSE apart and
# spaced evenly so the last lands POLL_LEAD before the expected end, then dense ones (POLL_DENSE)
# until POLL_TRAIL after it, then a back-off to POLL_MAX again. A 10 s model is noticed within
# 0.05 s of its end at ~30 GETs/min, a 60 s one at ~22/min (bench/ figure 1), against the
# official client's blind 60 s create; progress still updates every few seconds, and a cancel
# acts at once (the sleep wakes on it).
POLL_SPARSE = 3.0
POLL_DENSE = 0.05
POLL_LEAD = 0.1
POLL_TRAIL = 0.5

# -- values ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Prediction:
    """A prediction as Replicate describes it (OpenAPI schemas_prediction_response)."""

    id: str
    status: str
    output: Any = None
    error: str | None = None
    logs: str = ""
    model: str = ""
    version: str = ""
    input: dict[str, Any] = field(default_factory=dict)
    created_at: str | None = None
    started_at: str | None = None
    completed_at: str | None = None
    predict_time: float | None = None
    data_removed: bool = False
    get_url: str = ""
    cancel_url: str = ""
    web_url: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Prediction:
        urls = data.get("urls") or {}
        metrics = data.get("metrics") or {}
        predict_time = metrics.get("predict_time")
        return cls(
            id=str(data.get("id", "")),
            status=str(data.get("status", "")),
            output=data.get("output"),
            error=None if data.get("error") is None else str(data.get("error")),
            logs=str(data.get("logs") or ""),
            model=str(data.get("model") or ""),
            version=str(data.get("version") or ""),
            input=dict(data.get("input") or {}),
            created_at=data.get("created_at"),
            started_at=data.get("started_at"),
            completed_at=data.get("completed_at"),
            predict_time=float(predict_time) if isinstance(predict_time, (int, float)) else None,
            data_removed=bool(data.get("data_removed", False)),
            get_url=str(urls.get("get") or ""),
            cancel_url=str(urls.get("cancel") or ""),
            web_url=str(urls.get("web") or ""),
        )

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def is_done(self) -> bool:
        """Succeeded, or already holding its output while status still reads processing.

        Replicate can answer a create with `Prefer: wait` with the output in place while status
        still says "processing" (kling-o1.md, API); kling-o1's output is one URI, so it is final.
        """
        if self.status == "succeeded":
            return True
        return self.status in ("starting", "processing") and bool(self.output)

    @property
    def last_log_line(self) -> str:
        lines = [line for line in self.logs.splitlines() if line.strip()]
        return lines[-1].strip() if lines else ""


@dataclass(frozen=True)
class UploadedFile:
    """A file on Replicate's Files API; `url` is what goes into a prediction's input."""

    id: str
    url: str
    size: int
    name: str = ""
    content_type: str = ""


# -- pure helpers ------------------------------------------------------------------------------
def backoff_delay(attempt: int, rng: random.Random | None = None, *, first: float = POLL_FIRST,
                  factor: float = POLL_FACTOR, cap: float = POLL_MAX,
                  jitter: float = POLL_JITTER) -> float:
    """Delay before poll/retry number `attempt` (0-based): first*factor**attempt, capped, +-jitter.

    Jitter (a fraction of the delay) spreads many visitors' polls so they do not arrive in step.
    """
    base = min(cap, first * factor ** max(0, attempt))
    spread = (rng or random).uniform(-jitter, jitter) if jitter else 0.0
    return max(0.05, min(cap, base * (1 + spread)))


def poll_delay(now: float, attempt: int, end_at: float | None,
               rng: random.Random | None = None) -> float:
    """Seconds until the next poll at clock time `now`, when the prediction should end at `end_at`
    (None: unknown, the plain back-off). Pure: the caller measures both on one clock."""
    if end_at is None:
        return backoff_delay(attempt, rng)
    until = end_at - now
    if until > POLL_LEAD:
        gap = until - POLL_LEAD
        return max(POLL_DENSE, gap / math.ceil(gap / POLL_SPARSE))
    if until >= -POLL_TRAIL:
        return POLL_DENSE
    return min(POLL_MAX, POLL_DENSE + 0.25 * (-until - POLL_TRAIL))


def expected_end(prediction: Prediction, *, sent_at: float, now: float,
                 expected_seconds: float | None) -> float | None:
    """When (on the caller's clock) a prediction should end, if this mode's usual model time is
    known: sent_at + (started_at - created_at) + expected. Both stamps come from Replicate's
    clock, so no skew enters; before it starts, `now` + expected (re-judged at every poll)."""
    if expected_seconds is None:
        return None
    created, started = epoch_of(prediction.created_at), epoch_of(prediction.started_at)
    if created is None or started is None:
        return now + expected_seconds
    return sent_at + max(0.0, started - created) + expected_seconds


def epoch_of(value: str | None) -> float | None:
    """An ISO 8601 time as seconds since the epoch; None when missing or unreadable."""
    if not value:
        return None
    with contextlib.suppress(ValueError):
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return None


class RecentTimes:
    """The last few model times (predict_time) seen per mode, for when to poll densely."""

    def __init__(self, keep: int = 20) -> None:
        self._times: dict[str, deque[float]] = {}
        self._keep = keep

    def add(self, key: str, seconds: float | None) -> None:
        if seconds is not None and seconds > 0:
            self._times.setdefault(key, deque(maxlen=self._keep)).append(float(seconds))

    def median(self, key: str) -> float | None:
        times = self._times.get(key)
        return statistics.median(times) if times else None


def poll_delays(rng: random.Random | None = None) -> Iterator[float]:
    """The endless polling schedule: about 0.5, 0.65, 0.85, 1.1, 1.4, 1.9, 2, 2, ... seconds."""
    attempt = 0
    while True:
        yield backoff_delay(attempt, rng)
        attempt += 1


# Replicate's 429 says how long in its detail text: "Request was throttled. Your rate limit resets
# in ~30s." (a low-credit key: "Your rate limit is reduced to 6 requests per minute with a burst of
# 1 requests while you have less than $5.0 in credit. Your rate limit resets in ~10s.") [issue #11;
# replicate.com docs, rate limits]. No source confirms Retry-After or retry_after; both are honoured.
_RESETS_IN_RE = re.compile(r"resets in\s*~?\s*(\d+(?:\.\d+)?)\s*s", re.IGNORECASE)


def parse_retry_after(response: httpx.Response, body: Any = None) -> float | None:
    """Seconds to wait before asking again, from the first of: a Retry-After header (seconds or
    HTTP date), a `retry_after` field, the detail's "resets in ~Ns", a `ratelimit-reset` header."""
    raw = response.headers.get("retry-after")
    if raw:
        with contextlib.suppress(ValueError):
            return max(0.0, float(raw))
        with contextlib.suppress(TypeError, ValueError, IndexError):
            return max(0.0, parsedate_to_datetime(raw).timestamp() - time.time())
    if isinstance(body, dict) and isinstance(body.get("retry_after"), (int, float)):
        return max(0.0, float(body["retry_after"]))
    found = _RESETS_IN_RE.search(str(body.get("detail") or "")) if isinstance(body, dict) else None
    if found:
        return float(found.group(1))
    return ratelimit_reset(response)


def ratelimit_reset(response: httpx.Response) -> float | None:
    """Seconds until the key's limit resets, from a `ratelimit-reset` header (delta seconds)."""
    with contextlib.suppress(TypeError, ValueError):
        return max(0.0, float(response.headers.get("ratelimit-reset", "")))
    return None


def ratelimit_exhausted(response: httpx.Response) -> float | None:
    """When a reply says no requests remain (`ratelimit-remaining: 0`), seconds until reset."""
    if response.headers.get("ratelimit-remaining", "").strip() != "0":
        return None
    return ratelimit_reset(response)


def progress_fraction(logs: str) -> float | None:
    found = re.findall(r"(\d{1,3}(?:\.\d+)?)\s*%", logs)
    return min(1.0, float(found[-1]) / 100) if found else None


# -- the one error mapper ----------------------------------------------------------------------
_STATUS_ERRORS: dict[int, type[ApiError]] = {
    401: AuthError, 402: BillingError, 404: NotFoundError, 413: PayloadTooLargeError,
    422: ValidationError, 429: RateLimitError,
}


def unverified_error(cause: KlingError) -> KlingError:
    """`cause` again, saying we could not tell whether the create it hit went through."""
    msg = (f"{cause.message} We could not check whether Replicate started it anyway; look at "
           "your predictions on replicate.com before running again, so you are not billed twice.")
    if isinstance(cause, ApiError):
        return type(cause)(msg, status=cause.status, title=cause.title, detail=cause.detail)
    return type(cause)(msg)


def has_upload_url(input: dict[str, Any]) -> bool:
    """Whether a prediction input holds an uploaded file's URL: unique per upload, so an input
    carrying one can only be this job's (a data: URI or a text-only input can repeat)."""
    values = [v for value in input.values() for v in (value if isinstance(value, list) else [value])]
    return any(isinstance(v, str) and v.startswith(("https://", "http://")) for v in values)


def ambiguous_error(cause: KlingError, ids: Sequence[str]) -> KlingError:
    """`cause` again, saying which predictions could be the one it made, without picking one."""
    listed = ", ".join(ids)
    msg = (f"{cause.message} Replicate may have started it anyway, but we cannot tell which "
           f"prediction is yours: {len(ids)} on this key have exactly this input ({listed}), and "
           "another visitor may have started the same job. We did not adopt any. Look at these "
           "on replicate.com before running again, so you are not billed twice.")
    if len(ids) == 1:
        msg = msg.replace("1 on this key have exactly", "one on this key has exactly")
    if isinstance(cause, ApiError):
        return type(cause)(msg, status=cause.status, title=cause.title, detail=cause.detail)
    return type(cause)(msg)


def raise_for_status(response: httpx.Response, *, secrets: Sequence[str] = ()) -> None:
    """Raise the `errors.ApiError` subclass for an error response; return for 1xx-3xx.

    Reads RFC 7807 problem details (title, detail, status, invalid_fields, retry_after) when the
    body is JSON, and copes with anything else (a proxy's HTML 413). `secrets` are scrubbed from
    every text that ends up in the exception.
    """
    status = response.status_code
    if status < 400:
        return
    body: Any = None
    with contextlib.suppress(ValueError, UnicodeDecodeError):
        body = response.json()
    problem = body if isinstance(body, dict) else {}
    title = str(problem.get("title") or "")
    detail = str(problem.get("detail") or "")
    invalid = [f for f in problem.get("invalid_fields") or [] if isinstance(f, dict)]
    retry_after = parse_retry_after(response, problem)

    def scrub(text: str) -> str:
        return redact(text, *secrets)

    said = f" Replicate said: {detail}" if detail else ""
    if status == 401:
        message = ("Replicate did not accept the API key. Check REPLICATE_API_TOKEN or the key "
                   "you entered.")
    elif status == 402:
        # Replicate's 402: "You have insufficient credit to run this model. Go to
        # https://replicate.com/account/billing#billing to purchase credit..." (issue #11)
        message = ("This Replicate account does not have enough credit to run Kling O1. Buy "
                   f"credit at {BILLING_URL}, then wait a few minutes before trying again." + said)
    elif status == 404:
        message = f"Not found: {response.request.method} {response.request.url.path}.{said}"
    elif status == 413:
        message = ("The file is too large for Replicate (files must be under 100 MB). "
                   "Let the input doctor re-encode it smaller." + said)
    elif status == 422:
        fields = "; ".join(
            f"{f.get('field', '?')}: {f.get('description', f.get('type', 'invalid'))}"
            for f in invalid
        )
        message = "Replicate rejected the input: " + (fields or detail or title or "invalid input")
    elif status == 429:
        wait = f" Try again in {max(1, math.ceil(retry_after))} s." if retry_after is not None else (
            " Wait a moment and try again.")
        message = "Replicate is throttling requests on this key (rate limit)." + wait
    elif status >= 500:
        message = (f"Replicate had a server error ({status}). This is usually brief; try again "
                   "in a minute." + said)
    else:
        message = f"Replicate answered {status} {title or response.reason_phrase}.{said}"
    cls = _STATUS_ERRORS.get(status, ServerError if status >= 500 else ApiError)
    raise cls(scrub(message), status=status, title=scrub(title), detail=scrub(detail),
              invalid_fields=invalid, retry_after=retry_after)


def transport_error(exc: httpx.HTTPError, what: str, secrets: Sequence[str]) -> KlingError:
    """A network-level httpx error as our KlingTimeoutError / KlingConnectionError."""
    reason = redact(str(exc) or type(exc).__name__, *secrets)
    if isinstance(exc, httpx.TimeoutException):
        return KlingTimeoutError(f"{what}: the server did not answer in time ({reason}). "
                                 "Check your connection and try again.")
    return KlingConnectionError(f"{what}: could not reach the server or it dropped the "
                                f"connection ({reason}). Check your connection and try again.")


def is_retryable(exc: BaseException, *, idempotent: bool) -> bool:
    """Whether a failed request may be sent again without risk of doing its work twice."""
    if isinstance(exc, RateLimitError):
        return True  # throttled: the server did nothing
    if isinstance(exc, httpx.ConnectError):
        return True  # refused before the request was sent
    if not idempotent:
        return False  # a create/upload may have happened: never repeat it blindly
    return isinstance(exc, (ServerError, httpx.TransportError))


# -- the client --------------------------------------------------------------------------------
