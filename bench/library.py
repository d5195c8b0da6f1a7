"""Figures 9 and 10: the library with 500 runs in it, against an empty one, in the same run.

9. start-up: `python app.py` to the first HTTP 200 on `/`, on a data folder holding 500 runs
   (rows, posters and outputs on disk) vs an empty folder; runs alternate.
10. page load to the library shown: headless Chromium opens the page, clicks the Library tab as
   soon as it can, and waits until it lists the runs (totals say "500 runs" and the grid holds its posters) vs an empty library
   ("0 runs"); both in one browser, alternating.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from kling_ui.library.store import Library, Run, new_run_id

from . import procs
from .context import Ctx
from .stats import Figure, median

RUNS = 500
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def fill(folder: Path, n: int = RUNS) -> None:
    """A library of `n` finished runs, each with a real poster and output on disk (hard links of
    one small pair, so the figure measures the library, not the disk)."""
    from PIL import Image

    library = Library(folder)
    seed = folder / "seed"
    seed.mkdir(exist_ok=True)
    Image.new("RGB", (640, 360), (90, 60, 160)).save(seed / "poster.jpg", quality=80)
    (seed / "output.mp4").write_bytes(os.urandom(200_000))
    now = time.time()
    for i in range(n):
        run_id = new_run_id()
        d = library.run_dir(run_id)
        os.link(seed / "poster.jpg", d / "poster.jpg")
        os.link(seed / "output.mp4", d / "output.mp4")
        tab = ("text", "frames", "references", "feature", "edit")[i % 5]
        library.create(Run(id=run_id, owner="lib:bench", tab=tab, status="succeeded",
                           created_at=now - i * 60, prompt=f"Run {i}: a fox crosses a field",
                           prediction_id=f"p{i}", estimated_cost=0.56, poster=str(d / "poster.jpg"),
                           output=str(d / "output.mp4"), settings={"tab": tab}))
    library.close()


def _startup(ctx: Ctx, data: Path) -> float:
    t0 = time.monotonic()
    proc, port = procs.launch("app.py", {"KLING_DATA_DIR": str(data),
                                         "KLING_LIBRARY_SCOPE": "all",
                                         "GRADIO_TEMP_DIR": str(ctx.tmp / "lib-gradio")},
                              log=ctx.tmp / "library.log")
    try:
        return procs.wait_http_200(f"http://127.0.0.1:{port}/", proc) - t0
    finally:
        procs.stop(proc)


def _page_load(browser: object, url: str, expect_text: str, posters: int) -> float:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    try:
        t0 = time.monotonic()
        page.goto(url)
        page.get_by_role("tab", name="Library").click()  # as a person opens it
        page.wait_for_function(
            "([text, n]) => { const t = document.querySelector('#kling-library-totals');"
            " const imgs = document.querySelectorAll('#kling-library-gallery img');"
            " return t && t.innerText.includes(text) && imgs.length >= n &&"
            " Array.from(imgs).slice(0, n).every(i => i.complete && i.naturalWidth > 0); }",
            arg=[expect_text, posters], timeout=60_000)
        return time.monotonic() - t0
    finally:
        context.close()


def run(ctx: Ctx) -> list[Figure]:
    from playwright.sync_api import sync_playwright

    full, empty = ctx.tmp / "lib-500", ctx.tmp / "lib-empty"
    fill(full)
    Library(empty).close()
    ours: list[float] = []
    base: list[float] = []
    _startup(ctx, empty)  # warm the file cache
    for i in range(ctx.reps(5, 1)):
        order = [(full, ours), (empty, base)]
        for data, bucket in order if i % 2 == 0 else order[::-1]:
            bucket.append(_startup(ctx, data))
            ctx.log(f"library startup {data.name}: {bucket[-1]:.2f} s")
    figures = [Figure(
        name="library-startup", title=f"9 start-up with {RUNS} runs in the library",
        ours=median(ours), baseline=median(base), unit="s", target="<= 1.3x",
        check=lambda _o, _b, r: r <= 1.3, baseline_label="empty library",
        reps={f"{RUNS} runs (s)": ours, "empty (s)": base})]

    page_ours: list[float] = []
    page_base: list[float] = []
    servers = []
    try:
        for data in (full, empty):
            proc, port = procs.launch("app.py", {"KLING_DATA_DIR": str(data),
                                                 "KLING_LIBRARY_SCOPE": "all",
                                                 "GRADIO_TEMP_DIR": str(ctx.tmp / "lib-gradio")},
                                      log=ctx.tmp / "library.log")
            procs.wait_http_200(f"http://127.0.0.1:{port}/", proc)
            servers.append((proc, f"http://127.0.0.1:{port}/"))
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                        headless=True)
            _page_load(browser, servers[1][1], "0 runs", 0)  # warm the browser
            for i in range(ctx.reps(5, 1)):
                order = [(servers[0][1], f"{RUNS} runs", 12, page_ours),
                         (servers[1][1], "0 runs", 0, page_base)]
                for url, text, n, bucket in order if i % 2 == 0 else order[::-1]:
                    bucket.append(_page_load(browser, url, text, n))
                    ctx.log(f"library page load {text}: {bucket[-1]:.2f} s")
            browser.close()
    finally:
        for proc, _url in servers:
            procs.stop(proc)
    figures.append(Figure(
        name="library-page", title=f"10 page load to the library shown, {RUNS} runs",
        ours=median(page_ours), baseline=median(page_base), unit="s", target="<= 1.3x",
        check=lambda _o, _b, r: r <= 1.3, baseline_label="empty library",
        reps={f"{RUNS} runs (s)": page_ours, "empty (s)": page_base},
        notes=["The grid shows the newest 60 runs; 'shown' means the totals read 500 runs and "
               "the first 12 posters have loaded."]))
    return figures
