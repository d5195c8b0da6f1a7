"""Locate and run the ffmpeg binary that the imageio-ffmpeg wheel ships (no system ffmpeg needed)."""

from __future__ import annotations

import functools
import logging
import shutil
import signal
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Sequence

from ..core.errors import MediaError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 600.0  # seconds; a 10 s 4K transcode takes well under this on 2 cores
# ffmpeg runs below the web server's priority, so a transcode on 2 cores does not stall every
# visitor's page (bench/ figure 5). `nice` is coreutils; without it ffmpeg runs as it is.
_NICE = ["nice", "-n", "5"] if shutil.which("nice") else []
# Per-process caps, so one request cannot take the machine (issue #20): CPU seconds (SIGXCPU
# stops ffmpeg past them; a 10 s 4K60 doctor pass takes about 12, bench/ figure 4) and the size
# of any one file it writes (SIGXFSZ; the largest we make, a 20-clip join, is a few hundred MB).
# `prlimit` is util-linux; without it ffmpeg runs uncapped, as without `nice`.
CPU_SECONDS_MAX = 900
FILE_BYTES_MAX = 4_000_000_000
# ffmpeg stops cleanly on SIGXCPU at the soft limit; the hard one, a little later, kills it.
_LIMITS = (["prlimit", f"--cpu={CPU_SECONDS_MAX}:{CPU_SECONDS_MAX + 10}",
            f"--fsize={FILE_BYTES_MAX}", "--"] if shutil.which("prlimit") else [])
_started = 0  # ffmpeg processes started by this process (`started()`)
_started_lock = threading.Lock()


def started() -> int:
    """How many ffmpeg processes this process has started: tests and the bench check that a
    refusal came before any media work."""
    return _started


def _start_count() -> None:
    global _started
    with _started_lock:
        _started += 1


def _capped(code: int, what: str, stderr: str = "") -> MediaError | None:
    """The plain error for an ffmpeg stopped by one of the caps, from its exit status (or, as
    ffmpeg catches SIGXCPU and exits by itself, its last words)."""
    if code in (-signal.SIGXCPU, 128 + signal.SIGXCPU, -signal.SIGKILL) or (
            code and f"signal {int(signal.SIGXCPU)}" in stderr[-400:]):
        return MediaError(f"{what} needed more than the Studio allows one file ({CPU_SECONDS_MAX} "
                          "s of CPU) and was stopped. Try a shorter or smaller file.")
    if code in (-signal.SIGXFSZ, 128 + signal.SIGXFSZ):
        return MediaError(f"{what} would write a file over {FILE_BYTES_MAX // 1_000_000_000} GB "
                          "and was stopped. Try a shorter or smaller file.")
    return None


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
    background: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run ffmpeg with `args` (without the binary), stdin closed, output captured as text.

    Raises MediaError when it cannot start, times out, or (with `check`) exits non-zero; the
    message carries the last lines of ffmpeg's own explanation. `background` work (previews,
    renders) runs at a lower priority than the web server; quick header reads do not.
    """
    cmd = [*_LIMITS, *(_NICE if background else []), ffmpeg_exe(), "-hide_banner", "-nostdin",
           *args]
    log.debug("running %s", " ".join(cmd))
    _start_count()
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
    if (capped := _capped(proc.returncode, what, proc.stderr)) is not None:
        raise capped
    if check and proc.returncode != 0:
        tail = " / ".join(line.strip() for line in proc.stderr.strip().splitlines()[-3:])
        raise MediaError(f"{what} failed: {tail or 'ffmpeg exited with ' + str(proc.returncode)}")
    return proc


def pipe_ffmpeg(
    args: Sequence[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    what: str = "ffmpeg",
    background: bool = False,
) -> bytes:
    """Run ffmpeg with `args` writing raw data to `pipe:1`; return those bytes.

    For small decoded streams (grey thumbnails, low-rate audio) that are read into numpy rather
    than written to a file. Errors as in `run_ffmpeg`.
    """
    cmd = [*_LIMITS, *(_NICE if background else []), ffmpeg_exe(), "-hide_banner", "-nostdin",
           "-loglevel", "error", *args]
    log.debug("running %s", " ".join(cmd))
    _start_count()
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise MediaError(f"{what} took longer than {timeout:.0f} s and was stopped.") from exc
    except OSError as exc:
        raise MediaError(f"Could not start ffmpeg: {exc}") from exc
    if (capped := _capped(proc.returncode, what,
                          proc.stderr.decode("utf-8", "replace"))) is not None:
        raise capped
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        tail = " / ".join(line.strip() for line in err)
        raise MediaError(f"{what} failed: {tail or 'ffmpeg exited with ' + str(proc.returncode)}")
    return proc.stdout


def run_ffmpeg_progress(
    args: Sequence[str],
    *,
    duration: float,
    on_progress: Callable[[float], None] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    what: str = "ffmpeg",
) -> None:
    """Run ffmpeg with `args`, calling `on_progress(fraction)` as it works through `duration` s.

    Progress comes from `-progress pipe:1` (key=value lines on stdout, about twice a second);
    stderr is drained in a thread keeping only its last lines, so memory stays flat however
    chatty ffmpeg is. Raises MediaError like `run_ffmpeg` (timeout, start failure, non-zero exit).
    """
    cmd = [*_LIMITS, *_NICE, ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-progress",
           "pipe:1", *args]
    log.debug("running %s", " ".join(cmd))
    _start_count()
    try:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, errors="replace",
        )
    except OSError as exc:
        raise MediaError(f"Could not start ffmpeg: {exc}") from exc
    tail: deque[str] = deque(maxlen=20)
    assert proc.stdout is not None and proc.stderr is not None
    drain = threading.Thread(target=lambda: tail.extend(proc.stderr), daemon=True)  # type: ignore[arg-type]
    drain.start()
    timed_out = threading.Event()

    def _kill() -> None:
        timed_out.set()
        proc.kill()

    watchdog = threading.Timer(timeout, _kill)
    watchdog.start()
    try:
        done = 0.0
        for line in proc.stdout:
            key, _, value = line.strip().partition("=")
            if on_progress is not None and key == "out_time_us" and value.isdigit() and duration > 0:
                fraction = min(1.0, int(value) / 1e6 / duration)
                if fraction > done:  # streams are muxed out of step: never run backwards
                    done = fraction
                    on_progress(fraction)
        proc.wait()
    finally:
        watchdog.cancel()
        if proc.poll() is None:  # an on_progress callback raised: do not leave ffmpeg running
            proc.kill()
            proc.wait()
        drain.join(timeout=5)
    if timed_out.is_set():
        raise MediaError(f"{what} took longer than {timeout:.0f} s and was stopped.")
    if (capped := _capped(proc.returncode, what, "\n".join(tail))) is not None:
        raise capped
    if proc.returncode != 0:
        lines = [line.strip() for line in tail if line.strip()][-3:]
        raise MediaError(f"{what} failed: {' / '.join(lines) or 'ffmpeg exited with ' + str(proc.returncode)}")
    if on_progress is not None and done < 1.0:
        on_progress(1.0)
