"""Figure 16: Lighthouse performance of the Studio's page vs a bare Gradio page holding about
the same components (bench/bare_page.py, the Studio's theme), mobile and desktop (issue #23).

Both pages are started the same way (a child process on a free port, the simulator backend, a
fresh data folder) and audited alternately, 3 times each per form factor, by Lighthouse 12.2.3
(the README's test command installs it into .tools/) driving Debian's Chromium with its default
throttling (mobile: simulated slow 4G and a 4x slower CPU). Ratios are Studio / bare, medians.
Targets: performance >= 0.95x, total blocking time <= 1.3x, LCP <= 1.1x; accessibility 100.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from . import procs
from .context import Ctx
from .stats import Figure, median

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"


def lighthouse() -> str | None:
    local = ROOT / ".tools" / "node_modules" / ".bin" / "lighthouse"
    return str(local) if local.is_file() else shutil.which("lighthouse")


def audit(binary: str, url: str, preset: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        args = [binary, url, "--only-categories=performance,accessibility",
                "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
                "--output=json", f"--output-path={out}", "--quiet"]
        if preset == "desktop":
            args.append("--preset=desktop")
        else:
            args.append("--form-factor=mobile")
        for attempt in (1, 2, 3):  # on a loaded machine Lighthouse now and then gives up
            done = subprocess.run(args, check=False, env=dict(os.environ, CHROME_PATH=CHROMIUM),
                                  timeout=300, capture_output=True, text=True)
            if done.returncode == 0:
                break
            tail = " ".join(done.stderr.strip().splitlines()[-3:])
            if attempt == 3:
                raise RuntimeError(f"Lighthouse failed 3 times on {url}: {tail}")
            print(f"Lighthouse failed on {url}, once more: {tail}", file=sys.stderr, flush=True)
            time.sleep(10)
        data = json.loads(out.read_text(encoding="utf-8"))
    a = data["audits"]
    return {"perf": 100 * (data["categories"]["performance"]["score"] or 0),
            "a11y": 100 * (data["categories"]["accessibility"]["score"] or 0),
            "tbt": a["total-blocking-time"]["numericValue"],
            "lcp": a["largest-contentful-paint"]["numericValue"]}


def config_size(url: str) -> str:
    """What Gradio's frontend builds as the page starts: every component and every listener of
    the page, shown or not (its start-up walks each component against each listener, so the
    product is what costs; issue #23)."""
    with urllib.request.urlopen(url + "config", timeout=30) as r:  # noqa: S310 - our own child
        config = json.loads(r.read())
    comps, deps = len(config["components"]), len(config["dependencies"])
    targets = sum(len(d["targets"]) for d in config["dependencies"])
    return f"{comps} components, {deps} event listeners ({targets} triggers)"


def page_counts(url: str) -> tuple[int, int]:
    with urllib.request.urlopen(url + "config", timeout=30) as r:  # noqa: S310 - our own child
        config = json.loads(r.read())
    return len(config["components"]), len(config["dependencies"])


def run(ctx: Ctx) -> list[Figure]:
    binary = lighthouse()
    if binary is None:
        raise RuntimeError("Lighthouse is not installed: run the README's test command")
    env = {"KLING_DATA_DIR": str(ctx.tmp / "lh-data"), "GRADIO_TEMP_DIR": str(ctx.tmp / "lh-g")}
    pages: dict[str, str] = {}
    procs_ = []

    def start(label: str, script: str, extra: dict[str, str] | None = None) -> None:
        proc, port = procs.launch(script, {**env, **(extra or {})}, log=ctx.tmp / "lighthouse.log")
        procs_.append(proc)
        pages[label] = f"http://127.0.0.1:{port}/"
        procs.wait_http_200(pages[label], proc)

    try:
        start("studio", "app.py")
        start("bare", "bench/bare_page.py")
        # The same bare page grown to the Studio's own size (components and listeners): what
        # the Studio's code costs over Gradio building a tree that big.
        comps, deps = page_counts(pages["studio"])
        start("same size", "bench/bare_page.py",
              {"BARE_COMPONENTS": str(comps), "BARE_LISTENERS": str(deps)})
        sizes = "; ".join(f"{label}: {config_size(url)}" for label, url in pages.items())
        figures = []
        for preset in ("mobile", "desktop"):
            got: dict[str, list[dict[str, float]]] = {label: [] for label in pages}
            for url in pages.values():  # warm each (first compile of the bundle)
                audit(binary, url, preset)
            for i in range(ctx.reps(3, 1)):
                order = list(pages) if i % 2 == 0 else list(pages)[::-1]
                for label in order:
                    got[label].append(audit(binary, pages[label], preset))
                    ctx.log(f"lighthouse {preset} {label}: {got[label][-1]}")
            ours, bare, same = got["studio"], got["bare"], got["same size"]

            def med(rows: list[dict[str, float]], key: str) -> float:
                return median([r[key] for r in rows])

            reps = {f"Studio {k}": [r[k] for r in ours] for k in ("perf", "tbt", "lcp", "a11y")}
            reps.update({f"bare {k}": [r[k] for r in bare] for k in ("perf", "tbt", "lcp")})
            reps.update({f"same-size bare {k}": [r[k] for r in same]
                         for k in ("perf", "tbt", "lcp")})
            figures += [
                Figure(name=f"lh-{preset}-perf", title=f"16 Lighthouse performance, {preset}",
                       ours=med(ours, "perf"), baseline=med(bare, "perf"), unit="",
                       target=">= 0.95x", check=lambda _o, _b, r: r >= 0.95,
                       baseline_label="bare Gradio page", reps=reps,
                       notes=[f"accessibility (Studio): {med(ours, 'a11y'):.0f}",
                              f"page config: {sizes}"]),
                Figure(name=f"lh-{preset}-tbt", title=f"16 total blocking time, {preset}",
                       ours=med(ours, "tbt"), baseline=med(bare, "tbt"), unit="ms",
                       target="<= 1.3x", check=lambda _o, _b, r: r <= 1.3,
                       baseline_label="bare Gradio page"),
                Figure(name=f"lh-{preset}-lcp", title=f"16 largest contentful paint, {preset}",
                       ours=med(ours, "lcp"), baseline=med(bare, "lcp"), unit="ms",
                       target="<= 1.1x", check=lambda _o, _b, r: r <= 1.1,
                       baseline_label="bare Gradio page"),
                Figure(name=f"lh-{preset}-perf-same-size",
                       title=f"16 Lighthouse performance, {preset}, vs a bare page of its size",
                       ours=med(ours, "perf"), baseline=med(same, "perf"), unit="",
                       target="(reported)", check=lambda _o, _b, _r: True,
                       baseline_label="bare Gradio page, Studio's size",
                       notes=["The bare page grown to the Studio's component and listener "
                              "counts (bench/bare_page.py, BARE_COMPONENTS/BARE_LISTENERS): "
                              "what the Studio's own script, CSS and handlers cost over "
                              "Gradio's start-up for a tree that big."]),
                Figure(name=f"lh-{preset}-tbt-same-size",
                       title=f"16 total blocking time, {preset}, vs a bare page of its size",
                       ours=med(ours, "tbt"), baseline=med(same, "tbt"), unit="ms",
                       target="(reported)", check=lambda _o, _b, _r: True,
                       baseline_label="bare Gradio page, Studio's size"),
            ]
        return figures
    finally:
        for proc in procs_:
            procs.stop(proc)
