"""Names a person can read for the files they download: tab, the prompt's first words, the date.

`edit-crown-on-girl-2026-11-25.mp4` rather than `kling-1795639518-94ee….mp4` (issue #12, point 6).
Pure functions: no clock, no files; the service gives the date and the names already taken.

The slug is ASCII (accents folded, everything else dropped) so it survives every browser, file
system and Gradio's own filename cleaning; a prompt with no Latin words (Chinese, emoji) names
the file after its tab alone. `<<<image_1>>>`/`@Image1` tokens and filler ("put the", "based on",
"generate a") are skipped; small linking words ("on", "in") are kept only between two words that
say something, so "Put the crown from <<<image_1>>> on the girl in blue" gives `crown-on-girl`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from datetime import date
from pathlib import PurePath

from .models import Tab

# What each tab is called in a file name (the Video reference tab's value "feature" means little).
TAB_SLUGS = {Tab.TEXT: "text", Tab.FRAMES: "frames", Tab.REFERENCES: "references",
             Tab.FEATURE: "video-ref", Tab.EDIT: "edit"}
VIDEO_SUFFIXES = (".mp4", ".mov", ".webm", ".m4v", ".mkv")  # a run's original that is a clip
MAX_WORDS = 4  # the prompt's first ~4 meaningful words (linking words count)
MAX_WORD_CHARS = 20
MAX_SLUG_CHARS = 40
# Skipped and transparent: "on the girl" still links "on" to "girl".
ARTICLES = frozenset({"a", "an", "the", "this", "that", "these", "those", "its", "their", "his",
                      "her", "my", "your", "our"})
# Skipped, and they break a link: "person in the video is dancing" gives `person-dancing`.
FILLER = frozenset({"it", "of", "from", "as", "is", "are", "be", "been", "please", "put", "make",
                    "makes", "made", "let", "based", "referring", "refer", "using", "use",
                    "generate", "generates", "create", "video", "image", "clip", "picture"})
# Kept only between two meaningful words ("crown-on-girl"), never first or last.
LINKS = frozenset({"on", "in", "with", "to", "and", "at", "into", "onto", "over", "under", "by",
                   "for"})

_TOKEN = re.compile(r"<\s*<\s*<[^>]*>\s*>\s*>|@\w+")
_WORD = re.compile(r"[a-z0-9]+")


def prompt_words(prompt: str, limit: int = MAX_WORDS) -> list[str]:
    """The prompt's first meaningful ASCII words, lower case (empty when it has none)."""
    text = _TOKEN.sub(" video ", prompt or "")  # a token is filler: it breaks a link
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = _WORD.findall(text.lower().replace("'", ""))
    picked: list[str] = []
    link: str | None = None
    for word in words:
        if word in ARTICLES:
            continue
        if word in FILLER:
            link = None
        elif word in LINKS:
            link = word if picked else None
        else:
            wanted = [link, word] if link else [word]
            if len(picked) + len(wanted) > limit:
                break
            picked += [w[:MAX_WORD_CHARS] for w in wanted]
            link = None
    return picked


def slug(prompt: str) -> str:
    """`crown-on-girl` for the prompt above; "" when no ASCII word is left."""
    out = ""
    for word in prompt_words(prompt):
        longer = f"{out}-{word}" if out else word
        if len(longer) > MAX_SLUG_CHARS:
            break
        out = longer
    return out


def download_stem(tab: Tab | str, prompt: str, day: date, tag: str = "") -> str:
    """`edit-crown-on-girl-2026-11-25` (no extension); `tag` ("spliced") goes before the date."""
    try:
        tab_slug = TAB_SLUGS[Tab(tab)]
    except ValueError:
        tab_slug = "kling"
    parts = [tab_slug, slug(prompt), re.sub(r"[^a-z0-9-]", "", tag.lower()), day.isoformat()]
    return "-".join(p for p in parts if p)


def unique_name(stem: str, ext: str, taken: Collection[str]) -> str:
    """`stem.ext`, or `stem-2.ext`, `stem-3.ext`... when an earlier run already has the name."""
    name = f"{stem}{ext}"
    n = 1
    while name in taken:
        n += 1
        name = f"{stem}-{n}{ext}"
    return name


def original_poster_of(original: str) -> str:
    """Where a run's original clip keeps its poster: beside it, `reference_video.poster.jpg`
    for `reference_video.mp4` (made as the run finishes; the compare panel shows it for A)."""
    return str(PurePath(original).with_suffix(".poster.jpg"))
