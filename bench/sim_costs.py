"""`python -m bench.sim_costs [REPO]`: what the simulator itself costs per request.

Not a figure: a probe of the shared floor under figure 1. Starts the simulator of REPO (default:
this checkout) in a child process and, on one kept-alive connection, times a 20 MB and a 1 MB
upload, a held create beyond its model time, and the 6.1 MB output download (median of 8, after
one warm-up). Pass another checkout (a `git worktree`) to compare two simulators in one command.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from . import media, procs
from .job import START_SECONDS, TOKEN

MODEL_SECONDS = 1.0


def main() -> None:
    repo = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else procs.ROOT
    tmp = Path(tempfile.mkdtemp(prefix="sim-costs-"))
    clip = media.make_sized_clip(tmp / "clip.mp4", 20_000_000, seconds=5)
    image = media.make_image(tmp / "a.jpg", seed=1)
    output = media.make_clip(tmp / "out.mp4", width=1920, height=1080, fps=24, seconds=5, mbps=8.0)
    times: dict[str, list[float]] = {"upload 20 MB": [], "upload 1 MB": [],
                                     "held create beyond the model": [], "download 6.1 MB": []}
    with procs.simulator(MODEL_SECONDS, START_SECONDS, fixed_output=output, root=repo) as base, \
            httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"},
                         timeout=60) as c:
        for i in range(9):
            url = ""
            for key, path in (("upload 20 MB", clip), ("upload 1 MB", image)):
                t = time.monotonic()
                with path.open("rb") as fh:
                    r = c.post("/v1/files", files={"content": (path.name, fh)})
                r.raise_for_status()
                if i:
                    times[key].append(time.monotonic() - t)
                url = url or r.json()["urls"]["get"]
            t = time.monotonic()
            r = c.post("/v1/models/kwaivgi/kling-o1/predictions", headers={"Prefer": "wait=5"},
                       json={"input": {"prompt": "x", "reference_video": url,
                                       "video_reference_type": "feature", "duration": 5}})
            r.raise_for_status()
            if i:
                times["held create beyond the model"].append(
                    time.monotonic() - t - START_SECONDS - MODEL_SECONDS)
            out = r.json()["output"]
            t = time.monotonic()
            with c.stream("GET", out[0] if isinstance(out, list) else out) as s:
                for _ in s.iter_bytes(1 << 20):
                    pass
            if i:
                times["download 6.1 MB"].append(time.monotonic() - t)
    print(f"simulator of {repo} (median of 8, one kept-alive connection):")
    for key, values in times.items():
        print(f"  {key}: {statistics.median(values) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
