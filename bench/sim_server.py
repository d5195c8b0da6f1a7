"""`python -m bench.sim_server MODEL_SECONDS [START_SECONDS [OUTPUT]]`: the simulator as a child process.

With OUTPUT (an mp4), every prediction's output is that file instead of a render (figure 1).

Prints its base URL on the first line of stdout, then serves until stdin closes (the parent
exits or closes the pipe), so it can never outlive the benchmark.
"""

from __future__ import annotations

import os
import sys

from kling_ui.replicate.simulator import start_simulator


def main() -> None:
    model_seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    start_seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 0.3
    fixed_output = sys.argv[3] if len(sys.argv) > 3 else None
    # BENCH_SIM_HOST: the address inside the delayed link's namespace (bench.link)
    sim = start_simulator(model_seconds=model_seconds, start_seconds=start_seconds,
                          fixed_output=fixed_output,
                          host=os.environ.get("BENCH_SIM_HOST", "127.0.0.1"))
    try:
        print(sim.base_url, flush=True)
        sys.stdin.read()
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
