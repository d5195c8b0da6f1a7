"""`python -m bench [--quick] [--only NAME ...] [--out PATH]`: run the figures, print the table.

A full run (no --quick, no --only) writes bench/RESULTS.md; `--only NAME` (not --quick) replaces
that figure's rows and sections in it; other runs write only with --out.
Media go in a temp dir that is deleted at the end (--keep keeps it and says where).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from importlib import metadata
from pathlib import Path

from . import media
from .context import Ctx
from .stats import (
    Figure,
    failed_figure,
    markdown_table,
    met_text,
    percentile,
    reps_text,
    text_table,
)

# name -> (module, title and target used when the module fails before returning figures)
FIGURES = {
    "job": ("bench.job", "1 job overhead vs replicate", "<= 0.5x"),
    "probe": ("bench.probe_cost", "2 probe cost vs ffmpeg -i", "<= 1.5x, flat"),
    "upload": ("bench.upload_mem", "3 upload peak RSS growth", "< 32 MiB"),
    "doctor": ("bench.doctor", "4 doctor 4K60 -> 1080p", "<= 1.5x real time"),
    "load": ("bench.load", "5 cheap endpoint p95 under load", "< 150 ms, none lost"),
    "absurd": ("bench.absurd", "14 cheap endpoint p95 during absurd requests", "< 500 ms"),
    "startup": ("bench.startup", "6 start-up to first HTTP 200", "<= 1.3x"),
    "join": ("bench.join", "7 join 3 clips -> 1080p24", "<= 0.5x real time"),
    "cards": ("bench.upload_card", "8 upload end -> card / playable preview", "<= 1 s / <= 4 s"),
    "library": ("bench.library", "9-10 library with 500 runs: start-up, page load", "<= 1.3x"),
    "motion": ("bench.motion_report", "11 motion report, 10 s 1080p pair", "<= 0.5x real time"),
    "splice": ("bench.splice", "12 splice back, 20 s 1080p original", "<= 1x real time"),
    "busy": ("bench.page_busy", "13 page main thread busy: load, run, reload", "<= 0.25x"),
    "lighthouse": ("bench.lighthouse_page", "16 Lighthouse performance vs a bare Gradio page",
                   ">= 0.95x"),
    "compare": ("bench.comparison", "15 comparison export, 5 s 1080p pair side by side",
                "<= 2x real time"),
}
RESULTS = Path(__file__).with_name("RESULTS.md")


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _meminfo_gib() -> str:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    return "?"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def _busy(info: dict[str, str]) -> bool:
    """Whether the 1-minute load average, at start or end, exceeded the usable cores."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    loads = [v.split()[0] for k, v in info.items() if k.startswith("load average")]
    try:
        return any(float(x) > (cores or 1) for x in loads)
    except ValueError:
        return False


def machine() -> dict[str, str]:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": f"{usable} (of {os.cpu_count()})",
        "RAM": _meminfo_gib(),
        "CPU": _cpu_model(),
        "OS": platform.platform(),
        "python": platform.python_version(),
        "gradio": _version("gradio"),
        "gradio_client": _version("gradio_client"),
        "httpx": _version("httpx"),
        "replicate": _version("replicate"),
        "ffmpeg": media.ffmpeg_version(),
        "load average at start (1/5/15 min)": _loadavg(),
    }


def run_figures(ctx: Ctx, names: list[str]) -> list[Figure]:
    figures: list[Figure] = []
    for name in names:
        module_name, title, target = FIGURES[name]
        ctx.log(f"== {name}")
        t0 = time.monotonic()
        try:
            module = importlib.import_module(module_name)
            got = module.run(ctx)
        except Exception as exc:  # noqa: BLE001 - one broken figure must not hide the others
            traceback.print_exc()
            got = [failed_figure(name, title, target, f"{type(exc).__name__}: {exc}")]
        ctx.log(f"== {name} took {time.monotonic() - t0:.0f} s")
        figures.extend(got)
    return figures


def results_markdown(figures: list[Figure], info: dict[str, str], *, quick: bool,
                     seconds: float) -> str:
    lines = ["# Benchmark results", "",
             f"`python -m bench{' --quick' if quick else ''}`, {seconds:.0f} s in all. "
             "Every figure is measured against its baseline in the same run; values are medians "
             "of the repetitions listed below. Regenerate with `python -m bench`.", "",
             "## Machine", ""]
    lines += [f"- {k}: {v}" for k, v in info.items()]
    if _busy(info):
        lines += ["", "The load average was above the number of cores: other processes shared the "
                  "CPU during this run, so time figures are noisier (and slower) than on an idle "
                  "machine; the repetitions below show the spread."]
    lines += ["", "## Summary", "", markdown_table(figures), "", "## Every figure", ""]
    for f in figures:
        lines += figure_section(f)
    return "\n".join(lines)


def figure_section(f: Figure) -> list[str]:
    """One figure's section of RESULTS.md: its target, repetitions and notes."""
    lines = [f"### {f.title}", "", f"- target {f.target}: **{met_text(f.met)}**"]
    if f.error:
        lines.append(f"- not measured: {f.error}")
    for label, values in f.reps.items():
        if len(values) > 30:  # a distribution: summarise it
            lines.append(f"- {label}: n={len(values)}, p50 {percentile(values, 50):.1f}, "
                         f"p95 {percentile(values, 95):.1f}, max {max(values):.1f}")
        else:
            lines.append(f"- {label}: {reps_text(values)}")
    lines += [f"- {note}" for note in f.notes]
    lines.append("")
    return lines


def merge_results(text: str, figures: list[Figure], prefixes: list[str], stamp: str) -> str:
    """RESULTS.md with the rows and sections of the figures whose titles start with one of
    `prefixes` replaced by `figures` (a `--only` run), the rest as it was."""
    lines = text.splitlines()
    rows = markdown_table(figures).splitlines()[2:]
    sections = [line for f in figures for line in figure_section(f)]
    sections.insert(2, f"- measured {stamp}")
    out: list[str] = []
    placed_rows = placed_sections = skipping = False
    for line in lines:
        if line.startswith(("### ", "## ")):
            skipping = line.startswith("### ") and line[4:].startswith(tuple(prefixes))
            if skipping and not placed_sections:
                out += sections
                placed_sections = True
        if skipping:
            continue
        if line.startswith("| ") and line[2:].startswith(tuple(prefixes)):
            if not placed_rows:
                out += rows
                placed_rows = True
            continue
        out.append(line)
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="fewer repetitions and smaller files: a smoke run")
    parser.add_argument("--only", action="append", choices=sorted(FIGURES), metavar="NAME",
                        help=f"run only this figure (repeatable): {', '.join(FIGURES)}")
    parser.add_argument("--out", type=Path, help="write the Markdown results here")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir of media")
    args = parser.parse_args(argv)
    names = args.only or list(FIGURES)
    out = args.out or (RESULTS if not args.quick and not args.only else None)

    tmp = Path(tempfile.mkdtemp(prefix="kling-bench-"))
    ctx = Ctx(quick=args.quick, tmp=tmp)
    info = machine()
    t0 = time.monotonic()
    try:
        figures = run_figures(ctx, names)
    finally:
        if args.keep:
            print(f"media kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    seconds = time.monotonic() - t0
    info["load average at end (1/5/15 min)"] = _loadavg()
    print(text_table(figures))
    print(f"\n{seconds:.0f} s; load average {info['load average at start (1/5/15 min)']} at "
          f"start, {info['load average at end (1/5/15 min)']} at end")
    if out:
        out.write_text(results_markdown(figures, info, quick=args.quick, seconds=seconds) + "\n")
        print(f"wrote {out}")
    elif args.only and not args.quick and RESULTS.exists():
        # `--only NAME`: its figures replace their own rows and sections in RESULTS.md.
        # Each figure's rows start with its number ("16 total blocking time, ..."): the new
        # figures' numbers, and the title's first two words for a figure that failed outright.
        prefixes = [" ".join(FIGURES[n][1].split()[:2]) for n in names]
        prefixes += sorted({f.title.split()[0] + " " for f in figures})
        stamp = (f"{info['date']} with `python -m bench --only {' --only '.join(names)}`, "
                 f"load average {info['load average at start (1/5/15 min)']} at start")
        RESULTS.write_text(merge_results(RESULTS.read_text(), figures, prefixes, stamp) + "\n")
        print(f"updated {RESULTS}")
    return 0 if all(f.met is not False for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
