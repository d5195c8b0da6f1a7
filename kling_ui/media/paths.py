"""Naming the files the media package writes, and saying sizes the way people read them."""

from __future__ import annotations

import os
import secrets

RANDOM_BYTES = 16  # 128 random bits in every name: these files are served by path (issue #20)


def random_name(stem: str, tag: str, ext: str = "") -> str:
    """`<stem>-<tag>-<128 random bits>`: what another visitor cannot guess (mkstemp's 8
    characters carry about 41 bits)."""
    return f"{stem}-{tag}-{secrets.token_urlsafe(RANDOM_BYTES)}{ext}"


def out_path(out_dir: str, src: str, tag: str, ext: str) -> str:
    """A new, unique file in out_dir named after the source (never the source itself)."""
    os.makedirs(out_dir, exist_ok=True)
    stem = os.path.splitext(os.path.basename(src))[0][:40] or "upload"
    while True:
        path = os.path.join(out_dir, random_name(stem, tag, ext))
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # pragma: no cover - 128 bits
            continue
        os.close(fd)
        return path


def human_size(n: int) -> str:
    """Bytes as a person reads them: "612 KB" below a megabyte, "24.0 MB" above."""
    return f"{n / 1_000:.0f} KB" if n < 1_000_000 else f"{n / 1_000_000:.1f} MB"
