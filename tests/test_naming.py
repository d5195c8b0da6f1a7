"""Download names: tab, the prompt's first meaningful words, the date; ASCII; unique."""

from __future__ import annotations

from datetime import date

import pytest

from kling_ui.core.models import Tab
from kling_ui.core.naming import MAX_SLUG_CHARS, download_stem, slug, unique_name

DAY = date(2026, 11, 25)


@pytest.mark.parametrize(("prompt", "expected"), [
    # Kling's own example prompts (kling-o1.md): tokens and filler go, links stay inside
    ("Put the crown from <<<image_1>>> on the girl in blue from <<<video_1>>>.", "crown-on-girl"),
    ("Based on <<<video_1>>>, generate the next shot.", "next-shot"),
    ("Referring to the camera movement style in <<<video_1>>>, generate a video: a drone",
     "camera-movement-style-drone"),
    ("Make the person in @Image1 wave to the camera", "person-wave-to-camera"),
    ("The person in the video is dancing.", "person-dancing"),
    ("A fox in snow", "fox-in-snow"),
    ("Put the crown from < < < image_1 > > > on her", "crown"),  # spaced token; a link never ends
    # ASCII only: accents folded, other scripts and symbols dropped
    ("Café crème at dawn — très belle", "cafe-creme-at-dawn"),
    ("一个女孩在跳舞", ""),
    ("🎬🎬 !!! ...", ""),
    ("", ""),
    ("Girl's CROWN, shining", "girls-crown-shining"),
])
def test_slug(prompt: str, expected: str) -> None:
    assert slug(prompt) == expected


def test_slug_is_short_and_safe_for_any_prompt() -> None:
    long = slug("Supercalifragilisticexpialidocious " * 5)
    assert 0 < len(long) <= MAX_SLUG_CHARS
    for prompt in ["a/b\\c:d*e?f\"g<h>i|j", "../../etc/passwd", "x" * 3000, "\x00\n\t"]:
        name = download_stem(Tab.TEXT, prompt, DAY)
        assert all(c.isascii() and (c.isalnum() or c == "-") for c in name), name


@pytest.mark.parametrize(("tab", "prompt", "tag", "expected"), [
    (Tab.EDIT, "Put the crown from <<<image_1>>> on the girl", "", "edit-crown-on-girl-2026-11-25"),
    ("text", "A fox in snow", "", "text-fox-in-snow-2026-11-25"),
    (Tab.FEATURE, "Based on <<<video_1>>>, generate the next shot.", "", "video-ref-next-shot-2026-11-25"),
    (Tab.EDIT, "给女孩戴上皇冠", "", "edit-2026-11-25"),  # a Chinese prompt: the tab's name
    (Tab.EDIT, "A fox", "spliced", "edit-fox-spliced-2026-11-25"),
    ("nonsense", "A fox", "", "kling-fox-2026-11-25"),
])
def test_download_stem(tab: Tab | str, prompt: str, tag: str, expected: str) -> None:
    assert download_stem(tab, prompt, DAY, tag) == expected


def test_unique_name_numbers_a_second_run_with_the_same_name() -> None:
    assert unique_name("edit-fox-2026-11-25", ".mp4", set()) == "edit-fox-2026-11-25.mp4"
    taken = {"edit-fox-2026-11-25.mp4"}
    assert unique_name("edit-fox-2026-11-25", ".mp4", taken) == "edit-fox-2026-11-25-2.mp4"
    taken |= {"edit-fox-2026-11-25-2.mp4"}
    assert unique_name("edit-fox-2026-11-25", ".mp4", taken) == "edit-fox-2026-11-25-3.mp4"
