"""Figure 3: peak RSS growth while uploading a 95 MB file to the simulator.

Each upload runs in a fresh child process (`python -m bench.upload_mem WHO BASE_URL FILE`), so
no earlier figure's heap hides or adds growth. In the child: imports, the client and one small
warm-up upload come first; then the peak is reset (`/proc/self/clear_refs` 5, Linux >= 4.0),
VmRSS is read, the 95 MB upload runs, and VmHWM is read. A 10 ms sampling thread backs the
kernel's high-water mark up where clear_refs is not allowed. Ours is `ReplicateClient.upload_file`;
the baseline is the official package's `client.files.create(open handle)`.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from . import media, procs
from .context import Ctx
from .stats import Figure, median

TOKEN = "r8_" "bench0000000000000000000000000000000"
UPLOAD_BYTES = 95_000_000


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class _Sampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = _status_kib("VmRSS")
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.01):
            self.peak = max(self.peak, _status_kib("VmRSS"))


def _child(who: str, base: str, path: str, warm: str) -> dict[str, float]:
    if who == "ours":
        from kling_ui.core.config import Secret
        from kling_ui.replicate.client import ReplicateClient

        loop = asyncio.new_event_loop()
        client = ReplicateClient(base)
        token = Secret(TOKEN)

        def upload(p: str) -> None:
            loop.run_until_complete(client.upload_file(p, token))
    elif who == "control":
        held: list[bytes] = []

        def upload(p: str) -> None:  # what a naive upload does: the whole file in memory
            held[:] = [Path(p).read_bytes()]
    else:
        import replicate

        official = replicate.Client(api_token=TOKEN, base_url=base)

        def upload(p: str) -> None:
            with open(p, "rb") as fh:
                official.files.create(fh)

    upload(warm)
    reset = _reset_peak()
    base_rss = _status_kib("VmRSS")
    sampler = _Sampler()
    sampler.start()
    t0 = time.perf_counter()
    upload(path)
    seconds = time.perf_counter() - t0
    sampler.done.set()
    sampler.join()
    peak = max(sampler.peak, _status_kib("VmHWM") if reset else 0)
    return {"growth_mib": (peak - base_rss) / 1024, "base_mib": base_rss / 1024,
            "seconds": seconds, "hwm_reset": float(reset)}


def _measure(who: str, base: str, path: Path, warm: Path) -> dict[str, float]:
    proc = subprocess.run([sys.executable, "-m", "bench.upload_mem", who, base, str(path),
                           str(warm)], capture_output=True, text=True, cwd=procs.ROOT,
                          env=procs.child_env(), timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"upload child failed: {proc.stderr.strip()[-400:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def run(ctx: Ctx) -> list[Figure]:
    size = 20_000_000 if ctx.quick else UPLOAD_BYTES
    path = media.make_blob(ctx.tmp / f"upload-{size}.mp4", size)
    warm = media.make_blob(ctx.tmp / "upload-warm.mp4", 300_000)
    reps = ctx.reps(3, 1)
    ours: list[float] = []
    theirs: list[float] = []
    secs: dict[str, list[float]] = {"ours": [], "theirs": []}
    with procs.simulator(1.0) as base:
        for i in range(reps):
            for who in ("ours", "theirs") if i % 2 == 0 else ("theirs", "ours"):
                r = _measure(who, base, path, warm)
                (ours if who == "ours" else theirs).append(r["growth_mib"])
                secs[who].append(r["seconds"])
                ctx.log(f"upload {size / 1e6:.0f} MB {who}: +{r['growth_mib']:.1f} MiB RSS "
                        f"in {r['seconds']:.2f} s (HWM reset: {bool(r['hwm_reset'])})")
        control = _measure("control", base, path, warm)["growth_mib"]
        ctx.log(f"upload control (read whole file): +{control:.1f} MiB")
    return [Figure(
        name="upload", title=f"3 upload peak RSS growth, {size / 1e6:.0f} MB file",
        ours=median(ours), baseline=median(theirs), unit="MiB", target="< 32 MiB",
        check=lambda o, _b, _r: o < 32, baseline_label="replicate files.create",
        reps={"ours (MiB)": ours, "replicate (MiB)": theirs,
              "ours upload time (s)": secs["ours"], "replicate upload time (s)": secs["theirs"]},
        notes=["Peak RSS (VmHWM after clear_refs, and a 10 ms sampler) minus RSS before the "
               "upload, in a fresh process per run.",
               f"Control: reading the file whole in the same harness shows +{control:.0f} MiB, "
               "so the method sees a file held in memory."])]


if __name__ == "__main__":
    print(json.dumps(_child(*sys.argv[1:5])))
