"""Figure 1's Run -> created rows alone (issue #22 part 5), for a machine too busy for the whole
`python -m bench --only job` (about 25 minutes): at each delayed-link latency, the 3.3 s job
cold for both clients (ours and `replicate` 1.0.7, alternating) and ours with the page's
speculative upload, side by side. Prints the figures; writes nothing to RESULTS.md.

    sudo .venv/bin/python -m bench.job_created [reps]      # needs root, as bench.link does
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from . import job, link, media
from .context import Ctx
from .stats import median


def main(reps: int = 3) -> None:
    why_not = link.available()
    if why_not is not None:
        sys.exit(f"cannot build the delayed link: {why_not}")
    ctx = Ctx(quick=False, tmp=Path(tempfile.mkdtemp(prefix="bench-created-")))
    clip = media.make_sized_clip(ctx.tmp / "job-clip.mp4", 20_000_000, seconds=5)
    files = [media.make_image(ctx.tmp / "job-a.jpg", seed=1),
             media.make_image(ctx.tmp / "job-b.jpg", seed=2), clip]
    output = media.make_clip(ctx.tmp / "job-output.mp4", width=1920, height=1080, fps=24,
                             seconds=5, mbps=8.0)
    sizes = ", ".join(f"{f.name} {f.stat().st_size / 1e6:.1f} MB" for f in files)
    rows = []
    for one_way in job.LATENCIES:
        ms = round(one_way * 1000)

        def server(w: float = one_way) -> object:
            return link.delayed_simulator(3.0, job.START_SECONDS, output, w, job.MBIT)

        got = job._measure(ctx, files, 3.0, reps, output, server)  # type: ignore[arg-type]
        cold = [x * 1000 for x in got.created["ours"]]
        theirs = [x * 1000 for x in got.created["theirs"]]
        with link.delayed_simulator(3.0, job.START_SECONDS, output, one_way, job.MBIT) as base:
            spec = job._speculative(ctx, base, files, reps)
        rows.append((ms, cold, theirs, spec))
    print(f"Inputs: {sizes}; {job.MBIT:.0f} Mbit/s; Run {job.SPECULATE_LEAD_S:.0f} s after "
          "the speculative upload started. Run -> prediction created, ms (median; runs):")
    for ms, cold, theirs, spec in rows:
        ratio = median(spec) / median(theirs)
        print(f"  {ms:>3} ms each way: replicate cold {median(theirs):6.0f} {_r(theirs)} | "
              f"ours cold {median(cold):6.0f} {_r(cold)} | ours speculative "
              f"{median(spec):6.0f} {_r(spec)} = {ratio:.2f}x of replicate (target <= 0.3x; "
              f"one round trip + 0.2 s = {2 * ms + 200} ms)")


def _r(xs: list[float]) -> str:
    return "[" + ", ".join(f"{x:.0f}" for x in xs) + "]"


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
