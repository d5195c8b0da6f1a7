"""Figure 14: a cheap call's latency while absurd requests arrive (issue #20, point 4).

`python app.py` runs in a child process on the simulator. One PNG is uploaded once; then, for a
few seconds, one caller sends raw /references_to_video requests back to back that list that
upload 5,000 times (what once held every visitor for 221 s), alternating with requests that list
it 50 times (past the event gate, over Kling's 7: refused by the cheap checks before any probe).
Meanwhile GET /gradio_api/info (what every API client fetches first) is called every 20 ms on
its own keep-alive connection, and its latency compared with the same calls on the idle app
just before. Also reported: how long each absurd request took to be refused.
"""

from __future__ import annotations

import json
import threading
import time

import httpx

from . import media, procs
from .context import Ctx
from .stats import Figure, median, percentile

CHEAP = "/gradio_api/info"
PING_EVERY = 0.02
LISTED = 5000
PAST_THE_GATE = 50


def _ping(http: httpx.Client) -> float:
    t0 = time.perf_counter()
    http.get(CHEAP).raise_for_status()
    return (time.perf_counter() - t0) * 1000


def _refusal_seconds(http: httpx.Client, fn_index: int, data: list[object], session: str) -> float:
    """Send one raw event and read its answer to the end; seconds until it was refused."""
    t0 = time.perf_counter()
    r = http.post("/gradio_api/queue/join", json={"data": data, "fn_index": fn_index,
                                                   "session_hash": session})
    if r.status_code == 200:
        with http.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as s:
            for line in s.iter_lines():
                if line.startswith("data:") and json.loads(line[5:]).get("msg") == (
                        "process_completed"):
                    break
    return time.perf_counter() - t0


def run(ctx: Ctx) -> list[Figure]:
    window = 4.0 if ctx.quick else 10.0
    image = media.make_image(ctx.tmp / "absurd.jpg", seed=5)
    work = ctx.tmp / "absurd"
    work.mkdir(exist_ok=True)
    env = {"KLING_DATA_DIR": str(work / "data"), "GRADIO_TEMP_DIR": str(work / "gradio")}
    proc, port = procs.launch("app.py", env, log=ctx.tmp / "absurd-app.log")
    base = f"http://127.0.0.1:{port}"
    refused: dict[str, list[float]] = {"5000": [], "50": []}
    try:
        procs.wait_http_200(base + "/", proc)
        with httpx.Client(base_url=base, timeout=300) as http, \
                httpx.Client(base_url=base, timeout=300) as caller:
            deps = http.get("/config").json()["dependencies"]
            fn = next(i for i, d in enumerate(deps) if d.get("api_name") == "references_to_video")
            up = caller.post("/gradio_api/upload", files={
                "files": ("absurd.jpg", image.read_bytes(), "image/jpeg")})
            up.raise_for_status()
            upload = {"path": up.json()[0], "meta": {"_type": "gradio.FileData"},
                      "orig_name": "absurd.jpg"}
            for _ in range(5):
                _ping(http)  # warm: the first info call builds and caches the API description
            idle = []
            for _ in range(100 if ctx.quick else 250):
                idle.append(_ping(http))
                time.sleep(PING_EVERY)
            stop = threading.Event()

            def hammer() -> None:
                i = 0
                while not stop.is_set():
                    n = LISTED if i % 2 == 0 else PAST_THE_GATE
                    data = ["<<<image_1>>> waves", [upload] * n, None, "16:9", 5, "pro", True]
                    refused[str(n)].append(_refusal_seconds(caller, fn, data, f"absurd-{i}"))
                    i += 1

            thread = threading.Thread(target=hammer, daemon=True)
            thread.start()
            loaded: list[float] = []
            t_end = time.monotonic() + window
            while time.monotonic() < t_end:
                loaded.append(_ping(http))
                time.sleep(PING_EVERY)
            stop.set()
            thread.join(60)
    finally:
        procs.stop(proc)
    absurd = refused["5000"]
    ctx.log(f"absurd: idle p95 {percentile(idle, 95):.1f} ms; during p95 "
            f"{percentile(loaded, 95):.1f} ms ({len(loaded)} calls); {len(absurd)} requests of "
            f"{LISTED} images refused in median {median(absurd) * 1000:.1f} ms, max "
            f"{max(absurd, default=float('nan')) * 1000:.1f} ms")
    notes = [f"{len(absurd)} requests listing one upload {LISTED} times and "
             f"{len(refused['50'])} listing it {PAST_THE_GATE} times, back to back for "
             f"{window:g} s from one caller; {len(idle)} idle and {len(loaded)} loaded calls of "
             f"GET {CHEAP}, one every {PING_EVERY * 1000:.0f} ms on another connection.",
             f"Idle p50 {median(idle):.1f} ms, p95 {percentile(idle, 95):.1f} ms; during p50 "
             f"{median(loaded):.1f} ms, p95 {percentile(loaded, 95):.1f} ms, max "
             f"{max(loaded, default=float('nan')):.1f} ms.",
             f"Refused in: {LISTED} listed median {median(absurd) * 1000:.1f} ms (max "
             f"{max(absurd, default=float('nan')) * 1000:.1f} ms); {PAST_THE_GATE} listed median "
             f"{median(refused['50']) * 1000:.1f} ms (max "
             f"{max(refused['50'], default=float('nan')) * 1000:.1f} ms)."]
    return [
        Figure(name="absurd", title=f"14 {CHEAP} p95 during absurd requests ({LISTED} images)",
               ours=percentile(loaded, 95), baseline=percentile(idle, 95), unit="ms",
               target="< 500 ms", check=lambda o, _b, _r: o < 500, baseline_label="idle p95",
               reps={"loaded latencies (ms)": loaded}, notes=notes),
        Figure(name="absurd", title=f"14 a request listing {LISTED} images refused in",
               ours=max(absurd, default=float("nan")), baseline=2.0, unit="s",
               target="< 2 s (max)", check=lambda o, _b, _r: o < 2.0,
               baseline_label="issue #20 target",
               reps={f"{LISTED} listed (s)": absurd, f"{PAST_THE_GATE} listed (s)": refused["50"]}),
    ]
