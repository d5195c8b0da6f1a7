"""Figure 13: how busy the page keeps the browser's main thread (clicks wait while it is).

Headless Chromium records every long task (> 50 ms of main-thread work) with the Long Tasks
API. The figure is the busy share of a window: long-task time / the window's wall time, a ratio
of two times measured together, so a slow machine moves both. Three windows, each in a fresh
page of one browser:

- load: the 15 s from opening the page (an empty library);
- run: from pressing Run on a Text prompt to "Done" (the simulator's 6 s model);
- reload: the 15 s from reloading that page, which shows its finished run again.

Before this figure, Gradio's frontend kept a loading page busy for ~20 s: each message it
receives updates the loading state of every component any event has written, each found by a
walk of the whole tree, and the page fired 29 events at load and one message every 0.5 s while
a run was watched (kling_ui/ui/common.py, Changes).
"""

from __future__ import annotations

import time

from . import procs
from .context import Ctx
from .stats import Figure, median

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
WINDOW = 15.0  # seconds watched after a load or a reload
LONG_TASKS = """window.klingLongTasks = [];
new PerformanceObserver(list => {
  for (const e of list.getEntries()) window.klingLongTasks.push([e.startTime, e.duration]);
}).observe({type: 'longtask', buffered: true});"""


def _busy(page: object, since_ms: float) -> float:
    """Seconds of long tasks that started after `since_ms` (the page's performance.now())."""
    tasks = page.evaluate("window.klingLongTasks")  # type: ignore[attr-defined]
    return sum(d for s, d in tasks if s >= since_ms) / 1000


def _once(browser: object, url: str, prompt: str) -> dict[str, tuple[float, float]]:
    """(busy s, window s) for the load, the run and the reload of one fresh page."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    page.add_init_script(LONG_TASKS)
    page.set_default_timeout(120_000)
    try:
        out: dict[str, tuple[float, float]] = {}
        page.goto(url)
        time.sleep(WINDOW)
        out["load"] = (_busy(page, 0), WINDOW)
        page.locator("#prompt-text textarea").fill(prompt)
        page.locator("#tab-text .kling-ok", has_text="Ready to run").wait_for()
        start = page.evaluate("performance.now()")
        t0 = time.monotonic()
        page.locator("#text-run").click()
        page.locator("#text-progress", has_text="Done").wait_for()
        out["run"] = (_busy(page, start), time.monotonic() - t0)
        page.reload()
        time.sleep(WINDOW)
        page.locator("#text-progress", has_text="Done").wait_for()  # the run is shown again
        out["reload"] = (_busy(page, 0), WINDOW)
        return out
    finally:
        context.close()


def run(ctx: Ctx) -> list[Figure]:
    from playwright.sync_api import sync_playwright

    proc, port = procs.launch("app.py", {"KLING_DATA_DIR": str(ctx.tmp / "busy-data"),
                                         "GRADIO_TEMP_DIR": str(ctx.tmp / "busy-gradio")},
                              log=ctx.tmp / "page_busy.log")
    url = f"http://127.0.0.1:{port}/"
    got: dict[str, list[tuple[float, float]]] = {"load": [], "run": [], "reload": []}
    try:
        procs.wait_http_200(url, proc)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                        headless=True)
            for i in range(ctx.reps(3, 1)):
                # A fresh browser profile per repetition, so each load has an empty library.
                for name, value in _once(browser, url, f"A paper boat, take {i}").items():
                    got[name].append(value)
                    ctx.log(f"page busy {name}: {value[0]:.2f} s of {value[1]:.1f} s")
            browser.close()
    finally:
        procs.stop(proc)
    titles = {"load": "13 page busy, 15 s after load (empty library)",
              "run": "13 page busy during a 6 s simulated run",
              "reload": "13 page busy, 15 s after a reload showing a run"}
    return [Figure(
        name=f"page-busy-{name}", title=titles[name], ours=median([b for b, _ in values]),
        baseline=median([w for _, w in values]), unit="s", target="<= 0.25x",
        check=lambda _o, _b, r: r <= 0.25, baseline_label="wall time of the window",
        reps={"busy (s)": [b for b, _ in values], "window (s)": [w for _, w in values]},
        notes=["Long tasks (> 50 ms) on the page's main thread, from the Long Tasks API."])
        for name, values in got.items()]
