"""Locate and run the ffmpeg binary that the imageio-ffmpeg wheel ships (no system ffmpeg needed)."""

from __future__ import annotations

import functools
import logging
import subprocess
from collections.abc import Sequence

from ..errors import MediaError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 600.0  # seconds; a 10 s 4K transcode takes well under this on 2 cores


@functools.cache
def ffmpeg_exe() -> str:
    """Path of the bundled ffmpeg; MediaError if the wheel is missing."""
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # pragma: no cover - requirements.txt installs it
        raise MediaError("ffmpeg is missing: pip install -r requirements.txt") from exc
    return str(imageio_ffmpeg.get_ffmpeg_exe())


def run_ffmpeg(
    args: Sequence[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    check: bool = True,
    what: str = "ffmpeg",
) -> subprocess.CompletedProcess[str]:
    """Run ffmpeg with `args` (without the binary), stdin closed, output captured as text.

    Raises MediaError when it cannot start, times out, or (with `check`) exits non-zero; the
    message carries the last lines of ffmpeg's own explanation.
    """
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", *args]
    log.debug("running %s", " ".join(cmd))
    try:
        proc = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise MediaError(f"{what} took longer than {timeout:.0f} s and was stopped.") from exc
    except OSError as exc:
        raise MediaError(f"Could not start ffmpeg: {exc}") from exc
    if check and proc.returncode != 0:
        tail = " / ".join(line.strip() for line in proc.stderr.strip().splitlines()[-3:])
        raise MediaError(f"{what} failed: {tail or 'ffmpeg exited with ' + str(proc.returncode)}")
    return proc
