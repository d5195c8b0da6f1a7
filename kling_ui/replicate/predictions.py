"""The wire's predictions seam: create (paced per key, never repeated blindly), adopt one a lost
answer made, get, cancel; and the account a key belongs to.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from datetime import datetime, timezone
from typing import Any

import httpx

from ..core.config import Secret
from ..core.errors import (
    KlingConnectionError,
    KlingError,
    KlingTimeoutError,
    PredictionError,
    RateLimitError,
    ServerError,
)
from ..core.models import Progress
from .protocol import (
    Prediction,
    ambiguous_error,
    has_upload_url,
    progress_fraction,
    ratelimit_exhausted,
    unverified_error,
)
from .wire import (
    CLAIMED_MAX,
    CREATE_CLOCK_SLACK,
    PACE_CAP,
    PACE_DEFAULT,
    PACE_FORGET,
    Clock,
    OnUpdate,
    Wire,
    _notify,
    _Pace,
)

log = logging.getLogger(__name__)

HELD_CANCEL_TRIES = 20  # a just-sent create may not be listed yet: look again, briefly
HELD_CANCEL_PAUSE = 0.05
HELD_WATCH_EVERY = 2.0  # a held create's prediction is looked at this often, for the page


class Predictions(Wire):
    """Create, find, get and cancel predictions; throttled creates wait their turn per key."""

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
        model: str | None = None,
    ) -> Prediction:
        """Start a prediction; answers 201 or 202. Never repeated unless nothing was created.

        `model` ("owner/name" or "owner/name:version") runs another model than the client's
        own (a run's profile, issue #25).

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
        name, version = (model.partition(":")[::2] if model else (self.model, self.version))
        if version:
            url, body = "/v1/predictions", {"version": version, "input": input}
        else:
            url, body = f"/v1/models/{name}/predictions", {"input": input}
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
                    raise PredictionError("Canceled before the job started; nothing was billed.",
                                          prediction_id=None, status="canceled")
            sent_at, sent_clock = time.time(), self._clock()
            try:
                create = self._request(
                    "POST", url, token, what="Starting the prediction", idempotent=False,
                    headers=headers, build=lambda: {"json": body}, retry_throttled=False,
                    on_response=lambda r: _note_exhausted(pace, r, self._clock))
                if wait and cancel_event is not None:
                    post = asyncio.ensure_future(create)
                    await self._cancel_while_held(post, cancel_event, input, token, sent_at,
                                                  on_update)
                    data = await post
                else:
                    data = await create
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
        try:
            same = await self._listed_with(input, token, since,
                                           "Checking whether the prediction started")
        except KlingError as exc:
            raise unverified_error(cause) from exc
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

    async def _cancel_while_held(self, post: asyncio.Future[Any], cancel_event: asyncio.Event,
                                 input: dict[str, Any], token: Secret, since: float,
                                 on_update: OnUpdate | None = None) -> None:
        """Wait for a held create (`Prefer: wait`) to answer; a Cancel meanwhile reaches Replicate
        in one trip.

        Until a held create answers there is no prediction id, so a Cancel used to wait for the
        model's end (issue #22: 3 s on a mode's first run). So while it is held, the prediction
        is looked up from a second connection (the one whose whole input is ours, listed since
        the create was sent), and a Cancel goes straight to it; the held create then answers
        with it, canceled. The prediction found is also watched (a GET every HELD_WATCH_EVERY
        s) so the page shows Replicate's own status and progress while the create is held,
        not "Creating the prediction" for the whole model time.
        """
        waiter = asyncio.ensure_future(cancel_event.wait())
        found_at: asyncio.Future[Prediction | None] = asyncio.get_running_loop().create_future()
        finder = asyncio.ensure_future(
            self._watch_held(post, input, token, since, on_update, found_at))
        try:
            await asyncio.wait({post, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if post.done():
                return
            waiting: set[asyncio.Future[Any]] = {found_at, finder}
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            found = found_at.result() if found_at.done() else None
            if found is not None:
                await self._cancel_quietly(found, token)
        finally:
            for task in (waiter, finder):
                task.cancel()
            await asyncio.gather(waiter, finder, return_exceptions=True)

    async def _watch_held(self, post: asyncio.Future[Any], input: dict[str, Any], token: Secret,
                          since: float, on_update: OnUpdate | None,
                          found_at: asyncio.Future[Prediction | None]) -> None:
        """Find the held create's prediction (into `found_at`, for a Cancel), then report it
        every HELD_WATCH_EVERY s until the create answers."""
        found: Prediction | None = None
        try:
            found = await self._find_held_soon(post, input, token, since)
        finally:
            if not found_at.done():
                found_at.set_result(found)
        if found is None or on_update is None:
            return
        began = self._clock()
        while not post.done():
            await _notify(on_update, prediction_progress(found, self._clock() - began))
            await asyncio.sleep(HELD_WATCH_EVERY)  # real time: a test's instant sleep would spin
            if post.done():
                return
            try:
                found = await self.get_prediction(found, token)
            except KlingError as exc:  # the held create still answers; progress is a nicety
                log.info("could not follow a held create's prediction: %s", exc)

    async def _find_held_soon(self, post: asyncio.Future[Any], input: dict[str, Any],
                              token: Secret, since: float) -> Prediction | None:
        """The held create's prediction, looked up until found (a just-sent create may not be
        listed yet) or until the create answers."""
        for _ in range(HELD_CANCEL_TRIES):
            if post.done():
                return None
            found = await self._find_held(input, token, since)
            if found is not None:
                return found
            await self._sleep(HELD_CANCEL_PAUSE)
        return None

    async def _listed_with(self, input: dict[str, Any], token: Secret, since: float,
                           what: str) -> list[dict[str, Any]]:
        """The key's predictions created since `since` (less the clock slack) whose whole
        input equals `input`, as Replicate lists them. Raises KlingError when the list fails."""
        after = datetime.fromtimestamp(since - CREATE_CLOCK_SLACK, tz=timezone.utc).isoformat()
        page = await self._request("GET", "/v1/predictions", token, idempotent=True, what=what,
                                   build=lambda: {"params": {"created_after": after}})
        return [item for item in (page or {}).get("results", [])
                if (item.get("input") or {}) == input]

    async def _find_held(self, input: dict[str, Any], token: Secret,
                         since: float) -> Prediction | None:
        """The one running prediction, not owned by another job here, whose input is ours."""
        try:
            listed = await self._listed_with(input, token, since,
                                             "Finding the prediction to cancel")
        except KlingError as exc:
            log.warning("could not list predictions to cancel a held create: %s", exc)
            return None
        same = [p for p in map(Prediction.from_json, listed)
                if not p.is_terminal and p.id not in self._claimed]
        # Two identical text-only runs on one key: cancelling the wrong one would be worse.
        return same[0] if len(same) == 1 else None

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


def prediction_progress(p: Prediction, elapsed: float) -> Progress:
    """What a prediction says so far, as the page is told it (the wait's polls and a held
    create's watch alike).

    A held create whose wait ran out is answered "in a `starting` state" (Replicate's API)
    even while the model already logs its frames: with a percentage in its logs it is
    processing, so a run never goes back from "Generating 20%" to "Starting 20%" (seen on
    three takes at once, each row written "starting" again)."""
    fraction = progress_fraction(p.logs)
    status = p.status
    if status == "starting" and fraction is not None:
        status = "processing"
    return Progress(stage="starting" if status == "starting" and not p.is_done else "processing",
                    status=status, elapsed=elapsed, log_line=p.last_log_line,
                    fraction=fraction, prediction_id=p.id)


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
