"""The compare view: the output beside the original, played in sync, with an A/B wipe.

Rendered as plain HTML into a gr.HTML; assets/studio.js drives it with delegated listeners
(play/pause/seek of one video follows the other; the wipe slider, or a drag on the picture, clips
the output over the original at a line that stays on the output's picture, not its letterbox),
so it keeps working each time the HTML is replaced by a new result.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..core.naming import VIDEO_SUFFIXES, original_poster_of
from ..i18n import i18n, t
from ..runs.service import JobResult
from .common import esc, file_url

# What the original is called (runs.running._original_of, finish.py), shown in the page's language.
_LABELS = {"Original": "label.original", "Original clip": "label.original_clip",
           "Start frame": "label.start_frame", "Reference image 1": "label.reference_image_1",
           "Original (full clip)": "label.full_clip"}

# Built with the page, before any request: the browser translates it (gr.I18n).
EMPTY = ('<div class="kling-compare kling-compare-empty"><p>' + i18n("compare.empty")
         + "</p></div>")


def empty_html() -> str:
    """EMPTY in the page's language (EMPTY itself is the English the layout starts with)."""
    return (f'<div class="kling-compare kling-compare-empty"><p>{esc(t("compare.empty"))}</p>'
            "</div>")


def _media(path: str | None, label: str, cls: str, *, muted: bool,
           poster: str | None = None) -> str:
    if not path:
        return (f'<div class="kc-slot {cls} kc-none"><span>{esc(t("compare.none", label=label))}'
                "</span></div>")
    url = file_url(path)
    if Path(path).suffix.lower() in VIDEO_SUFFIXES:
        mute = " muted" if muted else ""
        # A mid-clip poster, so a clip that opens on black still shows what it holds.
        still = f' poster="{file_url(poster)}"' if poster else ""
        return (f'<video class="kc-media {cls}" src="{url}"{still} playsinline preload="auto" '
                f'loop{mute} aria-label="{esc(label)}"></video>')
    return f'<img class="kc-media {cls}" src="{url}" alt="{esc(label)}">'


def _shape(result: JobResult) -> str:
    """The output's own shape for both panels (studio.css: aspect-ratio from --kc-ar), so a
    portrait phone clip plays tall instead of small between black bars in a 16:9 box."""
    try:
        width, height = int(result.output_facts.get("width") or 0), int(
            result.output_facts.get("height") or 0)
    except (TypeError, ValueError):
        return ""
    if width <= 0 or height <= 0 or not 0.2 <= width / height <= 5:
        return ""
    return f' style="--kc-ar: {width} / {height}"'


def _original_poster(original: str) -> str | None:
    """The original clip's poster when the run made one (runs.outputs.original_poster)."""
    poster = original_poster_of(original)
    return poster if os.path.isfile(poster) else None


def compare_html(result: JobResult | None) -> str:
    """Original (A) and output (B) with shared controls; the original starts muted."""
    if result is None:
        return empty_html()
    original = result.original_path
    a_label = t(_LABELS[result.original_label]) if result.original_label in _LABELS else (
        result.original_label)
    output = _media(result.output_path, t("compare.output"), "kc-b", muted=False,
                    poster=result.poster_path)
    # While the tab runs again, or its last run was cancelled or failed, this output is an
    # earlier run's; studio.css then shows this text above the clips and dims them.
    earlier = f' data-earlier="{esc(t("compare.earlier"))}"{_shape(result)}'
    if not original:
        # Text to video: nothing to compare with, so the output takes the whole width.
        return f"""<div class="kling-compare" data-mode="single"{earlier}>
  <div class="kc-stage kc-stage-single">
    <figure class="kc-fig kc-fig-b"><figcaption>{esc(t("compare.output"))}</figcaption>
      {output}</figure>
  </div>
  <div class="kc-controls">
    <button type="button" class="kc-btn" data-kc="toggle">{esc(t("compare.play"))}</button>
    <input type="range" class="kc-seek" data-kc="seek" min="0" max="1000" value="0" aria-label="{esc(t("compare.seek"))}">
    <span class="kc-time">0.0 s</span>
  </div>
</div>"""
    return f"""<div class="kling-compare" data-mode="side"{earlier}>
  <div class="kc-stage">
    <figure class="kc-fig kc-fig-a"><figcaption>A · {esc(a_label)}</figcaption>
      {_media(original, a_label, "kc-a", muted=True, poster=_original_poster(original))}</figure>
    <figure class="kc-fig kc-fig-b"><figcaption>B · {esc(t("compare.output"))}</figcaption>
      {output}</figure>
    <div class="kc-divider" aria-hidden="true"><span class="kc-knob">◀▶</span></div>
  </div>
  <div class="kc-controls">
    <button type="button" class="kc-btn" data-kc="toggle">{esc(t("compare.play_both"))}</button>
    <input type="range" class="kc-seek" data-kc="seek" min="0" max="1000" value="0" aria-label="{esc(t("compare.seek_both"))}">
    <span class="kc-time">0.0 s</span>
    <label class="kc-mode"><input type="checkbox" data-kc="wipe-mode"> {esc(t("compare.wipe"))}</label>
    <input type="range" class="kc-wipe" data-kc="wipe" min="0" max="100" value="50" aria-label="{esc(t("compare.wipe_pos"))}">
  </div>
</div>"""
