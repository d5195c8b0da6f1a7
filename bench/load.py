"""Figure 5: responsiveness under load: a cheap endpoint's latency with 20 jobs in flight.

`python app.py` runs in a child process on the simulator (KLING_SIM_SECONDS model time,
KLING_CONCURRENCY=20 so every job is really running, not parked in the queue). Half the jobs
are /text_to_video, half /frames_to_video with a ~1 MB JPEG (so Gradio's upload, our probe and
our upload to the simulator are in the mix), all submitted at once through one
`gradio_client.Client`. Meanwhile GET /gradio_api/info (what every API client fetches first;
no queue) is called every 50 ms on a keep-alive connection, and its latency compared with the
same calls on the idle app just before. Loops are bounded by count and deadline.
"""

from __future__ import annotations

import os
import time

import httpx

from . import media, procs
from .context import Ctx
from .stats import Figure, median, percentile

CHEAP = "/gradio_api/info"
PING_EVERY = 0.05
JOB_TIMEOUT = 240.0


def _ping(http: httpx.Client) -> float:
    t0 = time.perf_counter()
    r = http.get(CHEAP)
    r.raise_for_status()
    return (time.perf_counter() - t0) * 1000


def _output_ok(result: object) -> bool:
    video = result[0] if isinstance(result, (list, tuple)) and result else None
    if isinstance(video, dict):
        video = video.get("video") or video.get("path")
        if isinstance(video, dict):
            video = video.get("path")
    return isinstance(video, str) and os.path.exists(video) and os.path.getsize(video) > 0


def run(ctx: Ctx) -> list[Figure]:
    from gradio_client import Client, handle_file

    n_jobs = 6 if ctx.quick else 20
    sim_seconds = 3.0 if ctx.quick else 6.0
    image = media.make_image(ctx.tmp / "load-start.jpg", seed=3)
    work = ctx.tmp / "load"
    work.mkdir(exist_ok=True)
    env = {"KLING_SIM_SECONDS": str(sim_seconds), "KLING_CONCURRENCY": str(n_jobs),
           "KLING_QUEUE_SIZE": str(max(32, n_jobs)), "KLING_DATA_DIR": str(work / "data"),
           "GRADIO_TEMP_DIR": str(work / "gradio")}
    proc, port = procs.launch("app.py", env, log=ctx.tmp / "load-app.log")
    base = f"http://127.0.0.1:{port}"
    try:
        procs.wait_http_200(base + "/", proc)
        with httpx.Client(base_url=base, timeout=30) as http:
            for _ in range(5):
                _ping(http)  # warm: the first info call builds and caches the API description
            idle = []
            for _ in range(60 if ctx.quick else 150):
                idle.append(_ping(http))
                time.sleep(PING_EVERY)
            ctx.log(f"load idle: p50 {median(idle):.1f} ms, p95 {percentile(idle, 95):.1f} ms")

            client = Client(base + "/", verbose=False, download_files=str(work / "client"),
                            analytics_enabled=False)
            t0 = time.monotonic()
            jobs = []
            for i in range(n_jobs):
                if i % 2:
                    jobs.append(client.submit(f"bench job {i}: a slow pan over hills",
                                              "16:9", 5, "std", True, api_name="/text_to_video"))
                else:
                    jobs.append(client.submit(f"bench job {i}: she turns and smiles",
                                              handle_file(str(image)), None, 5, "std", True,
                                              api_name="/frames_to_video"))
            loaded: list[float] = []
            deadline = time.monotonic() + JOB_TIMEOUT
            while not all(j.done() for j in jobs) and time.monotonic() < deadline:
                loaded.append(_ping(http))
                time.sleep(PING_EVERY)
            wall = time.monotonic() - t0
        ok = errors = 0
        first_error = ""
        for j in jobs:
            try:
                if _output_ok(j.result(timeout=max(1.0, deadline - time.monotonic()))):
                    ok += 1
                else:
                    errors += 1
            except Exception as exc:  # noqa: BLE001 - a lost job is what we count
                errors += 1
                first_error = first_error or f"{type(exc).__name__}: {str(exc)[:200]}"
        client.close()
    finally:
        procs.stop(proc)
    ctx.log(f"load: {ok}/{n_jobs} jobs returned an output in {wall:.1f} s; under load p50 "
            f"{median(loaded):.1f} ms, p95 {percentile(loaded, 95):.1f} ms ({len(loaded)} calls)")
    notes = [f"{n_jobs} jobs (half text, half frames with a 1 MB JPEG), model time "
             f"{sim_seconds:g} s, all done in {wall:.1f} s; {len(idle)} idle and {len(loaded)} "
             f"loaded calls of GET {CHEAP}, one every {PING_EVERY * 1000:.0f} ms.",
             f"Idle p50 {median(idle):.1f} ms, p95 {percentile(idle, 95):.1f} ms, max "
             f"{max(idle):.1f} ms; loaded p50 {median(loaded):.1f} ms, p95 "
             f"{percentile(loaded, 95):.1f} ms, max {max(loaded, default=float('nan')):.1f} ms."]
    if first_error:
        notes.append(f"First lost job: {first_error}")
    return [
        Figure(name="load", title=f"5 {CHEAP} p95, {n_jobs} jobs in flight",
               ours=percentile(loaded, 95), baseline=percentile(idle, 95), unit="ms",
               target="< 150 ms", check=lambda o, _b, _r: o < 150, baseline_label="idle p95",
               reps={"loaded latencies (ms)": loaded}, notes=notes),
        Figure(name="load", title=f"5 {CHEAP} p50, {n_jobs} jobs in flight",
               ours=median(loaded), baseline=median(idle), unit="ms", target="(reported)",
               check=lambda *_: True, baseline_label="idle p50"),
        Figure(name="load", title=f"5 jobs returned with output, of {n_jobs}",
               ours=float(ok), baseline=float(n_jobs), unit="", target="all, none lost",
               check=lambda o, b, _r: o == b, baseline_label="submitted"),
    ]

