"""Shared pieces of the Studio UI: the one error wrapper and small renderers (who is asking, and
the session state, are in `visitor`).

`guarded()` is the only place that turns our errors into what Gradio shows: a `KlingError` becomes a
`gr.Error` with its own message (an `InputError` lists every problem); anything unexpected is
logged and shown generically, but re-raised when `KLING_TESTING=1` so a friendly message never
hides a bug. Renderers return HTML strings built with `html.escape` on every user value.
"""

from __future__ import annotations

import contextlib
import functools
import html
import inspect
import logging
import math
import os
import re
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

import gradio as gr

from ..core.errors import KlingError
from ..core.models import Problem, Progress
from ..core.profile import PROFILES
from ..core.rules import PROMPT_MAX_CHARS
from ..i18n import (
    EN,
    current_lang,
    error_text,
    error_title,
    field_label,
    from_english,
    problem_text,
    t,
    token_what,
)
from ..runs.service import JobResult, Preflight, UploadCheck

log = logging.getLogger("kling_ui.ui")

GENERIC_ERROR = (
    "Something went wrong inside the Studio. Your inputs are kept; please try again, and if it "
    "happens again tell the host (the details are in the server log)."
)
F = TypeVar("F", bound=Callable[..., Any])


def testing() -> bool:
    return os.environ.get("KLING_TESTING", "") == "1"


def to_gr_error(exc: KlingError) -> gr.Error:
    """The user-facing form of one of our errors (messages are already redacted)."""
    return gr.Error(error_text(exc), duration=None, title=error_title(exc), print_exception=False)


def _translate(exc: Exception) -> BaseException:
    if isinstance(exc, gr.Error):
        return exc
    if isinstance(exc, KlingError):
        return to_gr_error(exc)
    if testing():
        return exc
    log.exception("unexpected error in a UI handler")
    return gr.Error(t("error.generic"), title=t("error.title.generic"), print_exception=False)


def guarded(fn: F) -> F:
    """Wrap a handler (sync, async or async generator) so errors reach the user as one message."""
    if inspect.isasyncgenfunction(fn):

        @functools.wraps(fn)
        async def agen(*args: Any, **kwargs: Any) -> Any:
            with _translating():
                async for item in fn(*args, **kwargs):
                    yield item

        return agen  # type: ignore[return-value]
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def coro(*args: Any, **kwargs: Any) -> Any:
            with _translating():
                return await fn(*args, **kwargs)

        return coro  # type: ignore[return-value]

    @functools.wraps(fn)
    def sync(*args: Any, **kwargs: Any) -> Any:
        with _translating():
            return fn(*args, **kwargs)

    return sync  # type: ignore[return-value]


@contextlib.contextmanager
def _translating() -> Iterator[None]:
    """Re-raise what `_translate` makes of an exception (itself when it is to propagate)."""
    try:
        yield
    except Exception as exc:
        out = _translate(exc)
        if out is exc:
            raise
        raise out from exc


def file_url(path: str) -> str:
    """Relative URL Gradio serves a local file under (the path must be allowed or cached)."""
    return "gradio_api/file=" + quote(path)


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def chip(token: str, what: str = "") -> str:
    """A token chip: clicking it inserts `token` at the prompt's cursor (assets/studio.js)."""
    title = t("chip.title", token=token, what=what) if what else t("chip.title_plain", token=token)
    return (f'<button type="button" class="kling-chip" data-token="{esc(token)}" '
            f'title="{esc(title)}">{esc(token)}</button>')


def problems_html(problems: Iterable[Problem], *, empty: str = "") -> str:
    items = []
    for p in problems:
        if p.fixable and p.is_error:
            # Run fixes it first: said in a neutral colour, not as a blocker (issue #23).
            items.append(f'<li class="kling-willfix">↻ {esc(t("checks.will_fix"))} '
                         f'<b>{esc(field_label(p.field))}</b> {esc(problem_text(p))}</li>')
            continue
        icon, cls = ("✗", "kling-err") if p.is_error else ("⚠", "kling-warn")
        items.append(f'<li class="{cls}">{icon} <b>{esc(field_label(p.field))}</b> '
                     f'{esc(problem_text(p))}</li>')
    if not items:
        return f'<p class="kling-ok">{esc(empty)}</p>' if empty else ""
    return '<ul class="kling-problems">' + "".join(items) + "</ul>"


def card_html(token: str | None, what: str, check: UploadCheck | None, error: str | None = None,
              *, thumb: bool = False, note: str = "", good: str = "") -> str:
    """The line under an upload: its token chip, its badge, its problems; `good` is good
    news shown in green (a long clip's window "will be cut to 1.0-6.0 s ...")."""
    if check is None and error is None:
        return ""
    parts = ['<div class="kling-card">']
    head = chip(token, what) + f' <span class="kling-what">{esc(what)}</span>' if token else ""
    if thumb and check is not None:
        head = f'<img class="kling-thumb" src="{file_url(check.path)}" alt="{esc(what)}"> ' + head
    parts.append(f'<div class="kling-card-head">{head}</div>')
    if error:
        parts.append(f'<p class="kling-err">✗ {esc(from_english(error))}</p>')
    if check is not None:
        parts.append(f'<div class="kling-badge">{esc(badge_text(check.badge))}</div>')
        parts.append(problems_html(check.problems))
    if good:
        parts.append(f'<p class="kling-ok">✓ {esc(from_english(good))}</p>')
    if note:
        parts.append(f'<p class="kling-note">{esc(note)}</p>')
    parts.append("</div>")
    return "".join(parts)


def player_html(check: UploadCheck | None, preview: str | None = None, *,
                whole: bool = False, window: tuple[float, float] | None = None) -> str:
    """The card's player for a clip the browser cannot play (HEVC, MKV, ...): the only one.

    Until the preview exists it shows the poster and says so; the tab's CSS hides Gradio's own
    (blank) player while this holds `kling-player-live`. For a clip the browser plays: empty,
    or with a trim `window` (start, end) the clip itself looping that window (the trimmer's
    script loops any video with data-loop-start/end).
    """
    if check is not None and not check.preview_pending and window is not None:
        start, end = window
        return (f'<div class="kling-player kling-player-live"><video class="kling-preview" '
                f'src="{file_url(check.path)}#t={start:.2f},{end:.2f}" '
                f'data-loop-start="{start:.2f}" data-loop-end="{end:.2f}" controls muted autoplay '
                f'playsinline preload="auto" aria-label="Preview of the chosen window, '
                f'{start:.1f} to {end:.1f} s, looping"></video><p class="kling-note" '
                f'role="status">{esc(t("player.window", start=start, end=end))}</p>'
                "</div>")
    if check is None or not check.preview_pending:
        return ""
    poster = file_url(check.poster_path) if check.poster_path else ""
    if preview is None:
        img = (f'<img class="kling-preview" src="{poster}" alt="{esc(t("player.poster_alt"))}">'
               if poster else "")
        return (f'<div class="kling-player kling-player-live">{img}<p class="kling-note '
                f'kling-making" role="status">{esc(t("player.making"))}</p></div>')
    note = t("player.whole") if whole else t("player.first")
    attr = f' poster="{poster}"' if poster else ""
    return (f'<div class="kling-player kling-player-live"><video class="kling-preview" '
            f'src="{file_url(preview)}"{attr} controls muted loop autoplay playsinline '
            f'preload="auto" aria-label="{esc(t("player.label"))}"></video>'
            f'<p class="kling-note" role="status">{esc(note)}</p></div>')


def tokens_html(tokens: Iterable[tuple[str, str]]) -> str:
    tokens = list(tokens)
    if not tokens:
        return (f'<div class="kling-chips"><span class="kling-note">{esc(t("chips.empty"))}'
                '</span></div>')
    chips = " ".join(f'<span class="kling-chip-wrap">{chip(t, token_what(w))}'
                     f'<small>{esc(token_what(w))}</small></span>'
                     for t, w in tokens)
    return (f'<div class="kling-chips"><span class="kling-note">{esc(t("chips.hint"))}'
            f'</span> {chips}</div>')


def prompt_counter(pre: Preflight) -> str:
    """ "2430 characters typed · 4050 as sent (limit 2500)": the limit counts what is sent."""
    over = " kling-err" if pre.chars_sent > PROMPT_MAX_CHARS else ""
    return (f'<p class="kling-note kling-counter{over}">'
            f'{esc(t("counter", typed=pre.chars_typed, sent=pre.chars_sent, limit=PROMPT_MAX_CHARS))}</p>')


def preflight_html(pre: Preflight, original_prompt: str) -> str:
    rewritten = original_prompt.strip() and pre.prompt.strip() != original_prompt.strip()
    if pre.ok and not pre.problems and not pre.notes and not rewritten:
        # All is well: one line (issue #23), so the result sits higher.
        counter = (f' <span class="kling-note kling-counter">· {esc(t("counter", typed=pre.chars_typed, sent=pre.chars_sent, limit=PROMPT_MAX_CHARS))}</span>'
                   if original_prompt else "")
        return (f'<div class="kling-checks"><p class="kling-ok kling-oneline">'
                f'{esc(t("checks.ready"))}{counter}</p></div>')
    parts = ['<div class="kling-checks">']
    if original_prompt:
        parts.append(prompt_counter(pre))
    stops = [p for p in pre.errors if not p.fixable]
    if pre.ok:
        parts.append(f'<p class="kling-ok">{esc(t("checks.ready"))}</p>')
    elif stops:
        n = len(stops)
        parts.append('<p class="kling-err kling-why" role="status">'
                     + esc(t("checks.off_one") if n == 1 else t("checks.off_many", n=n)) + "</p>")
    else:
        parts.append(f'<p class="kling-ok">{esc(t("checks.ready_fix"))}</p>')
    for field, message in pre.notes:
        parts.append(f'<p class="kling-ok">✓ <b>{esc(field_label(field))}</b> '
                     f'{esc(from_english(message))}</p>')
    parts.append(problems_html(pre.problems))
    if pre.prompt.strip() != (original_prompt or "").strip() and original_prompt.strip():
        parts.append(f'<p class="kling-note">{esc(t("checks.sent_as"))} <code>'
                     f"{esc(pre.prompt)}</code></p>")
    parts.append("</div>")
    return "".join(parts)


STAGE_LABELS = {
    "queued": "Queued",
    "checking": "Checking inputs",
    "fixing": "Fixing inputs",
    "uploading": "Uploading inputs",
    "starting": "Starting",
    "processing": "Generating",
    "downloading": "Downloading the output",
    "finishing": "Finishing",
    "done": "Done",
}


def about(seconds: float) -> str:
    """A wait as a person says it: "about 40 s" (5 s steps under a minute, at least 10 s),
    "about 3 min", "about 1 h 20 min". Estimates are rough, so nothing finer is claimed."""
    seconds = max(0.0, seconds)
    if seconds < 55:
        return t("queue.about_s", n=max(10, math.ceil(seconds / 5) * 5))
    minutes = max(1, round(seconds / 60))
    if minutes < 60:
        return t("queue.about_min", n=minutes)
    hours, rest = divmod(minutes, 60)
    return t("queue.about_h_min", h=hours, m=rest) if rest else t("queue.about_h", h=hours)


LATE_SAYS_ELAPSED = 15.0  # s late before "any moment now" also says how long it has waited


def waited_text(seconds: float) -> str:
    """An elapsed wait: "40 s", "2 min 10 s"."""
    m, sec = divmod(int(max(0.0, seconds)), 60)
    return t("queue.mins", m=m, s=sec) if m else t("queue.secs", s=sec)


def line_text(position: int, wait: float | None, *, late: float = 0.0,
              waited: float = 0.0) -> str:
    """Where a waiting run stands: "2 ahead of you · about 3 min", "Next in line · about 40 s"
    (no time when no run of these modes has been timed yet). Once the slot it waits for is
    overdue (`late` s past its time): "any moment now", and after a while how long it has
    waited, never a stale "about 10 s" (issue #24)."""
    head = t("queue.next") if position <= 0 else t("queue.ahead", n=position)
    if wait is None:
        return head
    if late > LATE_SAYS_ELAPSED:
        return f"{head} · {t('queue.late', elapsed=waited_text(waited))}"
    if late > 0 or wait <= 0:
        return f"{head} · {t('queue.soon')}"
    return f"{head} · {about(wait)}"


def tab_title(p: Progress | None, state: str) -> str:
    """What the browser tab's title says about the run ("✓ Done", "Running 40%")."""
    if state == "done":
        return t("title.done")
    if state == "failed":
        return t("title.failed")
    if state == "canceled":
        return t("title.canceled")
    if state == "canceling":
        return t("title.canceling")
    if p is not None and p.stage == "queued":
        return t("title.in_line_next") if not p.position else t("title.in_line", n=p.position)
    if p is not None and p.fraction is not None:
        return t("title.running_pct", pct=f"{max(0.0, min(1.0, p.fraction)) * 100:.0f}")
    return t("title.running")


def progress_html(p: Progress | None, elapsed: float, *, state: str = "running",
                  message: str = "", note: str = "") -> str:
    """Live status: our stage, Replicate's own status, elapsed time, the latest log line.

    `message` is shown whole, every line of it (an input problem lists each file). `state`
    "canceling" keeps saying so until the run handler confirms the cancel.
    """
    cls = {"running": "kling-run", "done": "kling-done", "failed": "kling-failed",
           "canceled": "kling-canceled", "canceling": "kling-canceled"}.get(state, "kling-run")
    stage = stage_text(p.stage) if p else t("stage.queued")
    if state == "canceling":
        message = message or t("status.canceling")
    head = message or stage
    said = p.status if p is not None else ""
    if said == "starting" and p is not None and p.fraction is not None:
        # A held create whose wait ran out reads "starting" while the model already logs its
        # progress (Replicate's documented quirk, see replicate.simulator.routes): it is
        # processing, and the status says so once, not "starting" over "Generating frames 40%".
        said = "processing"
    if not message and p is not None and said and p.stage in ("starting", "processing"):
        # Replicate's own state, as it comes: starting, processing (with a percentage).
        head = t("status.replicate", status=replicate_status(said))
        if p.fraction is not None:
            head += f" · {max(0.0, min(1.0, p.fraction)) * 100:.0f}%"
    if not message and p is not None and p.stage == "queued" and p.position is not None:
        # Waiting for one of the Studio's slots (kling_ui.runs.pool): where it stands, about how long.
        head = line_text(p.position, p.wait, late=float(p.extra.get("late") or 0.0),  # type: ignore[arg-type]
                         waited=float(p.extra.get("waited") or 0.0))  # type: ignore[arg-type]
    title = esc(tab_title(p, state))
    # While a run is live the page counts the seconds itself (studio.js, from data-elapsed), so
    # the watcher sends a message only when something else changes (see `Changes`).
    live = f' data-elapsed="{elapsed:.1f}"' if state in ("running", "canceling") else ""
    rows = [f'<div class="kling-progress {cls}" data-title="{title}" role="status">',
            f'<div class="kling-status-head"><b class="kling-status-msg">{esc(head)}</b>'
            f' <span class="kling-elapsed"{live}>· {elapsed:.0f} s</span></div>']
    if p is not None and p.status:
        rows.append(f'<div>{esc(t("status.replicate_status"))} '
                    f'<code>{esc(replicate_status(said))}</code>'
                    + (f' · {esc(t("status.prediction"))} <code>{esc(p.prediction_id)}</code>'
                       if p.prediction_id else "")
                    + "</div>")
    if p is not None and p.fraction is not None and state in ("running", "canceling"):
        pct = max(0.0, min(1.0, p.fraction)) * 100
        rows.append(f'<div class="kling-bar"><span style="width:{pct:.0f}%"></span></div>')
    if p is not None and p.log_line and state != "canceled":
        # The Studio's own sub-lines are catalogued; the model's log is shown as it comes, in
        # English (so marked, for screen readers and the zh-CN walk: tests/test_zh_walk_browser).
        # One that says what the heading says is not said twice; a canceled run's last step is
        # over, so it is not shown under "Canceled" (issue #23).
        said = from_english(p.log_line)
        if said.strip() != head.strip():
            own = said == p.log_line and current_lang() != "en"  # the model's own words
            body = (f'<span class="kling-log-from">{esc(t("log.model_says"))}</span>'
                    f'<span lang="en">{esc(said)}</span>') if own else esc(said)
            rows.append(f'<pre class="kling-log">{body}</pre>')
    if note:
        rows.append(f'<p class="kling-note">{esc(note)}</p>')
    rows.append("</div>")
    return "".join(rows)


def goto_tab(tab: str) -> str:
    """The value that opens `tab` (a Tab's value, or "library") when written to the page's
    hidden `kling-goto` box; a fresh suffix makes every write a change, even to the same tab.

    Not gr.Tabs(selected=...): once gr.Tabs is an event's output, Gradio 6.31 walks all 444
    components under it on every later message the page gets (ui.common.Changes), and a
    prompt edit cost the page 0.5 s instead of 0.13 s. The box's change runs only JavaScript
    (GOTO_JS), which clicks the tab as a person would.
    """
    return f"{tab}#{secrets.token_hex(4)}"


GOTO_JS = """(value) => {
  let id = String(value || "").split("#")[0];
  // "auto:" (a reload mid-run opening its tab): only while the person has touched nothing.
  if (id.startsWith("auto:") && window.klingUntouched && !window.klingUntouched()) return;
  id = id.replace(/^auto:/, "");
  const tab = id && document.querySelector(
    '#kling-tabs [role="tab"][aria-controls="tab-' + id + '"]');
  if (!tab) return;
  if (tab.getAttribute("aria-selected") !== "true") tab.click();
  // From low on the page (the Library's Restore, a result's Next shot) the new tab opens at
  // its top, not mid-way down at the old scroll position.
  if (tab.getBoundingClientRect().top < 0) tab.scrollIntoView({block: "start"});
}"""


_ELAPSED = re.compile(r'<span class="kling-elapsed"[^>]*>[^<]*</span>')


class Changes:
    """Which of a watcher's updates are worth a message to the page.

    Every message Gradio delivers costs the page's main thread ~0.1-0.3 s: its frontend updates
    the loading state of every component any event of the page has ever written, each one found
    by a walk of the whole component tree (gradio 6.31, `update_loading_stati_state`). A watcher
    that yielded every 0.5 s kept a page 80% busy for a whole run (clicks took seconds). So a
    watcher yields only what changed; the seconds count up in the browser (`data-elapsed`), and
    a heartbeat every `heartbeat` seconds re-syncs them.
    """

    def __init__(self, heartbeat: float = 30.0) -> None:
        self.heartbeat = heartbeat
        self._last: Any = None
        self._at = -math.inf

    def new(self, *signature: Any) -> bool:
        """True (and remembered) when `signature` differs from the last one, or on a heartbeat.

        Strings are compared without their elapsed seconds."""
        key = tuple(_ELAPSED.sub("", x) if isinstance(x, str) else x for x in signature)
        now = time.monotonic()
        if key == self._last and now - self._at < self.heartbeat:
            return False
        self._last, self._at = key, now
        return True


RUN_STATE = {"succeeded": "done", "failed": "failed", "lost": "failed", "timed out": "failed",
             "aborted": "failed", "canceled": "canceled"}
RUN_STATUS_TEXT = {
    "queued": "Queued", "preparing": "Uploading inputs", "starting": "Starting", "processing": "Generating",
    "downloading": "Downloading the output", "waiting_for_key": "Waiting for your key",
    "waiting_for_disk": "Waiting for disk space", "succeeded": "Done", "failed": "Failed", "canceled": "Canceled", "aborted": "Aborted",
    "timed out": "Timed out", "lost": "Lost",
}
_STATUS_KEYS = {
    "queued": "stage.queued",
    "preparing": "status.preparing", "starting": "stage.starting", "processing": "stage.processing",
    "downloading": "stage.downloading", "waiting_for_key": "status.waiting_for_key",
    "waiting_for_disk": "status.waiting_for_disk", "succeeded": "stage.done", "failed": "status.failed", "canceled": "status.canceled",
    "aborted": "status.aborted", "timed out": "status.timed_out", "lost": "status.lost",
}


def status_text(status: str) -> str:
    """A library run's status in the page's language (RUN_STATUS_TEXT's English otherwise)."""
    key = _STATUS_KEYS.get(status)
    return t(key) if key else status


def stage_text(stage: str) -> str:
    """A live run's stage in the page's language (STAGE_LABELS's English otherwise)."""
    return t("stage." + stage) if stage in STAGE_LABELS else stage


# The stage a run's row is in, by its status (a Studio detail line on the row brings its own).
_ROW_STAGE = {"queued": "queued", "preparing": "uploading", "starting": "starting",
              "processing": "processing", "downloading": "downloading", "succeeded": "done"}
# What Replicate said of the prediction, by the row's status where the row knows it (its own
# words, such as "downloading", are not Replicate's; a run that failed or was canceled here may
# have failed in the Studio, after Replicate's part succeeded).
_ROW_REPLICATE = {"starting": "starting", "processing": "processing", "downloading": "succeeded",
                  "waiting_for_disk": "succeeded", "succeeded": "succeeded"}


def run_progress_html(run: Any) -> str:
    """A library run's journaled state, in the same box as live progress: while it runs, the
    stage its row's detail line belongs to, as the live box says it (issue #23)."""
    state = RUN_STATE.get(run.status, "running")
    message = ""
    if run.error and state != "running":
        message = f"{status_text(run.status)}: {run.error}"
    elif run.status == "waiting_for_key":
        message = f"{status_text(run.status)}: {run.log_line}"
    elif run.status == "waiting_for_disk":  # its log line says what and why
        message = from_english(run.log_line) or status_text(run.status)
    elif run.status not in _ROW_STAGE:
        message = status_text(run.status)
    progress = Progress(stage=_ROW_STAGE.get(run.status, run.status),
                        status=_ROW_REPLICATE.get(run.status, "") if run.prediction_id else "",
                        log_line="" if run.error else run.log_line, fraction=run.fraction,
                        prediction_id=run.prediction_id)
    return progress_html(progress, max(0.0, run.updated_at - run.created_at), state=state,
                         message=message)


def _fmt_fact(key: str, facts: Mapping[str, Any]) -> str:
    if not facts:
        return "—"
    if key == "duration":
        d = facts.get("duration")
        return f"{float(d):.2f} s" if d else t("facts.still")
    if key == "size":
        w, h = facts.get("width"), facts.get("height")
        return f"{w}x{h}" if w and h else "—"
    if key == "fps":
        fps = facts.get("fps")
        return f"{float(fps):g} fps" if fps else "—"
    if key == "audio":
        if "has_audio" not in facts:
            return "—"
        return t("facts.yes") if facts.get("has_audio") else t("facts.no")
    return str(facts.get(key, "—"))


def facts_html(result: JobResult) -> str:
    """Output facts against the original's, one row per fact. With no original (Text) the
    table has no column of dashes: only the output's."""
    both = bool(result.original_facts)
    rows = "".join(
        f'<tr><th scope="row">{esc(t(label))}</th>'
        + (f"<td>{esc(_fmt_fact(key, result.original_facts))}</td>" if both else "")
        + f"<td>{esc(_fmt_fact(key, result.output_facts))}</td></tr>"
        for key, label in (("duration", "facts.duration"), ("size", "facts.size"),
                           ("fps", "facts.fps"), ("audio", "facts.audio"))
    )
    extra = []
    if result.spec is not None and result.spec.model in PROFILES:  # which model made it (#25)
        extra.append(esc(PROFILES[result.spec.model].name))
    if result.predict_time is not None:
        extra.append(esc(t("facts.model_time", secs=result.predict_time)))
    extra.append(esc(t("facts.cost", usd=result.estimated_cost_usd)))
    extra.append(f"{esc(t('status.prediction'))} <code>{esc(result.prediction_id)}</code>")
    fixes = "".join(f"<li>{esc(field_label(f.field))}: {esc(from_english(f.detail))}</li>"
                    for f in result.fixes)
    warns = "".join(f"<li>{esc(from_english(w))}</li>" for w in result.warnings)
    return ('<div class="kling-facts"><table><thead><tr><th scope="col">'
            f'<span class="kling-sr">{esc(t("facts.fact"))}</span></th>'
            + (f'<th scope="col">{esc(t("facts.original"))}</th>' if both else "")
            + f'<th scope="col">{esc(t("facts.output"))}</th></tr></thead><tbody>{rows}</tbody>'
            f'</table><p class="kling-note">{" · ".join(extra)}</p>'
            + (f"<p>{esc(t('facts.fixes'))}</p><ul>{fixes}</ul>" if fixes else "")
            + (f"<p>{esc(t('facts.warnings'))}</p><ul>{warns}</ul>" if warns else "")
            + "</div>")


def replicate_status(status: str) -> str:
    """Replicate's own state of a prediction (starting, processing, ...) in the page's language;
    English shows it as Replicate says it (issue #24: zh-CN showed the raw word)."""
    key = f"replicate.{status}"
    return t(key) if key in EN else status


_BADGE_WORDS = {"audio": "card.audio", "no audio": "card.no_audio"}


def badge_text(badge: str) -> str:
    """An upload's badge ("8.1 s · 1920x1080 · 30 fps · audio · 24.0 MB", made by
    media.preview in English) with its words in the page's language."""
    return " · ".join(t(_BADGE_WORDS[p]) if p in _BADGE_WORDS else p for p in badge.split(" · "))


def info(message: str) -> None:
    """gr.Info with its heading in the page's language (Gradio's says "Info")."""
    gr.Info(message, title=t("toast.info"))


def run_cost(run: Any, *, long: bool = False, lang: str | None = None) -> str:
    """What a run cost, said one way wherever it is shown (the Library's caption and detail, the
    share page; issue #23): its estimate while it runs or once it made a video, "no charge" when
    it ended without one (Run.charged), marked when it was only simulated. `long` for a detail
    line, the short form for a caption."""
    usd = float(run.estimated_cost or 0.0)
    if run.charged is False:
        return t("cost.run_none_long" if long else "cost.run_none", lang)
    if run.backend == "simulator":
        return t("cost.run_sim_long" if long else "cost.run_sim", lang, usd=usd)
    return t("cost.run_est_long" if long else "cost.run_est", lang, usd=usd)


def is_target(evt: Any, button: Any) -> bool:
    """Whether an event (gr.EventData) came from this button, for one listener shared by several
    buttons (issue #23). By elem_id: the target's Gradio id may differ from the one the button
    had when the listener was wired."""
    target = getattr(evt, "target", None)
    return target is not None and getattr(target, "elem_id", None) == button.elem_id
