"""The share page and the showcase (issue #26): plain server-rendered HTML, no Gradio client.

A phone in a chat app opens `/share/<token>` and gets one small HTML document (its CSS and a few
lines of script inline, nothing from a CDN): the output beside its original with an A/B wipe, the
prompt as typed with its tokens shown as the chips' names, model and mode, duration, the cost
estimate and model time, the motion verdict of an edit, and a download of the comparison MP4.
Open Graph and Twitter tags (absolute URLs) let Slack, Teams and messengers unfurl it. Every
media URL names only the token and a fixed file name (kling_ui.ui.share_routes serves them); no
path, no run id, no key. `showcase_html` is the host's grid of pinned shares.
Pure functions of a run and its share: no I/O.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..core.models import Tab
from ..core.profile import get_profile, profile_for_replicate
from ..core.prompt import normalize_tokens, token_numbers
from ..i18n import t, token_what
from .common import esc, run_cost

VIDEO_SUFFIXES = (".mp4", ".mov", ".webm", ".m4v")
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
               ".webp": "image/webp"}
TITLE_CHARS = 90  # og:title: the prompt's start
_TOKEN = re.compile(r"<<<(image|video)_(\d+)>>>")

CSS = """
*{box-sizing:border-box}html{-webkit-text-size-adjust:100%}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2937;background:#f8fafc}
main{max-width:1100px;margin:0 auto;padding:12px 14px 32px}
header{padding:10px 14px;background:#312e81;color:#fff;font-weight:600}
h1{font-size:1.25rem;margin:.4rem 0 .8rem}h2{font-size:1rem;margin:1.2rem 0 .4rem}
.cmp{display:grid;grid-template-columns:1fr 1fr;gap:8px;position:relative;touch-action:pan-y}
.cmp.one{grid-template-columns:1fr}
.cmp figure{margin:0;min-width:0}.cmp figcaption{font-size:.85rem;font-weight:600;color:#374151}
.cmp video,.cmp img{display:block;width:100%;aspect-ratio:var(--ar,16/9);object-fit:contain;background:#111;border-radius:6px}
.cmp.wipe{grid-template-columns:1fr}.cmp.wipe figure{grid-area:1/1}
.cmp.wipe .b{clip-path:inset(0 0 0 var(--x,50%))}.cmp.wipe figcaption{position:absolute;z-index:2;top:4px;padding:0 6px;background:rgba(0,0,0,.6);color:#fff;border-radius:4px}
.cmp.wipe .b figcaption{right:4px}.cmp.wipe:after{content:"";position:absolute;top:0;bottom:0;left:var(--x,50%);width:2px;background:#fff;box-shadow:0 0 3px #000;pointer-events:none}.cmp.wipe .a figcaption{left:4px}
.bar{display:flex;flex-wrap:wrap;gap:10px;align-items:center;margin:10px 0}
button,.btn{font:inherit;min-height:44px;min-width:44px;padding:8px 14px;border-radius:8px;border:1px solid #4338ca;background:#4338ca;color:#fff;text-decoration:none;display:inline-flex;align-items:center}
label.sw{display:inline-flex;gap:6px;align-items:center;min-height:44px}
input[type=checkbox]{width:22px;height:22px}input[type=range]{flex:1;min-width:140px;min-height:44px}
blockquote{margin:0;padding:8px 12px;background:#fff;border-left:4px solid #6366f1;border-radius:4px;white-space:pre-wrap;overflow-wrap:anywhere}
.chip{display:inline-block;padding:0 8px;border-radius:999px;background:#e0e7ff;color:#312e81;font-weight:600;font-size:.9em}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 14px;margin:0}dt{font-weight:600}dd{margin:0}
footer{margin-top:24px;font-size:.85rem;color:#4b5563}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,300px),1fr));gap:14px}
.card{background:#fff;border-radius:8px;padding:8px;box-shadow:0 1px 3px rgba(0,0,0,.15)}
.card .cmp{grid-template-columns:1fr}.card .cmp figure{grid-area:1/1}.card .b{transition:opacity .2s}
.card:hover .b,.card.on .b{opacity:0}.card p{margin:.4rem 0;overflow-wrap:anywhere}
"""

# The A/B wipe and "play both": a checkbox puts both clips in one frame, the slider (or a drag
# on the picture) moves the line; play, pause and seeking of one clip follow the other.
JS = """
document.querySelectorAll('.cmp[data-sync]').forEach(function(c){
 var v=c.querySelectorAll('video'),a=c.querySelector('.a video'),b=c.querySelector('.b video'),
 r=document.getElementById('wpos'),w=document.getElementById('wipe'),p=document.getElementById('play');
 function set(x){x=Math.max(0,Math.min(100,x));c.style.setProperty('--x',x+'%');if(r)r.value=x;}
 if(w)w.onchange=function(){c.classList.toggle('wipe',w.checked);};
 if(r)r.oninput=function(){if(w&&!w.checked){w.checked=true;c.classList.add('wipe');}set(+r.value);};
 c.addEventListener('pointermove',function(e){if(!c.classList.contains('wipe')||(e.pointerType=='mouse'&&!e.buttons))return;
  var k=c.getBoundingClientRect();set((e.clientX-k.left)/k.width*100);});
 if(p)p.onclick=function(){var go=b.paused;v.forEach(function(x){go?x.play().catch(function(){}):x.pause();});};
 if(a&&b)b.addEventListener('timeupdate',function(){if(Math.abs(a.currentTime-b.currentTime)>.25&&b.currentTime<a.duration)a.currentTime=b.currentTime;});
});
document.querySelectorAll('.card').forEach(function(k){var v=k.querySelector('video');if(!v)return;
 function on(){k.classList.add('on');v.play().catch(function(){});}function off(){k.classList.remove('on');v.pause();}
 k.addEventListener('mouseenter',on);k.addEventListener('mouseleave',off);
 k.querySelector('.cmp').addEventListener('click',function(){k.classList.contains('on')?off():on();});});
"""


def model_name(run: Any) -> str:
    """The run's model by its profile's name (issue #25), else as Replicate names it."""
    ref = str(getattr(run, "model", "") or get_profile(None).replicate)
    profile = profile_for_replicate(ref)
    return profile.name if profile is not None else ref


def original_name(run: Any) -> str | None:
    """The original's file name in a share URL ("original.mp4", "original.png"), if it has one."""
    if not run.original:
        return None
    suffix = Path(run.original).suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return "original.mp4" if suffix in (".mp4", ".m4v") else "original" + suffix
    return "original" + (suffix if suffix in IMAGE_TYPES else ".png")


def prompt_html(run: Any, lang: str) -> str:
    """The prompt as typed, each reference token shown as its chip's name ("start frame")."""
    text = normalize_tokens(run.prompt or "")
    if not text.strip():
        return esc(t("share.no_prompt", lang))
    inputs = run.inputs or {}
    refs = inputs.get("reference_images") or []
    numbers = token_numbers(bool(inputs.get("start_image")), bool(inputs.get("end_image")),
                            len(refs))
    names: dict[str, str] = {}
    for slot, what in (("start_image", "start frame"), ("end_image", "end frame")):
        for n in numbers[slot]:
            names[f"image_{n}"] = token_what(what, lang)
    for i, n in enumerate(numbers["reference_images"], start=1):
        names[f"image_{n}"] = token_what(f"reference image {i}", lang)
    names["video_1"] = token_what("video", lang)
    out, last = [], 0
    for m in _TOKEN.finditer(text):
        out.append(esc(text[last:m.start()]))
        key = f"{m.group(1)}_{int(m.group(2))}"
        out.append(f'<span class="chip" title="{esc(m.group(0))}">'
                   f"{esc(names.get(key, m.group(0)))}</span>")
        last = m.end()
    out.append(esc(text[last:]))
    return "".join(out)


def _plain_prompt(run: Any, lang: str) -> str:
    text = re.sub(r"<[^>]*>", "", prompt_html(run, lang))  # chips' names, no markup
    text = " ".join(html.unescape(text).split())
    return text if len(text) <= TITLE_CHARS else text[:TITLE_CHARS - 1].rstrip() + "…"


def facts(run: Any, lang: str) -> list[tuple[str, str]]:
    """(label, value) rows under the clips."""
    rows = [(t("share.model", lang), model_name(run))]
    tab = t(f"tab.{run.tab}", lang) if run.tab in Tab._value2member_map_ else run.tab
    quality = str(run.settings.get("quality") or "").strip()
    rows.append((t("share.mode", lang), tab + (f" · {quality}" if quality else "")))
    duration = run.output_facts.get("duration")
    if duration:
        rows.append((t("share.duration", lang), t("share.seconds", lang, secs=float(duration))))
    # Under "Estimated cost": "≈ $0.56", or what a simulated run or one without a video says.
    long = run.backend == "simulator" or run.charged is False
    rows.append((t("share.cost", lang), run_cost(run, long=long, lang=lang)))
    if run.predict_time is not None:
        rows.append((t("share.model_time", lang), t("share.seconds", lang,
                                                    secs=float(run.predict_time))))
    motion = (run.metrics or {}).get("motion") if run.tab == Tab.EDIT.value else None
    if isinstance(motion, dict) and motion.get("score") is not None:
        verdict = t("share.motion_value", lang, score=float(motion["score"]))
        drift = motion.get("drift") or []
        if drift:
            spans = ", ".join(f"{a:.1f}-{b:.1f} s" for a, b in drift)
            verdict += t("share.drift", lang, spans=spans)
        rows.append((t("share.motion", lang), verdict))
    return rows


def _doc(lang: str, title: str, head: str, body: str) -> str:
    return (f'<!doctype html><html lang="{esc(lang)}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{esc(title)}</title>{head}<style>{CSS}</style></head><body>"
            "<header>Kling O1 Studio</header>"
            f'<main id="main">{body}</main><script>{JS}</script></body></html>')


def share_html(run: Any, share: Any, origin: str, lang: str, *,
               size: tuple[int, int] | None) -> str:
    """The whole share page. `origin` ("https://host") makes the Open Graph URLs absolute;
    `size` is the comparison MP4's frame size (og:video:width/height)."""
    base = f"/share/{share.token}"
    page_url = origin + base
    title = _plain_prompt(run, lang) or t("share.title", lang)
    original = original_name(run)
    single = original is None
    description = " · ".join(f"{k}: {v}" for k, v in facts(run, lang)[:3])
    meta = [("og:type", "video.other"), ("og:site_name", "Kling O1 Studio"),
            ("og:title", title), ("og:description", description), ("og:url", page_url),
            ("og:image", f"{origin}{base}/poster.jpg"), ("og:image:type", "image/jpeg"),
            ("og:video", f"{origin}{base}/compare.mp4"),
            ("og:video:secure_url", f"{origin}{base}/compare.mp4"),
            ("og:video:type", "video/mp4")]
    if size:
        meta += [("og:video:width", str(size[0])), ("og:video:height", str(size[1]))]
    twitter = [("twitter:card", "player"), ("twitter:title", title),
               ("twitter:description", description), ("twitter:image", f"{origin}{base}/poster.jpg"),
               ("twitter:player", page_url),
               ("twitter:player:stream", f"{origin}{base}/compare.mp4"),
               ("twitter:player:stream:content_type", "video/mp4")]
    if size:
        twitter += [("twitter:player:width", str(size[0])), ("twitter:player:height", str(size[1]))]
    head = "".join(f'<meta property="{k}" content="{esc(v)}">' for k, v in meta)
    head += "".join(f'<meta name="{k}" content="{esc(v)}">' for k, v in twitter)
    head += f'<meta name="description" content="{esc(description)}"><meta name="robots" content="noindex">'
    head += f'<link rel="preload" as="image" href="{base}/poster.jpg" fetchpriority="high">'
    w, h = run.output_facts.get("width"), run.output_facts.get("height")
    ratio = f' style="--ar:{int(w)}/{int(h)}"' if w and h else ""
    out_label, orig_label = t("share.output", lang), t("share.original", lang)
    output = (f'<video src="{base}/output.mp4" poster="{base}/poster.jpg" playsinline loop '
              f'controls preload="none" aria-label="{esc(out_label)}"></video>')
    if single:
        stage = (f'<div class="cmp one"{ratio}><figure class="b"><figcaption>{esc(out_label)}'
                 f"</figcaption>{output}</figure></div>")
        controls = ""
    else:
        if original and original.startswith("original.") and Path(original).suffix in IMAGE_TYPES:
            orig_media = f'<img src="{base}/{original}" alt="{esc(orig_label)}" decoding="async">'
        else:
            # Every clip waits for Play (preload="none", a still as its poster): a phone that
            # loads two videos' metadata spends a second of main thread on it (Lighthouse TBT).
            orig_media = (f'<video src="{base}/{original}" playsinline loop muted '
                          f'poster="{base}/original-poster.jpg" '
                          f'preload="none" aria-label="{esc(orig_label)}"></video>')
            output = output.replace(" controls ", " ")
        stage = (f'<div class="cmp" data-sync{ratio}><figure class="a"><figcaption>A · '
                 f"{esc(orig_label)}</figcaption>{orig_media}</figure>"
                 f'<figure class="b"><figcaption>B · {esc(out_label)}</figcaption>{output}'
                 "</figure></div>")
        controls = (f'<div class="bar"><button type="button" id="play">{esc(t("share.play", lang))}'
                    f'</button><label class="sw"><input type="checkbox" id="wipe"> '
                    f'{esc(t("share.wipe", lang))}</label><input type="range" id="wpos" min="0" '
                    f'max="100" value="50" aria-label="{esc(t("share.wipe_pos", lang))}"></div>')
    rows = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts(run, lang))
    download = t("share.download_one" if single else "share.download", lang)
    body = (f'<h1>{esc(t("share.heading", lang))}</h1>{stage}{controls}'
            f'<h2>{esc(t("share.prompt", lang))}</h2><blockquote>{prompt_html(run, lang)}'
            f"</blockquote><h2>{esc(t('share.title', lang))}</h2><dl>{rows}</dl>"
            f'<p class="bar"><a class="btn" href="{base}/compare.mp4?download=1" download>'
            f"{esc(download)}</a></p>"
            f'<footer>{esc(t("share.made_with", lang))}</footer>')
    return _doc(lang, title, head, body)


def gone_html(lang: str) -> str:
    """What a revoked, expired or unknown token answers (with a 404)."""
    return _doc(lang, t("share.gone_title", lang), '<meta name="robots" content="noindex">',
                f'<h1>{esc(t("share.gone_title", lang))}</h1><p>{esc(t("share.gone", lang))}</p>')


def showcase_html(items: Sequence[tuple[Any, Any]], lang: str) -> str:
    """The host's grid: each pinned share's poster; hover or tap plays its before/after."""
    cards = []
    for share, run in items:
        base = f"/share/{share.token}"
        prompt = _plain_prompt(run, lang)
        media = f'<img src="{base}/poster.jpg" alt="" loading="lazy" decoding="async">'
        if run.original:
            media = (f'<figure class="a"><video src="{base}/compare.mp4" muted loop playsinline '
                     f'preload="none" poster="{base}/poster.jpg" aria-label="'
                     f'{esc(t("share.heading", lang))}"></video></figure><figure class="b">'
                     f"{media}</figure>")
        else:
            media = f'<figure class="b">{media}</figure>'
        cards.append(f'<article class="card"><div class="cmp">{media}</div><p>{esc(prompt)}</p>'
                     f'<a class="btn" href="{base}" aria-label="{esc(t("showcase.open", lang))}: '
                     f'{esc(prompt)}">{esc(t("showcase.open", lang))}</a></article>')
    grid = (f'<div class="grid">{"".join(cards)}</div>' if cards
            else f'<p>{esc(t("showcase.empty", lang))}</p>')
    return _doc(lang, t("showcase.title", lang), "",
                f'<h1>{esc(t("showcase.title", lang))}</h1><p>{esc(t("showcase.intro", lang))}'
                f"</p>{grid}")
