"""Child processes for the benchmarks: the simulator, the app, a bare Gradio app.

Servers run in their own interpreter so the process being measured (its RSS, its GIL) holds only
the client. Every child is stopped by its own pid; nothing is killed by name.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
QUIET_ENV = {"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1",
             "PYTHONUNBUFFERED": "1", "NO_PROXY": "127.0.0.1,localhost"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPLICATE_")}
    env.update(QUIET_ENV)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra or {})
    return env


def stop(proc: subprocess.Popen[bytes] | subprocess.Popen[str], timeout: float = 10) -> None:
    """Terminate one child we started, then kill it if it does not go."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


@contextlib.contextmanager
def simulator(model_seconds: float, start_seconds: float = 0.3,
              fixed_output: str | os.PathLike[str] | None = None,
              root: Path = ROOT) -> Iterator[str]:
    """A simulator in a child process; yields its base URL. With `fixed_output`, every
    prediction's output is that mp4 (no render). `root`: the checkout whose simulator runs
    (another worktree, to compare two in one command)."""
    extra = [str(fixed_output)] if fixed_output else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.sim_server", str(model_seconds), str(start_seconds), *extra],
        stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True, cwd=root,
        env=child_env({"PYTHONPATH": str(root)}))
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line.startswith("http://"):
            raise RuntimeError(f"the simulator did not start: {line!r}")
        yield line
    finally:
        if proc.stdin:
            with contextlib.suppress(OSError):
                proc.stdin.close()  # sim_server exits when its stdin closes
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            stop(proc)


def http_status(url: str, timeout: float = 2.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback only
            resp.read()
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return 0


def wait_http_200(url: str, proc: subprocess.Popen[bytes], timeout: float = 90,
                  every: float = 0.02) -> float:
    """Poll `url` until it answers 200; the monotonic time it did. Raises if `proc` dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if http_status(url, timeout=1.0) == 200:
            return time.monotonic()
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode} before answering")
        time.sleep(every)
    raise RuntimeError(f"no HTTP 200 from {url} within {timeout:.0f} s")


def launch(script: str, env: Mapping[str, str] | None = None,
           log: Path | None = None) -> tuple[subprocess.Popen[bytes], int]:
    """`python <script>` from the repo root on a free port (GRADIO_SERVER_PORT); (proc, port)."""
    port = free_port()
    out = log.open("ab") if log else subprocess.DEVNULL
    proc = subprocess.Popen(
        [sys.executable, script], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=child_env({"GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1",
                       **(env or {})}))
    if log:
        out.close()  # type: ignore[union-attr]
    return proc, port


@contextlib.contextmanager
def serving(demo: Any, opts: dict[str, Any], port: int, up_seconds: float = 90.0) -> Iterator[str]:
    """Launch a Gradio `demo` in this process on 127.0.0.1:`port`; yield its URL; stop it fully.

    Gradio's own check that the page answers is one HEAD with a 3 s timeout, and a loaded CI box
    took longer to build this page's config once: launch raised "localhost is not accessible".
    So that check is skipped (`_frontend=False` gates only it) and this waits, patiently, instead.
    On exit the server stops at once, without Gradio's shutdown step, and this waits until it
    has: Gradio waits 5 s for its thread and returns, uvicorn kept it alive while a page held a
    stream open, and its last step then deleted files the next app in the worker was serving.
    """
    demo.launch(**{**opts, "prevent_thread_lock": True, "quiet": True, "_frontend": False})
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + up_seconds
        while http_status(url, timeout=10.0) != 200:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the app at {url} did not answer in {up_seconds:.0f} s")
            time.sleep(0.2)
        yield url
    finally:
        server = getattr(demo, "server", None)
        if server is not None:
            server.force_exit = True
        demo.close()
        thread = getattr(server, "thread", None)
        if thread is not None:
            thread.join(timeout=60)
            if thread.is_alive():
                raise RuntimeError("the app's server thread did not stop in 60 s")
