"""Explicit cancels, told apart from hang-ups (issue #22).

A run outlives the connection that started it (kling_ui.runs.runner): a reload, a closed
connection or a client that crashes must never cancel a paid prediction. But a caller that asks
to stop (gradio_client's `job.cancel()`, which POSTs `/gradio_api/cancel` with the event's
`session_hash` and `fn_index`) means it, and its run must stop at Replicate at once.

How Gradio 6 tells the two apart, read from its source (gradio 6.31):

- `/gradio_api/cancel` (routes.py `cancel_event`) calls `utils.cancel_tasks`, which cancels the
  asyncio task named `"{session_hash}_{fn_index}<gradio-sep>{event_id}"` (queueing.py names the
  task that runs the event with `utils.set_task_name`): the handler sees `CancelledError`.
- A closed event stream (a hang-up, a reload, a SIGKILLed client) only marks the event
  `alive = False` (queueing.py `clean_events`); the handler's task is left running.
- A server that stops cancels every task too (`Queue._cancel_asyncio_tasks`).

So a `CancelledError` alone does not say who asked. `EventGate` (ui.gate) notes every POST to
`/gradio_api/cancel` here *before* Gradio acts on it, keyed as Gradio names the task; a handler
that is cancelled asks `explicitly_cancelled()` and cancels its run only when the answer is yes.
"""

from __future__ import annotations

import asyncio
import threading
import time

SEPARATOR = "<gradio-sep>"  # gradio.utils.set_task_name
KEEP_S = 10.0  # Gradio cancels the task right after the note; later cancels are not this one

_notes: dict[str, float] = {}
_lock = threading.Lock()


def task_key(session_hash: str, fn_index: int | str) -> str:
    """The part of a Gradio task's name `/gradio_api/cancel` matches on."""
    return f"{session_hash}_{fn_index}"


def note(session_hash: str, fn_index: int | str) -> None:
    """Remember that a caller asked to cancel this session's event `fn_index`."""
    now = time.monotonic()
    with _lock:
        for key in [k for k, at in _notes.items() if now - at > KEEP_S]:
            del _notes[key]
        _notes[task_key(session_hash, fn_index)] = now


def explicitly_cancelled(task: asyncio.Task[object] | None = None) -> bool:
    """Whether `task` (default: the current one), being cancelled, was cancelled by a caller's
    explicit `/gradio_api/cancel`, not by a hang-up or a server stopping."""
    try:
        task = task or asyncio.current_task()
    except RuntimeError:
        return False
    name = task.get_name() if task is not None else ""
    if SEPARATOR not in name:
        return False
    key = name.split(SEPARATOR, 1)[0]
    with _lock:
        at = _notes.get(key)
    return at is not None and time.monotonic() - at <= KEEP_S
