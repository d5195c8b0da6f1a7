"""Prompt tokens: `<<<image_N>>>` and `<<<video_1>>>`, how they are numbered, inserted and checked.

Numbering (kling-o1.md, "Prompt references", **we use**): images count start_image, end_image,
then reference_images in upload order; the one video is `<<<video_1>>>`. Spellings other tools
teach (`@Image1`, `@image_1`, `@Video1`, `@video`) are rewritten to the canonical form, but only
where a user meant a reference (issue #11): ComfyUI's Kling Omni nodes rewrite `@image<digits>` /
`@video<digits>` only when no word character touches them, so `contact@image.com` and
`@image 5 seconds` stay as typed. Spaced-out brackets (`< < < image_1 > > >`) are never guessed
at; they get a warning naming what was typed. Pure functions: no I/O.
"""

from __future__ import annotations

import re

from ..i18n import msg, problem
from .models import JobRequest, Problem

VIDEO_TOKEN = "<<<video_1>>>"

# Canonical tokens, tolerant of case and spaces inside the brackets when reading.
_TOKEN_RE = re.compile(r"<<<\s*(image|video)_(\d+)\s*>>>", re.IGNORECASE)
# @Image1, @image_1, @Video1, @video (bare = video 1; an image needs its number). Not touched by a
# word character on either side, no space before the digits [ComfyUI nodes_kling.py, Omni
# nodes: `(?<!\w)@image(\d*)(?!\w)`]: "me@image.com", "@images", "@image 5 s" are plain text.
_AT_RE = re.compile(r"(?<!\w)@(?:(image)_?(\d+)|(video)(?:_?(\d+))?)(?!\w)", re.IGNORECASE)
# Near-misses with too few or too many angle brackets: <<image_1>>, <image_1>, <<<<image_1>>>>.
_LOOSE_RE = re.compile(r"<{1,4}\s*(image|video)_(\d+)\s*>{1,4}", re.IGNORECASE)
# Brackets spaced apart ("< < < image_1 > > >"): what the user meant is a guess, so never rewritten.
_SPACED_RE = re.compile(r"<(?:\s*<)*\s*(?:image|video)_\d+\s*>(?:\s*>)*", re.IGNORECASE)


def image_token(n: int) -> str:
    return f"<<<image_{n}>>>"


def token_labels(job: JobRequest) -> list[tuple[str, str]]:
    """(token, what it points at) for every input of `job`, in numbering order."""
    labels: list[tuple[str, str]] = []
    n = 0
    if job.start_image is not None:
        n += 1
        labels.append((image_token(n), "start frame"))
    if job.end_image is not None:
        n += 1
        labels.append((image_token(n), "end frame"))
    for i, _ in enumerate(job.reference_images, start=1):
        n += 1
        labels.append((image_token(n), f"reference image {i}"))
    if job.reference_video is not None:
        labels.append((VIDEO_TOKEN, "video"))
    return labels


def token_numbers(has_start: bool, has_end: bool, n_references: int) -> dict[str, list[int]]:
    """Image numbers per input slot, for showing each upload's token beside it."""
    n = 0
    out: dict[str, list[int]] = {"start_image": [], "end_image": [], "reference_images": []}
    if has_start:
        n += 1
        out["start_image"].append(n)
    if has_end:
        n += 1
        out["end_image"].append(n)
    for _ in range(n_references):
        n += 1
        out["reference_images"].append(n)
    return out


def _at_token(m: re.Match[str]) -> str:
    if m.group(1):
        return f"<<<image_{int(m.group(2))}>>>"
    return f"<<<video_{int(m.group(4) or 1)}>>>"


def _spaced(prompt: str) -> list[re.Match[str]]:
    """Bracketed references with spaces between the brackets: left as typed."""
    return [m for m in _SPACED_RE.finditer(prompt) if re.search(r"[<>]\s+[<>]", m.group(0))]


def normalize_tokens(prompt: str) -> str:
    """Rewrite the spellings a user meant as references into the canonical `<<<kind_N>>>` form."""
    prompt = _AT_RE.sub(_at_token, prompt)
    keep = [(m.start(), m.end()) for m in _spaced(prompt)]

    def loose(m: re.Match[str]) -> str:
        if any(a <= m.start() < b for a, b in keep):
            return m.group(0)
        return f"<<<{m.group(1).lower()}_{int(m.group(2))}>>>"

    return _LOOSE_RE.sub(loose, prompt)


def rewrites(prompt: str) -> list[tuple[str, str]]:
    """(as typed, as sent) for every spelling `normalize_tokens` rewrites, in order, no repeats."""
    found = [(m.group(0), _at_token(m)) for m in _AT_RE.finditer(prompt)]
    at_free = _AT_RE.sub(_at_token, prompt)
    keep = [(m.start(), m.end()) for m in _spaced(at_free)]
    for m in _LOOSE_RE.finditer(at_free):
        sent = f"<<<{m.group(1).lower()}_{int(m.group(2))}>>>"
        if sent != m.group(0) and not any(a <= m.start() < b for a, b in keep):
            found.append((m.group(0), sent))
    return list(dict.fromkeys(found))


def insert_token(prompt: str, token: str, cursor: int | None) -> tuple[str, int]:
    """Insert `token` at `cursor` (end when None), with a space either side where needed.

    Returns the new prompt and the cursor position just after the token. A cursor inside an
    existing token moves to that token's end, so a click never splits one.
    """
    pos = len(prompt) if cursor is None else max(0, min(int(cursor), len(prompt)))
    for m in _TOKEN_RE.finditer(prompt):
        if m.start() < pos < m.end():
            pos = m.end()
    before, after = prompt[:pos], prompt[pos:]
    left = "" if not before or before[-1].isspace() else " "
    right = "" if not after or after[0].isspace() or after[0] in ".,;:!?)" else " "
    new = f"{before}{left}{token}{right}{after}"
    return new, len(before) + len(left) + len(token)


def tokens_in(prompt: str) -> list[tuple[str, int]]:
    """(kind, number) of every canonical token in `prompt`, in order."""
    return [(m.group(1).lower(), int(m.group(2))) for m in _TOKEN_RE.finditer(prompt)]


def check_tokens(prompt: str, *, n_images: int, has_video: bool) -> list[Problem]:
    """Errors for tokens that point at no input; warnings for inputs the prompt never mentions.

    Reads the prompt as it will be sent, so callers normalise it first.
    """
    problems: list[Problem] = []
    changed = rewrites(prompt)
    if changed:
        listed = tuple(msg("tokens.as", typed=typed, sent=sent) for typed, sent in changed[:4])
        more = msg("tokens.more", n=len(changed) - 4) if len(changed) > 4 else ""
        problems.append(problem("prompt", "tokens.rewritten", fix="rewrite_tokens",
                                severity="warning", listed=listed, more=more))
    for m in _spaced(prompt):
        problems.append(problem("prompt", "tokens.spaced", severity="warning", token=m.group(0)))
    prompt = normalize_tokens(prompt)
    found = tokens_in(prompt)
    seen_images: set[int] = set()
    seen_video = False
    for kind, n in found:
        if kind == "image":
            if not 1 <= n <= n_images:
                have = msg("tokens.have_n", n=n_images) if n_images != 1 else msg("tokens.have_1")
                if n_images == 0:
                    have = msg("tokens.have_none")
                problems.append(problem("prompt", "tokens.no_image", token=image_token(n), have=have))
            seen_images.add(n)
        else:
            if n != 1 or not has_video:
                what = (msg("tokens.no_video_uploaded") if not has_video
                        else msg("tokens.only_video_1"))
                problems.append(problem("prompt", "tokens.no_video", token=f"<<<video_{n}>>>",
                                        what=what))
            seen_video = seen_video or n == 1
    for n in range(1, n_images + 1):
        if n not in seen_images:
            problems.append(problem("prompt", "tokens.unused_image", severity="warning",
                                    token=image_token(n)))
    if has_video and not seen_video:
        problems.append(problem("prompt", "tokens.unused_video", severity="warning",
                                token=VIDEO_TOKEN))
    return problems
