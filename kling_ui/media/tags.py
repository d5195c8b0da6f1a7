"""A run's settings inside its MP4: written as the container's comment tag, read back on drop.

Remuxed with stream copy (`-c copy`), so the video is not re-encoded: the bytes of every frame
stay as Replicate sent them. Read back with ffmpeg's own metadata writer (`-f ffmetadata`), which
escapes `=`, `;`, `#`, `\\` and newlines, so any JSON survives the round trip.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..core.errors import MediaError
from .ffmpeg import run_ffmpeg

TAG_PREFIX = "kling-o1-studio:"  # marks our comment, so a stranger's comment is not misread
MAX_TAG_BYTES = 60_000


def write_settings_tag(path: str | os.PathLike[str], settings: dict[str, Any]) -> None:
    """Put `settings` (JSON) in the file's comment tag in place, without re-encoding."""
    src = Path(path)
    text = TAG_PREFIX + json.dumps(settings, separators=(",", ":"), ensure_ascii=False, default=str)
    if len(text.encode()) > MAX_TAG_BYTES:
        raise MediaError("These settings are too long to keep inside the video file.")
    tmp = src.with_name(src.stem + ".tagging" + src.suffix)
    try:
        run_ffmpeg(["-y", "-i", str(src), "-map", "0", "-c", "copy", "-map_metadata", "0",
                    "-metadata", f"comment={text}", "-movflags", "+faststart", str(tmp)],
                   what="Writing the settings into the video")
        tmp.replace(src)
    finally:
        tmp.unlink(missing_ok=True)


def read_settings_tag(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The settings a Studio wrote into this file, or None when it carries none."""
    proc = run_ffmpeg(["-i", str(path), "-f", "ffmetadata", "-"], check=False,
                      what="Reading the video's settings")
    if proc.returncode != 0:
        raise MediaError("This file is not a video the Studio can read.")
    for key, value in _ffmetadata(proc.stdout):
        if key == "comment" and value.startswith(TAG_PREFIX):
            try:
                data = json.loads(value[len(TAG_PREFIX):])
            except ValueError:
                return None
            return data if isinstance(data, dict) else None
    return None


def _ffmetadata(text: str) -> list[tuple[str, str]]:
    """Parse ffmpeg's FFMETADATA1 text: key=value lines, backslash escapes, continued lines."""
    pairs: list[tuple[str, str]] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line or line.startswith((";", "#", "[")):
            continue
        # A value ending in an odd number of backslashes continues on the next line.
        while line.endswith("\\") and (len(line) - len(line.rstrip("\\"))) % 2 == 1 and i < len(lines):
            line = line[:-1] + "\n" + lines[i]
            i += 1
        key, sep, value = _split_unescaped(line)
        if sep:
            pairs.append((_unescape(key), _unescape(value)))
    return pairs


def _split_unescaped(line: str) -> tuple[str, str, str]:
    escaped = False
    for i, ch in enumerate(line):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "=":
            return line[:i], "=", line[i + 1:]
    return line, "", ""


def _unescape(text: str) -> str:
    out, escaped = [], False
    for ch in text:
        if escaped:
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        else:
            out.append(ch)
    return "".join(out)
