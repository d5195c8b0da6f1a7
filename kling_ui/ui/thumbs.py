"""The small picture on each preset button (issue #12 point 6: "preset buttons show a thumbnail").

A preset's thumbnail is a frame of its "thumb" media when presets.json names one, else of its main
media (the clip, else the start frame, else the first reference image), as a 96x96 JPEG under assets/thumbs/ (48 px on screen, sharp on a 2x display).
They are committed, made once by `python assets/make_thumbs.py`, rather than made at start-up:
the presets and their media are committed files too, so the thumbnails never change between
starts, a start needs no ffmpeg call, and a Space's data folder holds only runs. A test fails when
a preset's thumbnail is missing (tests/test_ui_presets_browser.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

ASSETS = Path(__file__).resolve().parents[2] / "assets"
THUMBS = ASSETS / "thumbs"
THUMB_PX = 96  # stored size; shown at 48 px
# The media that stands for a preset, in order of preference (paths relative to assets/).
MEDIA_KEYS = ("reference_video", "start_image", "reference_images")


def preset_media(preset: dict[str, Any]) -> str | None:
    """The preset's main media file, relative to assets/; None for a text-only preset."""
    for key in MEDIA_KEYS:
        value = preset.get(key)
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, str) and value:
            return value
    return None


def thumb_media(preset: dict[str, Any]) -> str | None:
    """What the preset's button shows: its own "thumb" when presets.json names one (two presets
    of a tab built on the same clip showed the same girl in blue), else its main media."""
    thumb = preset.get("thumb")
    return thumb if isinstance(thumb, str) and thumb else preset_media(preset)


def thumb_path(media: str) -> Path:
    """Where the thumbnail of `media` lives: examples/girl_in_blue.mp4 -> thumbs/girl_in_blue-mp4.jpg."""
    return THUMBS / (Path(media).name.replace(".", "-") + ".jpg")


def preset_thumb(preset: dict[str, Any]) -> str | None:
    """The preset button's icon (an existing file), or None (text presets show their name only)."""
    media = thumb_media(preset)
    if media is None:
        return None
    path = thumb_path(media)
    return str(path) if path.is_file() else None
