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
import inspect
import logging
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core.config import Secret
from ..core.errors import (
    PredictionError,
)
from ..core.models import Progress
from .files import Files
from .protocol import (
    Prediction,
)
from .waiting import Waiting
from .wire import INLINE_MAX_BYTES, USER_AGENT, OnUpdate, _notify, make_http_client

__all__ = ["INLINE_MAX_BYTES", "USER_AGENT", "ReplicateClient", "make_http_client"]

log = logging.getLogger(__name__)


HOLD_MAX = 60  # Replicate's longest Prefer: wait, in seconds
HOLD_MARGIN = 2.0  # a model's time varies: hold this much past the usual end
HOLD_UNKNOWN = 5  # a mode's first run: a short hold, then polls that report its progress


def hold_for(expected_seconds: float | None) -> int:
    """How long to hold a create (`Prefer: wait`, seconds; 0: not at all): across the model's
    usual end when the hold can reach it; briefly when the time is unknown (a long hold would
    show no progress and journal no prediction id until it ends)."""
    if expected_seconds is None:
        return HOLD_UNKNOWN
    hold = math.ceil(expected_seconds + HOLD_MARGIN)
    return hold if hold <= HOLD_MAX else 0


class ReplicateClient(Files, Waiting):
    """Async client for `kwaivgi/kling-o1` on Replicate (or the simulator). One per process.

    `model` is "owner/name" (official-model route) or "owner/name:version" (pinned version,
    POST /v1/predictions). Every call takes the visitor's `token`; nothing keeps it.
    """

    async def __aenter__(self) -> ReplicateClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

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
        wait: int | None = None,
        cancel_after: str | None = "30m",
        expected_seconds: float | None = None,
        on_finished: Callable[[Prediction], Any] | None = None,
        model: str | None = None,
    ) -> tuple[Prediction, Path]:
        """Create, wait and download to `dest` (or `dest_dir`/<id>.mp4).

        Any exit without success after the create cancels the prediction (shielded), so an
        abandoned job cannot run on. `on_created` (sync or async) gets the new prediction.
        `expected_seconds` is this mode's usual model time, if known (see `wait`).
        `on_finished` (sync) gets the prediction once it succeeded, before the download: its
        inputs are no longer needed, so their uploads can go while the output comes down.

        The create is held (`Prefer: wait`) across the model's expected end when the hold can
        reach it (`hold_for`: the usual model time plus a margin, Replicate's 60 s at most, or
        60 s when the time is unknown), so the end is heard one trip after it, without polls.
        While it is held a Cancel still reaches Replicate in one trip: the prediction is looked
        up from a second connection (`Predictions._cancel_while_held`). A model that usually
        runs longer is not held: polls are sent a trip ahead of its expected end (`wait`).
        `wait` given in seconds overrides the choice (0: never held).
        """
        if wait is None:
            wait = hold_for(expected_seconds)
        elif expected_seconds is not None and expected_seconds > wait:
            wait = 0
        prediction = await self.create_prediction(input, token, wait=wait, cancel_after=cancel_after,
                                                  pace_budget=deadline, on_update=on_update,
                                                  cancel_event=cancel_event, model=model)
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

