"""One tree of exceptions for everything that can go wrong, each with a message a user can act on.

    KlingError
    ├── InputError            bad or unreadable input (validation, probe); carries `problems`
    ├── MediaError            ffmpeg/Pillow could not read or write a file we made
    ├── AccessError           the host's protection refused a run (password, rate, budget, queue)
    ├── LibraryError          the run library's folder or database cannot be used
    ├── StorageError          the Studio's disk cannot take a file: full, over quota, read-only
    ├── ApiError              Replicate answered with an error; carries status + problem details
    │   ├── AuthError             401 bad or missing key
    │   ├── BillingError          402 billing required
    │   ├── NotFoundError         404 model, prediction or file not found
    │   ├── PayloadTooLargeError  413 file too large (JSON or a proxy's HTML page)
    │   ├── ValidationError       422 invalid input, with `invalid_fields`
    │   ├── RateLimitError        429 throttled, with `retry_after`
    │   └── ServerError           5xx
    ├── KlingConnectionError  could not reach the server, or it dropped the connection
    ├── KlingTimeoutError     the server did not answer in time
    └── PredictionError       the prediction ended badly: failed, canceled, aborted, timed out;
                              carries `prediction_id` and `status`

Messages never contain the API token: `redact()` scrubs any text that crosses a boundary.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from .models import Problem

# Replicate tokens look like r8_ followed by ~37 characters; scrub anything token-shaped as well
# as any explicit secret we were handed.
_TOKEN_RE = re.compile(r"r8_[A-Za-z0-9]{8,}")
_BEARER_RE = re.compile(r"(?i)(bearer|token)\s+[A-Za-z0-9_\-\.]{8,}")


def redact(text: str, *secrets: str | None) -> str:
    """Return `text` with every known secret and anything token-shaped replaced by `***`."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    text = _TOKEN_RE.sub("***", text)
    return _BEARER_RE.sub(lambda m: f"{m.group(1)} ***", text)


class KlingError(Exception):
    """Base of every error the app raises on purpose. `str()` is a user-facing message."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class InputError(KlingError):
    """The user's input cannot be used as it is; `problems` lists every reason at once."""

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.problems = tuple(problems)

    @classmethod
    def from_problems(cls, problems: Sequence[Problem]) -> InputError:
        errors = [p for p in problems if p.is_error]
        lines = [f"{p.field}: {p.message}" for p in errors]
        head = "Please fix this before running:" if len(lines) == 1 else (
            f"Please fix these {len(lines)} things before running:"
        )
        return cls(head + "\n- " + "\n- ".join(lines), problems)


class MediaError(KlingError):
    """A media operation (probe, transcode, render) failed."""


class LibraryError(KlingError):
    """The library (runs kept on disk) cannot be used: read-only, full, or from a newer version."""


class StorageError(KlingError):
    """The data folder's disk cannot take a file (too little free space, ENOSPC, EDQUOT, EIO,
    read-only); the message says what happens to the run and what to do."""


class AccessError(KlingError):
    """The host's protection refused this run; the message says why and when to retry."""


class ApiError(KlingError):
    """Replicate (or the simulator) answered with an error status."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        title: str = "",
        detail: str = "",
        invalid_fields: Sequence[dict[str, Any]] = (),
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.title = redact(title)
        self.detail = redact(detail)
        self.invalid_fields = tuple(invalid_fields)
        self.retry_after = retry_after


class AuthError(ApiError):
    pass


class BillingError(ApiError):
    pass


class NotFoundError(ApiError):
    pass


class PayloadTooLargeError(ApiError):
    pass


class ValidationError(ApiError):
    pass


class RateLimitError(ApiError):
    pass


class ServerError(ApiError):
    pass


class KlingConnectionError(KlingError):
    """The server could not be reached, or dropped the connection."""


class KlingTimeoutError(KlingError):
    """The server did not answer within the client's timeout."""


class PredictionError(KlingError):
    """A prediction ended without output: failed, canceled, aborted, or past our deadline."""

    def __init__(self, message: str, *, prediction_id: str | None, status: str) -> None:
        super().__init__(message)
        self.prediction_id = prediction_id
        self.status = status
