"""`python -m bench.visitors [VISITORS] [JOBS]`: many visitors at once through the whole app (issue 7).

Launches the real app (app.create_app + ui.launch_options) in-process on a free 127.0.0.1 port,
on the host-key "replicate" backend pointed at a Replicate-compatible simulator, and drives it
with one `gradio_client.Client` per visitor. Each visitor runs JOBS jobs: text to video, then
frames to video with a start frame large enough to go through the Files API. Every third visitor
brings their own key (X-Replicate-Api-Token).

It reports, and checks: every job completed or was refused with a message; none lost or run
twice (simulator creates vs jobs); every uploaded file deleted; RSS and open file descriptors
bounded; no `.part` file left; every completed job kept in the library with its output on disk.

App, simulator and visitors share this one process (so the simulator's state can be read), which
is harsher than production: the visitors' threads compete with the server for the GIL.
`app_on_simulator()` is also what tests/test_hardening_*.py launch. Default: 50 visitors x 2.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

HOST_KEY = "r8_" "HOSTKEYbench0123456789abcdefghijklmnop"
VISITOR_KEY_PREFIX = "r8_VISITORbench"
FAST_SIM = {"model_seconds": 0.2, "start_seconds": 0.05}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb() -> float:
    """Resident memory of this process (app, simulator and clients all live here)."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def CappedTimeoutTransport(read: dict[str, float]) -> Any:  # noqa: N802 - reads as a class
    """A real httpx transport whose read timeout is capped per HTTP method.

    Stands in for a ReplicateClient built with a short timeout: Studio does not take a timeout,
    only a transport, so the cap is applied where each request leaves (httpx reads the timeout
    from `request.extensions["timeout"]`).
    """
    import httpx

    class _Capped(httpx.AsyncHTTPTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            cap = read.get(request.method)
            if cap is not None:
                timeout = dict(request.extensions.get("timeout") or {})
                timeout["read"] = min(timeout.get("read") or cap, cap)
                request.extensions["timeout"] = timeout
            return await super().handle_async_request(request)

    return _Capped()


@dataclass
class AppOnSim:
    """The launched app and the simulator it talks to."""

    url: str
    demo: Any
    studio: Any
    settings: Any
    sim: Any  # kling_ui.replicate.simulator.RunningSimulator

    @property
    def state(self) -> Any:
        return self.sim.state


@contextlib.contextmanager
def app_on_simulator(
    *, sim_options: dict[str, Any] | None = None, transport: Any = None,
    host_key: str | None = HOST_KEY, **overrides: Any,
) -> Iterator[AppOnSim]:
    """The real app on 127.0.0.1, backend "replicate" with the host's key, pointed at a fresh
    simulator whose `state` the caller may inject faults into."""
    from app import create_app
    from bench.procs import serving
    from kling_ui.core.config import Secret, Settings
    from kling_ui.replicate.simulator import start_simulator
    from kling_ui.runs.service import Studio
    from kling_ui.ui import launch_options

    sim = start_simulator(**{**FAST_SIM, **(sim_options or {})})
    studio = None
    try:
        settings = Settings(
            token=Secret(host_key) if host_key else None, base_url=sim.base_url,
            backend="replicate", backend_forced=True, port=free_port(), concurrency=4,
            queue_size=64, job_timeout=120.0,
            data_dir=tempfile.mkdtemp(prefix="kling-hardening-"))
        settings = replace(settings, **overrides)
        studio = Studio(settings, transport=transport)
        demo = create_app(settings, studio)
        with serving(demo, launch_options(settings, studio), settings.port) as url:
            yield AppOnSim(url, demo, studio, settings, sim)
    finally:
        if studio is not None:
            with contextlib.suppress(Exception):
                asyncio.run(studio.aclose())
        sim.stop()


def make_big_png(path: Path, size: int = 640, seed: int = 7) -> Path:
    """A noisy PNG over 256 KB, so it is uploaded through the Files API (not inlined)."""
    from PIL import Image

    rnd = random.Random(seed)
    img = Image.frombytes("RGB", (size, size), rnd.randbytes(size * size * 3))
    img.save(path)
    assert path.stat().st_size > 256 * 1024
    return path


@dataclass
class LoadReport:
    visitors: int
    jobs_per_visitor: int
    completed: int = 0
    refused: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # ended without a clear message
    predictions: int = 0
    creates: int = 0
    completed_ids: int = 0
    uploads: int = 0
    uploads_left: int = 0
    rss_start_mb: float = 0.0
    rss_peak_mb: float = 0.0
    rss_end_mb: float = 0.0
    fds_start: int = 0
    fds_peak: int = 0
    fds_end: int = 0
    part_files: int = 0
    runs_kept: int = 0  # succeeded runs in the library with their output on disk
    seconds: float = 0.0

    @property
    def jobs(self) -> int:
        return self.visitors * self.jobs_per_visitor

    def problems(self) -> list[str]:
        """Everything that breaks the promise; empty when the run held."""
        out = []
        if self.completed + len(self.refused) != self.jobs:
            out.append(f"{self.jobs - self.completed - len(self.refused)} jobs lost "
                       f"({self.completed} completed, {len(self.refused)} refused)")
        out += [f"unclear failure: {f}" for f in self.failed]
        if self.predictions != self.completed or self.completed_ids != self.completed:
            out.append(f"{self.predictions} predictions for {self.completed} completed jobs "
                       f"({self.completed_ids} distinct ids returned)")
        if self.uploads_left:
            out.append(f"{self.uploads_left} uploaded files not deleted")
        if self.part_files:
            out.append(f"{self.part_files} .part files left")
        if self.runs_kept != self.completed:
            out.append(f"{self.runs_kept} runs kept in the library for {self.completed} "
                       "completed jobs")
        if self.fds_end > self.fds_start + 40:
            out.append(f"open files grew from {self.fds_start} to {self.fds_end}")
        if self.rss_peak_mb > self.rss_start_mb + 600:
            out.append(f"RSS grew from {self.rss_start_mb:.0f} MB to {self.rss_peak_mb:.0f} MB")
        return out


REFUSAL_WORDS = ("queue is full", "try again", "limit", "budget")


def run_load(visitors: int = 50, jobs_per_visitor: int = 2, *, concurrency: int = 4,
             queue_size: int = 256, timeout: float = 600.0, log: Any = None) -> LoadReport:
    """Run the load and return its figures (see LoadReport.problems for the verdict)."""
    from gradio_client import Client, handle_file

    say = log or (lambda msg: None)
    report = LoadReport(visitors, jobs_per_visitor)
    tmp = Path(tempfile.mkdtemp(prefix="kling-load-"))
    start_png = make_big_png(tmp / "start.png")
    with app_on_simulator(concurrency=concurrency, queue_size=queue_size,
                          sim_options={"render_workers": 2}) as app:
        report.rss_start_mb = rss_mb()
        report.fds_start = open_fds()
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                report.rss_peak_mb = max(report.rss_peak_mb, rss_mb())
                report.fds_peak = max(report.fds_peak, open_fds())
                stop.wait(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        t0 = time.monotonic()
        ids: set[str] = set()
        lock = threading.Lock()

        def visitor(n: int) -> None:
            headers = {"X-Forwarded-For": f"10.1.{n // 250}.{n % 250}"}
            if n % 3 == 2:
                headers["X-Replicate-Api-Token"] = f"{VISITOR_KEY_PREFIX}{n:04d}abcdefghijklmnop"
            # A browser waits for its upload; gradio_client gives up after 20 s by default,
            # which 100 uploads at once into one 2-core process can exceed.
            client = Client(app.url, verbose=False, headers=headers,
                            httpx_kwargs={"timeout": 120})
            jobs = []
            for j in range(jobs_per_visitor):
                if j % 2 == 0:
                    jobs.append(client.submit(prompt=f"Load visitor {n} job {j}: a calm sea",
                                              aspect_ratio="1:1", duration=5, mode="std",
                                              api_name="/text_to_video"))
                else:
                    jobs.append(client.submit(prompt=f"Load visitor {n} job {j}: <<<image_1>>> "
                                              "comes alive", start_image=handle_file(start_png),
                                              duration=5, mode="std",
                                              api_name="/frames_to_video"))
            for job in jobs:
                try:
                    _video, summary = job.result(timeout=timeout)
                except Exception as exc:  # noqa: BLE001 - sorted into refused / unclear below
                    text = str(exc)
                    with lock:
                        if any(w in text.lower() for w in REFUSAL_WORDS) and (
                                "Traceback" not in text):
                            report.refused.append(text[:200])
                        else:
                            report.failed.append(f"{type(exc).__name__}: {text[:300]}")
                    continue
                with lock:
                    report.completed += 1
                    ids.add(summary["prediction_id"])
            with contextlib.suppress(Exception):
                client.close()

        with ThreadPoolExecutor(max_workers=min(visitors, 64)) as pool:
            list(pool.map(visitor, range(visitors)))
        report.seconds = round(time.monotonic() - t0, 1)
        stop.set()
        sampler.join()
        state = app.state
        with state.lock:
            report.predictions = len(state.predictions)
            report.creates = len(state.creates())
            report.uploads = len(state.requests_to("/v1/files", "POST"))
            report.uploads_left = len(state.files)
        report.completed_ids = len(ids)
        data = Path(app.studio.data_dir)
        report.part_files = len(list(data.rglob("*.part")))
        report.runs_kept = sum(1 for r in app.studio.library.runs(owner=None, limit=10_000)
                               if r.status == "succeeded" and r.output and Path(r.output).is_file())
        report.rss_end_mb = rss_mb()
        report.fds_end = open_fds()
        say(f"load: {report.completed} completed, {len(report.refused)} refused, "
            f"{len(report.failed)} unclear in {report.seconds} s")
    return report


def main() -> None:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("GRADIO_TEMP_DIR", tempfile.mkdtemp(prefix="kling-load-gradio-"))
    visitors = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    jobs = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    report = run_load(visitors, jobs, log=lambda m: print(m, file=sys.stderr, flush=True))
    figures = {k: v for k, v in report.__dict__.items() if k not in ("refused", "failed")}
    figures.update(jobs=report.jobs, refused=len(report.refused), failed=report.failed,
                   problems=report.problems())
    print(json.dumps(figures, indent=2))
    sys.exit(1 if report.problems() else 0)


if __name__ == "__main__":
    main()
