"""Naming the files the media package writes, and saying sizes the way people read them."""

from __future__ import annotations

import os
import tempfile


def out_path(out_dir: str, src: str, tag: str, ext: str) -> str:
    """A new, unique file in out_dir named after the source (never the source itself)."""
    os.makedirs(out_dir, exist_ok=True)
    stem = os.path.splitext(os.path.basename(src))[0][:40] or "upload"
    fd, path = tempfile.mkstemp(dir=out_dir, prefix=f"{stem}-{tag}-", suffix=ext)
    os.close(fd)
    return path


def human_size(n: int) -> str:
    """Bytes as a person reads them: "612 KB" below a megabyte, "24.0 MB" above."""
    return f"{n / 1_000:.0f} KB" if n < 1_000_000 else f"{n / 1_000_000:.1f} MB"
