"""The trimmer (issue #12): a filmstrip of a long clip with a draggable 3-10 s window.

One self-contained `gr.HTML` component (html_template, css_template, js_on_load). Its value is
the strip and the window, made on the server (`trimmer_value`); the page only draws it and lets
the user move the window:

- drag the window to move it, drag an edge to resize it (3-10 s, inside the clip), tap the strip
  elsewhere to centre the window there; pointer events, so mouse, pen and touch alike;
- keyboard: each of the window and its two edges is a focusable slider; the arrow keys move or
  resize by 0.1 s (Shift: 1 s), Page Up/Down by 1 s, Home/End to either end of the clip; the
  times are in each slider's aria-valuetext and in a live readout.

When a drag ends (or the keys rest for a moment) the component fires its `trim` event with the
window; `window_from_event` turns it into the tab's start/length controls, which stay the
source of truth (spec_from, the checks, the cost, the run all read them). The server sends the
component a value only for a new clip or when the user types a time below it, never as an echo
of its own window: on a busy server a late echo would drag the window back.

The same script makes any `<video data-loop-start data-loop-end>` loop that stretch of the file:
the card's player plays the chosen window of a clip the browser can play (`common.player_html`).
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import gradio as gr

from ..core.rules import WINDOW_MAX_SECONDS, WINDOW_MIN_SECONDS, trim_window
from ..i18n import t
from ..media.filmstrip import Filmstrip
from .common import file_url

TEMPLATE = """${(value && value.duration) ? `
<div class="kt" role="group" aria-label="Trim: choose the ${value.min}-${value.max} s of the clip to send">
  <div class="kt-track">
    <div class="kt-frames"></div>
    <div class="kt-shade kt-shade-l"></div>
    <div class="kt-shade kt-shade-r"></div>
    <div class="kt-win" tabindex="0" role="slider" aria-label="Trim window (move)"></div>
    <div class="kt-edge kt-edge-l" tabindex="0" role="slider" aria-label="Trim window start"></div>
    <div class="kt-edge kt-edge-r" tabindex="0" role="slider" aria-label="Trim window end"></div>
  </div>
  <div class="kt-scale" aria-hidden="true"><span>0 s</span><span>${value.duration.toFixed(1)} s</span></div>
  <p class="kt-readout" aria-live="polite"></p>
  <p class="kt-help">${value.help || ''}</p>
</div>` : ''}"""

CSS = """
.kt { user-select: none; -webkit-user-select: none; }
.kt-track { position: relative; height: 64px; margin: 6px 22px 0; border-radius: 6px;
  background: #1f2937; touch-action: none; cursor: pointer; }
.kt-frames { position: absolute; inset: 0; display: flex; overflow: hidden; border-radius: 6px; }
.kt-frames img { flex: 1 1 0; min-width: 0; height: 100%; object-fit: cover; pointer-events: none; }
.kt-wait { color: #e5e7eb; font-size: .85rem; margin: auto; }
.kt-shade { position: absolute; top: 0; bottom: 0; background: rgba(17, 24, 39, .62);
  pointer-events: none; }
.kt-shade-l { left: 0; border-radius: 6px 0 0 6px; }
.kt-shade-r { right: 0; border-radius: 0 6px 6px 0; }
.kt-win { position: absolute; top: -3px; bottom: -3px; box-sizing: border-box;
  border: 3px solid #facc15; border-radius: 6px; cursor: grab; touch-action: none;
  box-shadow: 0 0 0 1px rgba(0, 0, 0, .5); }
.kt-win:active { cursor: grabbing; }
/* Each edge is a 44 px wide target (phone-width tap targets) around a 12 px visible grip. */
.kt-edge { position: absolute; top: -6px; bottom: -6px; width: 44px; margin-left: -22px;
  cursor: ew-resize; touch-action: none; z-index: 2; }
.kt-edge::after { content: ""; position: absolute; top: 0; bottom: 0; left: 16px; width: 12px;
  border-radius: 4px; background: #facc15; box-shadow: 0 0 0 1px rgba(0, 0, 0, .55); }
.kt-win:focus-visible, .kt-edge:focus-visible { outline: 3px solid #4338ca !important;
  outline-offset: 2px; }
.kt-edge:focus-visible::after { background: #fde047; box-shadow: 0 0 0 3px #4338ca; }
.kt-scale { display: flex; justify-content: space-between; margin: 8px 22px 0;
  font-size: .8rem; opacity: .8; }
.kt-readout { margin: 2px 0 0; text-align: center; font-weight: 600;
  font-variant-numeric: tabular-nums; }
.kt-help { margin: 2px 0 4px; font-size: .8rem; opacity: .8; text-align: center; }
"""

JS = r"""
const MIN = +(props.value && props.value.min) || 3, MAX = +(props.value && props.value.max) || 10;
const q = (s) => element.querySelector(s);
let st = null;        // the window shown: {start, end, duration}
let drag = null;      // a pointer drag in progress
let timer = null;
const fmt = (x) => x.toFixed(1);
const snap = (x) => Math.round(x * 10) / 10;

function move(s, len) { s = Math.max(0, Math.min(s, st.duration - len)); return [s, s + len]; }
function resizeStart(s, e) { return [Math.max(0, e - MAX, Math.min(s, e - MIN)), e]; }
function resizeEnd(s, e) { return [s, Math.min(st.duration, s + MAX, Math.max(e, s + MIN))]; }

function setSlider(el, now, lo, hi, text) {
  el.setAttribute('aria-valuemin', fmt(lo)); el.setAttribute('aria-valuemax', fmt(hi));
  el.setAttribute('aria-valuenow', fmt(now)); el.setAttribute('aria-valuetext', text);
}

function apply() {
  const win = q('.kt-win');
  if (!win || !st) return;
  const d = st.duration, pct = (t) => (100 * t / d) + '%', len = st.end - st.start;
  win.style.left = pct(st.start); win.style.width = pct(len);
  q('.kt-edge-l').style.left = pct(st.start); q('.kt-edge-r').style.left = pct(st.end);
  q('.kt-shade-l').style.width = pct(st.start);
  q('.kt-shade-r').style.left = pct(st.end);
  const span = fmt(st.start) + ' to ' + fmt(st.end) + ' s';
  setSlider(win, st.start, 0, d - len, 'Window ' + span + ' (' + fmt(len) + ' s) of ' + fmt(d) + ' s');
  setSlider(q('.kt-edge-l'), st.start, Math.max(0, st.end - MAX), st.end - MIN,
            'Start ' + fmt(st.start) + ' s, window ' + fmt(len) + ' s');
  setSlider(q('.kt-edge-r'), st.end, st.start + MIN, Math.min(d, st.start + MAX),
            'End ' + fmt(st.end) + ' s, window ' + fmt(len) + ' s');
  const says = (props.value && props.value.sends) || 'Sends {start}–{end} s ({len} s)';
  q('.kt-readout').textContent = says.replace('{start}', fmt(st.start)).replace('{end}', fmt(st.end))
    .replace('{len}', fmt(len));
}

// The frames are drawn here, not in the template: a value without them (the checks answer
// before the strip is made, and may land after it) keeps the strip already shown for the clip.
const strips = {};
function drawFrames(v) {
  const box = q('.kt-frames');
  if (!box) return;
  if (v.frames && v.frames.length) strips[v.clip] = v.frames;
  const frames = strips[v.clip] || [];
  const key = v.clip + ':' + frames.length + ':' + (v.error || '');
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  box.replaceChildren();
  for (const f of frames) {
    const img = document.createElement('img');
    img.src = f.url; img.alt = ''; img.draggable = false;
    box.appendChild(img);
  }
  if (!frames.length) {
    const wait = document.createElement('span');
    wait.className = 'kt-wait';
    wait.textContent = v.error || 'Making the filmstrip…';
    box.appendChild(wait);
  }
}

function fromValue() {
  const v = props.value;
  if (!v || !v.duration) { st = null; return; }
  drawFrames(v);
  if (drag || timer) { apply(); return; }  // the user's own window wins until it is sent
  st = {start: +v.start, end: +v.end, duration: +v.duration};
  apply();
}

function commit() {
  clearTimeout(timer); timer = null;
  if (!st) return;
  st.start = snap(st.start); st.end = Math.min(snap(st.end), Math.floor(st.duration * 10) / 10);
  apply();
  trigger('trim', {start: st.start, length: snap(st.end - st.start)});
}

function modeOf(el) {
  if (!el || !el.classList) return null;
  if (el.classList.contains('kt-edge-l')) return 'l';
  if (el.classList.contains('kt-edge-r')) return 'r';
  if (el.classList.contains('kt-win')) return 'move';
  return null;
}

element.addEventListener('pointerdown', (ev) => {
  if (!st || ev.button > 0) return;
  const track = q('.kt-track');
  const hit = ev.target.closest && ev.target.closest('.kt-edge, .kt-win, .kt-track');
  if (!track || !hit) return;
  const box = track.getBoundingClientRect();
  if (!box.width) return;
  let mode = modeOf(hit);
  if (!mode) {  // a tap on the strip outside the window centres the window there
    const len = st.end - st.start, at = (ev.clientX - box.left) / box.width * st.duration;
    [st.start, st.end] = move(at - len / 2, len);
    apply();
    mode = 'move';
  }
  drag = {mode, x: ev.clientX, s: st.start, e: st.end, w: box.width, id: ev.pointerId};
  track.setPointerCapture && track.setPointerCapture(ev.pointerId);
  const target = {l: '.kt-edge-l', r: '.kt-edge-r', move: '.kt-win'}[mode];
  q(target).focus({preventScroll: true});
  ev.preventDefault();
});

element.addEventListener('pointermove', (ev) => {
  if (!drag || ev.pointerId !== drag.id) return;
  const dt = (ev.clientX - drag.x) / drag.w * st.duration;
  if (drag.mode === 'move') [st.start, st.end] = move(drag.s + dt, drag.e - drag.s);
  else if (drag.mode === 'l') [st.start, st.end] = resizeStart(drag.s + dt, drag.e);
  else [st.start, st.end] = resizeEnd(drag.s, drag.e + dt);
  apply();
});

function endDrag(ev) {
  if (!drag || ev.pointerId !== drag.id) return;
  drag = null;
  commit();
}
element.addEventListener('pointerup', endDrag);
element.addEventListener('pointercancel', endDrag);

element.addEventListener('keydown', (ev) => {
  const mode = modeOf(ev.target);
  if (!st || !mode) return;
  const step = ev.shiftKey ? 1 : 0.1;
  const keys = {ArrowLeft: -step, ArrowDown: -step, ArrowRight: step, ArrowUp: step,
                PageDown: -1, PageUp: 1, Home: -Infinity, End: Infinity};
  if (!(ev.key in keys)) return;
  ev.preventDefault();
  const delta = keys[ev.key], s = st.start, e = st.end;
  if (mode === 'move') [st.start, st.end] = move(s + delta, e - s);
  else if (mode === 'l') [st.start, st.end] = resizeStart(s + delta, e);
  else [st.start, st.end] = resizeEnd(s, e + delta);
  st.start = snap(st.start); st.end = snap(st.end);
  apply();
  clearTimeout(timer);
  timer = setTimeout(commit, 350);  // one update when the keys rest, not one per press
});

watch('value', fromValue);
fromValue();

// Players that show a window of a whole file loop that window (common.player_html).
if (!window.__klingWindowLoop) {
  window.__klingWindowLoop = true;
  const loop = (ev) => {
    const v = ev.target;
    if (!(v instanceof HTMLVideoElement) || !v.dataset || !v.dataset.loopEnd) return;
    const s = +v.dataset.loopStart, e = +v.dataset.loopEnd;
    if (ev.type === 'pause' && v.currentTime < e - 0.1) return;  // paused by the user
    if (ev.type === 'loadedmetadata' || ev.type === 'ended' || v.currentTime >= e - 0.04
        || v.currentTime < s - 0.3) {
      v.currentTime = s;
      if (ev.type !== 'loadedmetadata' || v.autoplay) v.play().catch(() => {});
    }
  };
  for (const t of ['timeupdate', 'loadedmetadata', 'ended', 'pause'])
    document.addEventListener(t, loop, true);
}
"""


def build_trimmer(elem_id: str) -> gr.HTML:
    """The trimmer component (empty until `trimmer_value` gives it a clip)."""
    return gr.HTML(None, html_template=TEMPLATE, css_template=CSS, js_on_load=JS,
                   elem_id=elem_id, elem_classes=["kling-trimmer"], apply_default_css=False)


def trimmer_value(duration: float, start: float, length: float | None,
                  strip: Filmstrip | None = None, *, clip: str = "", error: str = ""
                  ) -> dict[str, Any]:
    """The trimmer's value: the clip's length, the window as it will be cut, the strip.

    `clip` names the clip (its path; only a digest is sent): a value without frames keeps the
    strip the page already shows for the same clip.
    """
    begin, end = trim_window(duration, start, length)
    frames = ([{"url": file_url(p), "t": t} for p, t in zip(strip.frames, strip.times,
                                                             strict=False)] if strip else [])
    return {"duration": round(duration, 3), "start": round(begin, 3), "end": round(end, 3),
            "min": int(WINDOW_MIN_SECONDS), "max": int(WINDOW_MAX_SECONDS), "frames": frames,
            "error": error, "clip": hashlib.sha256(clip.encode()).hexdigest()[:16],
            # its words, in the page's language (the readout's {fields} are filled in JS)
            "help": t("trim.help", min=int(WINDOW_MIN_SECONDS), max=int(WINDOW_MAX_SECONDS)),
            "sends": t("trim.sends", start="{start}", end="{end}", len="{len}")}


def window_from_event(data: Any, duration: float | None = None) -> tuple[float, float] | None:
    """(start, length) from a `trim` event's data, rounded to 0.1 s and kept to 3-10 s; None
    when the data is not a window (a page must not be able to send anything else)."""
    if not isinstance(data, dict):
        return None
    try:
        start, length = float(data["start"]), float(data["length"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (math.isfinite(start) and math.isfinite(length)):
        return None
    if duration is not None:
        begin, end = trim_window(duration, start, length)
        start, length = begin, end - begin
    start = max(0.0, round(start, 1))
    length = min(WINDOW_MAX_SECONDS, max(WINDOW_MIN_SECONDS, round(length, 1)))
    return start, length
