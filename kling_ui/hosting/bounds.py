"""Cheap before costly (issue #20): what is refused before any file is opened, and the bounded
pool every probe, fix, preview, filmstrip and finishing step runs in.

- `check_spec(spec)`: the checks that cost nothing, made before any probe, fix or upload: the
  prompt is text of a sane length, no more files than the model takes (`rules`), and each file,
  by one `stat`, no larger than the Studio takes. A request listing one upload 5,000 times is
  refused here, in microseconds, with the same message the full checks give.
- `max_cost(spec)`: what a run of `spec` can cost at most, known before probing: the Studio
  reserves it against the visitor's quota first, then settles it to the estimate once probed.
- `MediaPool`: media work on a few worker threads (one per core). Each caller (a visitor, as
  the UI or the service names them) holds at most `per_caller` workers at once and queues at
  most `max_waiting` more; beyond that a call is refused with a plain message. Waiting callers
  take turns, so one caller with a long queue slows only themselves, and each named caller has
  `budget` seconds of worker time per rolling hour (KLING_MEDIA_MINUTES_PER_HOUR): past it, their
  media work is refused with the time to wait, so nobody holds a core all day. Per process, ffmpeg is
  capped in CPU seconds and file bytes (`media.ffmpeg`), and the tmp/ folder counts under
  KLING_MAX_GB (`files.Files.prune`).

Pure checks and a thread pool: no gradio, no HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import itertools
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from ..core import rules
from ..core.errors import AccessError, InputError
from ..core.jobs import JobSpec
from ..core.models import Problem, Tab
from ..core.profile import PROFILES, get_profile
from ..i18n import msg, problem, t

T = TypeVar("T")

# The largest file the Studio takes at all: Gradio's upload limit (ui.page.MAX_FILE_SIZE), which
# is Kling's video limit [rules.VIDEO_MAX_BYTES]. Larger images and clips cannot be fixed to fit
# in reasonable time, so they are refused by size before anything opens them.
FILE_MAX_BYTES = rules.VIDEO_MAX_BYTES
# A prompt this long is refused before any token is counted: the limit is 2500 characters as
# sent, and no rewrite (@Image1 -> <<<image_1>>>) makes a prompt 4x shorter.
PROMPT_HARD_MAX_CHARS = 4 * rules.PROMPT_MAX_CHARS
# The most shots any model's storyboard takes: a longer list is refused before anything else.
MAX_SHOTS = max((p.storyboard.max_shots for p in PROFILES.values() if p.storyboard), default=0)

# Media work at once: one worker per core, at least two so a probe is not stuck behind a render.
MEDIA_WORKERS = max(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                    else (os.cpu_count() or 2))
MEDIA_PER_CALLER = max(1, MEDIA_WORKERS - 1)  # always a worker free for someone else
MEDIA_MAX_WAITING = 32  # a caller's queued media jobs beyond this are refused
HOUR = 3600.0
ANONYMOUS_CALLER = "anonymous-"  # work no caller was named for: a lane of its own, no budget


def _count_problems(spec: JobSpec) -> list[Problem]:
    images = len(spec.reference_images) + (spec.start_image is not None) + (
        spec.end_image is not None)
    video = spec.reference_video is not None
    limit = rules.MAX_IMAGES_WITH_VIDEO if video else rules.MAX_IMAGES_WITHOUT_VIDEO
    if images <= limit:
        return []
    with_ = msg("rules.with_video") if video else msg("rules.without_video")
    return [problem("reference_images", "rules.images.too_many", n=images, limit=limit,
                    with_=with_, extra=images - limit)]


def _size_problems(spec: JobSpec) -> list[Problem]:
    named = [("start_image", spec.start_image), ("end_image", spec.end_image),
             *((f"reference_images[{i}]", p) for i, p in enumerate(spec.reference_images, 1)),
             ("reference_video", spec.reference_video)]
    problems = []
    for field, path in named:
        if not path:
            continue
        try:
            size = os.stat(path).st_size
        except (OSError, ValueError):
            problems.append(problem(field, "bounds.file_gone"))
            continue
        if size > FILE_MAX_BYTES:
            problems.append(problem(field, "bounds.file_too_big", mb=f"{size / 1e6:.0f}",
                                    limit=f"{FILE_MAX_BYTES // 1_000_000}"))
    return problems


def check_spec(spec: JobSpec) -> None:
    """Refuse, with InputError, what can be refused without opening a file: a prompt that is
    not text or absurdly long, more files than Kling takes, a file that is gone or over
    FILE_MAX_BYTES. Counts come first: a list over the limit is refused before any stat."""
    if not isinstance(spec.prompt, str):
        raise InputError.from_problems([problem("prompt", "bounds.prompt_type")])
    if spec.model not in PROFILES:
        raise InputError.from_problems([problem("model", "rules.model.unknown",
                                                value=str(spec.model)[:40])])
    if len(spec.shots) > MAX_SHOTS or any(
            not isinstance(s.prompt, str) or len(s.prompt) > PROMPT_HARD_MAX_CHARS
            for s in spec.shots):
        limit = get_profile(spec.model).storyboard
        raise InputError.from_problems([problem(
            "shots", "rules.shots.too_many", n=len(spec.shots), limit=limit.max_shots if limit
            else 0, extra=max(0, len(spec.shots) - (limit.max_shots if limit else 0)))])
    if len(spec.prompt) > PROMPT_HARD_MAX_CHARS:
        raise InputError.from_problems([problem(
            "prompt", "rules.prompt.too_long", size=msg("rules.prompt.size", sent=len(spec.prompt)),
            limit=rules.PROMPT_MAX_CHARS, over=len(spec.prompt) - rules.PROMPT_MAX_CHARS)])
    problems = _count_problems(spec) or _size_problems(spec)
    if problems:
        raise InputError.from_problems(problems)


def max_cost(spec: JobSpec) -> float:
    """The most a run of `spec` can be billed (USD), before any file is probed: its duration
    (a base edit bills its input: at most the 10 s trim window) at the model's dearest rate for
    the mode."""
    profile = get_profile(spec.model if spec.model in PROFILES else None)
    rate = profile.rate(spec.quality, video=spec.reference_video is not None,
                        audio=bool(spec.generate_audio))
    longest = int(rules.WINDOW_MAX_SECONDS) if spec.tab is Tab.EDIT else max(
        max(d, default=0) for d in profile.durations.values())
    try:
        seconds = int(spec.duration)
    except (TypeError, ValueError):
        seconds = longest
    if spec.tab is Tab.EDIT or not 0 < seconds <= longest:
        seconds = longest
    return round(seconds * rate, 2)


# -- the media pool ------------------------------------------------------------------------------

# Who the media work in this context is for. The service sets it for a run; otherwise the pool
# asks its `identify` hook (the UI installs one that names the visitor of the current event).
CALLER: contextvars.ContextVar[str | None] = contextvars.ContextVar("kling_media_caller",
                                                                   default=None)


@contextlib.contextmanager
def acting_for(caller: str | None) -> Iterator[None]:
    """Media work inside counts as `caller`'s."""
    token = CALLER.set(caller)
    try:
        yield
    finally:
        CALLER.reset(token)


class MediaPool:
    """A bounded, fair pool for blocking media work (ffmpeg, Pillow): `workers` threads; each
    caller at most `per_caller` of them at once and `max_waiting` jobs in line, turns taken in
    rotation among callers with work waiting. Thread-safe; usable from any event loop."""

    def __init__(self, workers: int = MEDIA_WORKERS, *, per_caller: int = MEDIA_PER_CALLER,
                 max_waiting: int = MEDIA_MAX_WAITING, budget: float = 0.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.workers = max(1, workers)
        self.budget = budget  # worker seconds per caller per rolling hour; 0: no cap
        self._clock = clock
        self._spent: dict[str, deque[tuple[float, float]]] = {}  # caller -> (ended at, seconds)
        self.per_caller = max(1, min(per_caller, self.workers))
        self.max_waiting = max(1, max_waiting)
        self.identify: Callable[[], str | None] = lambda: None
        self.started = 0  # jobs started (for tests and the bench)
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="kling-media")
        self._lock = threading.Lock()
        self._lanes: dict[str, deque[tuple[Future[Any], Callable[[], Any]]]] = {}
        self._turns: deque[str] = deque()  # callers with work waiting, whose turn is next first
        self._running: dict[str, int] = {}
        self._busy = 0
        self._anonymous = itertools.count()

    def caller(self) -> str:
        """Whose work this is: the context's caller, else the hook's, else nobody's in
        particular (a lane of its own)."""
        who = CALLER.get()
        if who is None:
            try:
                who = self.identify()
            except Exception:  # noqa: BLE001 - naming the caller must never fail the work
                who = None
        return who or f"{ANONYMOUS_CALLER}{next(self._anonymous)}"

    def spent(self, caller: str) -> float:
        """Worker seconds `caller`'s media work took in the last hour."""
        with self._lock:
            return self._spent_locked(caller)

    def _spent_locked(self, caller: str) -> float:
        runs = self._spent.get(caller)
        if not runs:
            return 0.0
        now = self._clock()
        while runs and runs[0][0] <= now - HOUR:
            runs.popleft()
        if not runs:
            del self._spent[caller]
            return 0.0
        return sum(seconds for _, seconds in runs)

    def _check_budget(self, caller: str) -> None:
        """AccessError when `caller` has used their hour of media work (under the lock)."""
        if self.budget <= 0 or caller.startswith(ANONYMOUS_CALLER):
            return
        if self._spent_locked(caller) < self.budget:
            return
        runs = self._spent[caller]
        freed, total = self._clock(), sum(seconds for _, seconds in runs)
        for ended, seconds in runs:  # the wait until enough old work leaves the hour
            total -= seconds
            freed = ended + HOUR
            if total < self.budget:
                break
        wait = max(1, math.ceil((freed - self._clock()) / 60))
        raise AccessError(t("access.media_budget", "en", minutes=round(self.budget / 60),
                            wait=wait))

    def waiting(self, caller: str) -> int:
        with self._lock:
            return len(self._lanes.get(caller, ()))

    def submit(self, fn: Callable[..., T], /, *args: Any, caller: str | None = None,
               first: bool = False, **kwargs: Any) -> Future[T]:
        """Queue `fn(*args, **kwargs)` for `caller` (default: `self.caller()`); AccessError at
        once when that caller already has `max_waiting` jobs in line. `first`: at the head of
        the caller's own line (a run's fix, which the person is waiting on, before the same
        page's previews and filmstrips); never ahead of anyone else's turn."""
        who = caller or self.caller()
        future: Future[T] = Future()
        with self._lock:
            self._check_budget(who)
            lane = self._lanes.setdefault(who, deque())
            if len(lane) >= self.max_waiting:
                if not lane:
                    del self._lanes[who]
                raise AccessError(t("access.media_busy", "en", n=self.max_waiting))
            job = (future, functools.partial(fn, *args, **kwargs))
            if first:
                lane.appendleft(job)
            else:
                lane.append(job)
            if who not in self._turns:
                self._turns.append(who)
            self._dispatch()
        return future

    async def run(self, fn: Callable[..., T], /, *args: Any, caller: str | None = None,
                  first: bool = False, on_wait: Callable[[], None] | None = None,
                  **kwargs: Any) -> T:
        """`fn(*args, **kwargs)` on the pool, awaited (a cancelled wait drops a job not yet
        started; one already running finishes, bounded by ffmpeg's own caps). `on_wait()` is
        called once if the job has to wait for a worker (to say so while it waits)."""
        future = self.submit(fn, *args, caller=caller, first=first, **kwargs)
        if on_wait is not None and not (future.running() or future.done()):
            on_wait()
        return await asyncio.wrap_future(future)

    def _dispatch(self) -> None:
        """Start waiting jobs while workers are free, callers in rotation (under the lock)."""
        while self._busy < self.workers and self._turns:
            for _ in range(len(self._turns)):
                who = self._turns[0]
                self._turns.rotate(-1)
                if self._running.get(who, 0) < self.per_caller:
                    break
            else:
                return  # everyone waiting already holds their share
            lane = self._lanes[who]
            future, call = lane.popleft()
            if not lane:
                del self._lanes[who]
                self._turns.remove(who)
            if not future.set_running_or_notify_cancel():
                continue  # its caller stopped waiting
            self._busy += 1
            self._running[who] = self._running.get(who, 0) + 1
            self.started += 1
            self._executor.submit(self._work, who, future, call)

    def _work(self, who: str, future: Future[Any], call: Callable[[], Any]) -> None:
        began = self._clock()
        failed: BaseException | None = None
        result: Any = None
        try:
            result = call()
        except BaseException as exc:  # noqa: BLE001 - handed to whoever awaits it
            failed = exc
        # The seconds are counted before the caller hears the work ended, so its next request
        # already sees them (a test read 100 of 130 s right after .result()).
        with self._lock:
            if not who.startswith(ANONYMOUS_CALLER):
                ended = self._clock()
                self._spent.setdefault(who, deque()).append((ended, ended - began))
        try:
            if failed is not None:
                future.set_exception(failed)
            else:
                future.set_result(result)
        finally:
            with self._lock:
                self._busy -= 1
                left = self._running.get(who, 1) - 1
                if left:
                    self._running[who] = left
                else:
                    self._running.pop(who, None)
                self._dispatch()


_POOL: MediaPool | None = None
_POOL_LOCK = threading.Lock()


def media_pool() -> MediaPool:
    """The process's media pool: the cores are the process's, whichever Studio asks."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = MediaPool()
        return _POOL
