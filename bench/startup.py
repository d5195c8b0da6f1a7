"""Figure 6: start-up, from `python app.py` to the first HTTP 200 on `/`, vs a bare Blocks app.

Both are started the same way (a child process, a free GRADIO_SERVER_PORT, the same env) and
`/` is polled every 20 ms; runs alternate between the two. The Studio starts its simulator
lazily, so this is imports + building the page + Gradio's own start.
"""

from __future__ import annotations

import time

from . import procs
from .context import Ctx
from .stats import Figure, median


def _once(ctx: Ctx, script: str, env: dict[str, str]) -> float:
    t0 = time.monotonic()
    proc, port = procs.launch(script, env, log=ctx.tmp / "startup.log")
    try:
        return procs.wait_http_200(f"http://127.0.0.1:{port}/", proc) - t0
    finally:
        procs.stop(proc)


def run(ctx: Ctx) -> list[Figure]:
    env = {"KLING_DATA_DIR": str(ctx.tmp / "startup-data"),
           "GRADIO_TEMP_DIR": str(ctx.tmp / "startup-gradio")}
    ours: list[float] = []
    bare: list[float] = []
    _once(ctx, "bench/bare_app.py", env)  # warm the OS file cache for gradio's imports
    for i in range(ctx.reps(5, 1)):
        order = [("app.py", ours), ("bench/bare_app.py", bare)]
        for script, bucket in order if i % 2 == 0 else order[::-1]:
            bucket.append(_once(ctx, script, env))
            ctx.log(f"startup {script}: {bucket[-1]:.2f} s")
    return [Figure(
        name="startup", title="6 start-up to first HTTP 200", ours=median(ours),
        baseline=median(bare), unit="s", target="<= 1.3x", check=lambda _o, _b, r: r <= 1.3,
        baseline_label="bare gr.Blocks",
        reps={"python app.py (s)": ours, "bare gr.Blocks (s)": bare})]
