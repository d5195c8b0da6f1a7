"""English and Simplified Chinese (zh-CN): one catalogue for every string a visitor reads.

Two ways a string reaches the page, both from the catalogues below:

- Static labels (tab names, buttons, a textbox's label/info/placeholder, Markdown) go through
  Gradio's own `gr.I18n`: `i18n("run")` marks the key, `gradio_i18n()` (passed to `launch(i18n=)`)
  carries the translations, and the browser picks them by its own language (navigator.language).
- HTML that Python renders per request (checks, upload cards, status, cost, compare captions,
  errors) is translated on the server: `t(key, lang, **fields)`, the language taken from the
  request's `Accept-Language` header (`lang_of`, `current_lang`) or the `Session` (set on load).

The rules core does not format its messages as free text any more: each `Problem` carries a
`Msg` (message id + fields) beside its English `message`. Why ids and not a catalogue keyed by the
English text: a rewording of the English never silently drops the translation (the id stays), the
numbers stay numbers (each language formats them itself, `{mb:.1f}`), sub-phrases that change with
the input ("with a video", "there is 1 image") are their own ids rather than pieces of English
glued into a sentence, and tests/test_i18n.py can check that every id exists in both languages
with the same fields. The English rendering is done once, when the Problem is made, so the API,
logs and every existing caller keep reading `Problem.message` in English.

This module is pure (no gradio import at module level): the rules core imports it.
May import: `kling_ui.core` (errors and `Problem`, inside the functions that render them) and the
standard library. Never media, hosting, the library, replicate, runs or the UI.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EN_LANG = "en"
ZH_LANG = "zh-CN"
LANGS = (EN_LANG, ZH_LANG)


@dataclass(frozen=True)
class Msg:
    """A message by id with its fields; a field may itself be a `Msg` or a tuple of them
    (joined with the language's list separator), so sub-phrases are translated too."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def render(self, lang: str = EN_LANG) -> str:
        return t(self.key, lang, **self.params)


# ------------------------------------------------------------------------------------------------
# The catalogues are data, one JSON file per language beside this module (`en.json`,
# `zh-CN.json`): translators edit them, not code. Keys without `{fields}` may also go to the
# browser (gr.I18n); keys with fields are rendered on the server only. A new key goes into every
# file with the same `{fields}` (tests/test_i18n.py checks).
# ------------------------------------------------------------------------------------------------

CATALOGUE_DIR = Path(__file__).resolve().parent


def load_catalogue(lang: str) -> dict[str, str]:
    """The catalogue of `lang`, read from `<lang>.json` (key -> template), in file order."""
    data = json.loads((CATALOGUE_DIR / f"{lang}.json").read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError(f"{lang}.json must map each key to one string")
    return data


EN: dict[str, str] = load_catalogue(EN_LANG)
ZH: dict[str, str] = load_catalogue(ZH_LANG)

CATALOGUES: dict[str, dict[str, str]] = {EN_LANG: EN, ZH_LANG: ZH}


def fields_of(template: str) -> set[str]:
    """The `{field}` names a template uses (format specs aside)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _render_param(value: Any, lang: str) -> Any:
    if isinstance(value, Msg):
        return value.render(lang)
    if isinstance(value, tuple):
        return t("list.sep", lang).join(str(_render_param(v, lang)) for v in value)
    return value


def t(key: str, lang: str | None = None, /, **fmt: Any) -> str:
    """The text of `key` in `lang` (None: the current request's language), with `fmt` filled in.

    A key missing in a language falls back to English; an unknown key is returned as it is, so a
    slip shows a readable id rather than crashing a handler.
    """
    lang = normalize(lang) if lang is not None else current_lang()
    template = CATALOGUES.get(lang, EN).get(key, EN.get(key))
    if template is None:
        return key
    if not fmt:
        return template
    return template.format(**{k: _render_param(v, lang) for k, v in fmt.items()})


def msg(key: str, **params: Any) -> Msg:
    return Msg(key, params)


# ------------------------------------------------------------------------------------------------
# Choosing the language
# ------------------------------------------------------------------------------------------------

_LANG_RE = re.compile(r"\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([0-9.]+))?")


def normalize(lang: str | None) -> str:
    """One of LANGS for a language tag: any Chinese but Traditional-only tags is zh-CN."""
    tag = (lang or "").strip().lower().replace("_", "-")
    if tag in ("zh", "zh-cn", "zh-sg", "zh-hans") or tag.startswith(("zh-hans", "zh-cn")):
        return ZH_LANG
    return EN_LANG


def lang_of(accept_language: str | None) -> str:
    """The language to answer in for an `Accept-Language` header ("zh-CN,zh;q=0.9,en;q=0.8").

    The first of our languages in the visitor's order of preference (by q); English when none
    matches. Traditional Chinese (zh-TW, zh-HK) prefers English here only if English is listed;
    otherwise Simplified Chinese is closer than English.
    """
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        m = _LANG_RE.match(part)
        if not m:
            continue
        try:
            q = float(m.group(2)) if m.group(2) is not None else 1.0
        except ValueError:
            q = 0.0
        if q > 0:
            ranked.append((-q, i, m.group(1).lower()))
    for _, _, tag in sorted(ranked):
        if tag.startswith("zh"):
            return ZH_LANG
        if tag.startswith("en"):
            return EN_LANG
    return EN_LANG


def request_lang(request: Any) -> str:
    headers = getattr(request, "headers", None) or {}
    value = headers.get("accept-language", "") if hasattr(headers, "get") else ""
    return lang_of(value)


def current_lang() -> str:
    """The language of the Gradio request being handled (Gradio keeps it in a context
    variable for every event handler); English outside a request (API summaries, logs)."""
    try:
        from gradio.context import LocalContext
    except ImportError:  # pragma: no cover - gradio is a dependency of the app
        return EN_LANG
    request = LocalContext.request.get(None)
    if request is None or _public_endpoint(LocalContext):
        return EN_LANG
    return request_lang(request)


def _public_endpoint(context: Any) -> bool:
    """Whether the event being handled is a public API endpoint (the page's own events are all
    private): API callers get English whatever their Accept-Language says."""
    try:
        blocks = context.blocks.get(None)
        event_id = context.event_id.get(None)
        queue = getattr(blocks, "_queue", None)
        if queue is None or not event_id:
            return False
        event = queue.event_ids_to_events.get(event_id)
        if event is None:  # a started event has left that map: it is among the active jobs
            for job in getattr(queue, "active_jobs", None) or ():
                event = next((e for e in job or () if getattr(e, "_id", None) == event_id), None)
                if event is not None:
                    break
        return getattr(getattr(event, "fn", None), "api_visibility", "private") == "public"
    except Exception:  # noqa: BLE001 - Gradio internals: fall back to the visitor's language
        return False


# ------------------------------------------------------------------------------------------------
# Gradio side
# ------------------------------------------------------------------------------------------------

def client_catalogues() -> dict[str, dict[str, str]]:
    """What goes to the browser: keys without `{fields}` (the browser's formatter reads braces
    as ICU placeholders)."""
    return {lang: {k: v for k, v in cat.items() if "{" not in v} for lang, cat in CATALOGUES.items()}


_GRADIO_I18N: Any = None


def gradio_i18n() -> Any:
    """The `gr.I18n` passed to `launch(i18n=...)` (made once)."""
    global _GRADIO_I18N
    if _GRADIO_I18N is None:
        import gradio as gr

        cats = client_catalogues()
        _GRADIO_I18N = gr.I18n(en=cats[EN_LANG], **{ZH_LANG: cats[ZH_LANG]})
    return _GRADIO_I18N


def add_texts(texts: Mapping[str, Mapping[str, str]]) -> None:
    """Keys whose words live beside their data, not in the catalogues (the presets' names, in
    assets/presets.json): {key: {lang: text}}, English required, a missing language falls back
    to it. Call before the page is built: `gradio_i18n()` is made again with them."""
    global _GRADIO_I18N
    for key, by_lang in texts.items():
        for lang, cat in CATALOGUES.items():
            cat[key] = by_lang.get(lang) or by_lang[EN_LANG]
    _GRADIO_I18N = None


def i18n(key: str) -> Any:
    """A label translated in the browser: `gr.Button(i18n("run"))`."""
    if key not in EN or "{" in EN[key]:
        raise KeyError(f"no client-side translation key {key!r}")
    return gradio_i18n()(key)


# ------------------------------------------------------------------------------------------------
# Problems and errors, as a visitor reads them
# ------------------------------------------------------------------------------------------------

_FIELD_N = re.compile(r"^reference_images\[(\d+)\]$")


_SHOT_N = re.compile(r"^shots\[(\d+)\]$")


def field_label(name: str, lang: str | None = None) -> str:
    """The input a problem names, as the person sees it on the page ("The clip", "Reference
    image 2"), never the API's field name (issue #23)."""
    lang = normalize(lang) if lang is not None else current_lang()
    m = _FIELD_N.match(name)
    if m:
        return t("field.reference_image_n", lang, n=int(m.group(1)))
    m = _SHOT_N.match(name)
    if m:
        return t("field.shot_n", lang, n=int(m.group(1)))
    key = f"field.{name}"
    return t(key, lang) if key in EN else name


def problem_text(problem: Any, lang: str | None = None) -> str:
    """A Problem's message in `lang` (its Msg when it has one, else its English text)."""
    lang = normalize(lang) if lang is not None else current_lang()
    m = getattr(problem, "msg", None)
    if m is None:
        return from_english(str(problem.message), lang)
    return m.render(lang) if lang != EN_LANG else str(problem.message)


def error_text(exc: Any, lang: str | None = None) -> str:
    """One of our errors in `lang`. English is the error's own message, unchanged; in Chinese
    an input error lists its problems, and the common API/network errors have their own text
    (details the server sent, in English, are not repeated)."""
    from ..core import errors as e

    lang = normalize(lang) if lang is not None else current_lang()
    message = str(getattr(exc, "message", "") or exc)
    if lang == EN_LANG:
        return message
    if isinstance(exc, e.InputError) and exc.problems:
        errs = [p for p in exc.problems if p.is_error] or list(exc.problems)
        if all(getattr(p, "msg", None) is not None for p in errs):
            lines = [f"{field_label(p.field, lang)}：{problem_text(p, lang)}" for p in errs]
            head = t("error.fix_one", lang) if len(lines) == 1 else t(
                "error.fix_many", lang, n=len(lines))
            return head + "\n- " + "\n- ".join(lines)
        return from_english(message, lang)
    if isinstance(exc, e.AuthError):
        return t("error.auth", lang)
    if isinstance(exc, e.BillingError):
        return t("error.billing", lang)
    if isinstance(exc, e.RateLimitError):
        wait = getattr(exc, "retry_after", None)
        if wait is not None:
            return t("error.rate_limit_wait", lang, secs=max(1, int(-(-wait // 1))))
        return t("error.rate_limit", lang)
    if isinstance(exc, e.PayloadTooLargeError):
        return t("error.too_large", lang)
    if isinstance(exc, e.ServerError) and getattr(exc, "status", 0) >= 500:
        return t("error.server", lang, status=exc.status)
    if isinstance(exc, e.KlingTimeoutError):
        return t("error.timeout", lang)
    if isinstance(exc, e.KlingConnectionError):
        return t("error.connection", lang)
    return from_english(message, lang)


def error_title(exc: Any, lang: str | None = None) -> str:
    """The title of the error pop-up ("Input problem", "输入问题")."""
    name = type(exc).__name__.replace("Error", "").replace("Kling", "").strip()
    key = f"error.title.{name}" if name else "error.title"
    if key in EN:
        return t(key, lang)
    lang = normalize(lang) if lang is not None else current_lang()
    english = type(exc).__name__.replace("Error", " problem").replace("Kling", "").strip()
    return t("error.title", lang) if lang != EN_LANG or not english else english


def problem(field_name: str, key: str, *, fix: str | None = None, severity: str = "error",
            **params: Any) -> Any:
    """A `Problem` whose message is the English text of `key`, carrying the id for the UI."""
    from ..core.models import Problem

    m = Msg(key, params)
    return Problem(field_name, m.render(EN_LANG), fix=fix, severity=severity, msg=m)


_COST_RE = re.compile(r"^Estimated cost ≈ \$([0-9.]+) \((\d+) s × \$([0-9.]+)/s, (\w+)\)$")
_COST_FIXED = {"Estimated cost: upload a video to see it": "cost.needs_video",
               "Estimated cost: fix the files first": "cost.fix_files"}


def cost_text(english: str, lang: str | None = None) -> str:
    """The cost line beside Run (pricing.describe_cost's English, which the API also returns)
    in the page's language; a line it does not know stays as it is."""
    lang = normalize(lang) if lang is not None else current_lang()
    if lang == EN_LANG:
        return english
    if english in _COST_FIXED:
        return t(_COST_FIXED[english], lang)
    m = _COST_RE.match(english)
    if not m:
        return english
    return t("cost.estimate", lang, usd=float(m.group(1)), secs=int(m.group(2)),
             rate=float(m.group(3)), mode=m.group(4))


def from_english(text: str, lang: str | None = None) -> str:
    """An English message from a module that does not carry message ids (the banner, the file
    prober, the host's limits) in the page's language: matched against the catalogue's English
    templates of those keys, its fields taken from the text. Anything else stays as it is."""
    lang = normalize(lang) if lang is not None else current_lang()
    if lang == EN_LANG or not text:
        return text
    for key, pattern in _MATCHED:
        m = pattern.match(text.strip())
        if m:  # a field that is a word of ours ("text", "PDF document") is translated too
            return t(key, lang, **{k: t(f"word.{v}", lang) if f"word.{v}" in EN else v
                                   for k, v in m.groupdict().items()})
    return text


def _template_re(template: str) -> re.Pattern[str]:
    parts = []
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if name:
            parts.append(f"(?P<{name}>.+?)")
    return re.compile("^" + "".join(parts) + "$", re.S)


_MATCHED = [(k, _template_re(v)) for k, v in EN.items()
            if k.startswith(("banner.", "probe.", "access.", "disk.", "log.", "fix."))]


_REF_IMAGE = re.compile(r"^reference image (\d+)$")
_WHAT = {"start frame": "slot.start_image", "end frame": "slot.end_image", "video": "slot.video"}


def token_what(what: str, lang: str | None = None) -> str:
    """What a token chip points at (prompt.token_labels' English) in the page's language."""
    m = _REF_IMAGE.match(what)
    if m:
        return t("slot.reference_image", lang, n=int(m.group(1)))
    return t(_WHAT[what], lang) if what in _WHAT else what
