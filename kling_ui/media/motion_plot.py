"""The motion report's plot (issue #13, made legible in #24): both clips' horizontal and
vertical motion over the output's time, drift shaded, scene cuts marked.

Drawn once with matplotlib (Agg, imported only here) into two files: a PNG for the API (with
its legend) and an SVG beside it for the page, which scales to any width with crisp lines and
carries no words (the page writes the legend in the visitor's language; matplotlib here has no
CJK font). The y-axis follows a robust scale: a scene cut's flow spike (hundreds of % of the
frame per second in one pair) is clipped and marked, so it cannot flatten the real curves.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .motion import FPS, MotionReport

ORIGINAL_COLOUR = "#4059ad"
OUTPUT_COLOUR = "#e07a1f"
DRIFT_COLOUR = "#f4a3a3"
CUT_COLOUR = "#6b6b6b"
SCALE_PERCENTILE = 99  # the y-axis spans this percentile of |motion| (both clips) ...
SCALE_HEADROOM = 1.2  # ... with this headroom
MIN_SCALE = 2.0  # % of the frame per second: near-still clips are not blown up into noise
CUT_TIMES_SCALE = 2.5  # a pair moving this many times the scale is a cut (or a flash)


def robust_scale(*curves: np.ndarray) -> float:
    """The y-limit (in % frame/s) that shows the curves' ordinary motion in full."""
    values = np.abs(np.concatenate([c.reshape(-1) for c in curves if len(c)] or [np.zeros(1)]))
    return max(MIN_SCALE, float(np.percentile(values * 100, SCALE_PERCENTILE)) * SCALE_HEADROOM)


def cuts(curve: np.ndarray, scale: float) -> list[int]:
    """Frame pairs whose motion (either axis, % frame/s) jumps far past the scale: scene cuts."""
    if not len(curve):
        return []
    peak = np.abs(curve * 100).max(axis=1)
    return [int(i) for i in np.flatnonzero(peak > CUT_TIMES_SCALE * scale)]


def plot_report(report: MotionReport, path: str, *,
                labels: Sequence[str] = ("Original", "Kling O1")) -> str:
    """Write the PNG at `path` (legend included) and the SVG beside it (`.svg`); returns `path`."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    scale = robust_scale(report.curve_original, report.curve_output)
    shift = report.offset_s or 0.0  # draw the original where it lines up with the output
    speed = report.speed_ratio if report.speed_fitted and report.speed_ratio else 1.0
    # A sped-up output shows the original's second t at t / speed.
    t_o = ((np.arange(len(report.curve_original)) + 0.5) / FPS) / speed + shift
    t_p = (np.arange(len(report.curve_output)) + 0.5) / FPS
    with plt.rc_context({"font.size": 12, "svg.fonttype": "path",
                         "svg.hashsalt": Path(path).stem}):
        fig, axes = plt.subplots(2, 1, figsize=(5.2, 3.4), dpi=110, sharex=True)
        for k, (ax, name) in enumerate(zip(axes, ("\u2194", "\u2195"), strict=True)):
            for a, b in report.drift:
                ax.axvspan(a, b, color=DRIFT_COLOUR, alpha=0.5, lw=0)
            for times, curve, colour, style in ((t_o, report.curve_original, ORIGINAL_COLOUR, "-"),
                                                (t_p, report.curve_output, OUTPUT_COLOUR, "--")):
                for i in cuts(curve, scale):
                    ax.axvline(times[i], color=CUT_COLOUR, lw=1.0, ls=":")
                ax.plot(times, np.clip(curve[:, k] * 100, -scale, scale), color=colour, lw=1.6,
                        ls=style)
            ax.axhline(0, color="#999", lw=0.6)
            ax.set_ylim(-scale, scale)
            ax.set_ylabel(f"{name} %/s", fontsize=12)
            ax.tick_params(labelsize=11)
            ax.margins(x=0)
        axes[-1].set_xlabel("s", fontsize=11, labelpad=1)
        fig.tight_layout(pad=0.4, h_pad=0.3)
        fig.savefig(str(Path(path).with_suffix(".svg")), format="svg")
        axes[0].legend([labels[0], labels[1]], fontsize=9, loc="upper right", ncol=2,
                       framealpha=0.8)
        fig.savefig(path, format="png")
        plt.close(fig)
    return path


def inline_svg(png_path: str | None) -> str | None:
    """The SVG drawn beside `png_path`, ready to sit in a page: no fixed size (it fills its box,
    which keeps its aspect), or None when there is none (a run measured before #24)."""
    if not png_path:
        return None
    svg = Path(png_path).with_suffix(".svg")
    if not svg.is_file():
        return None
    text = svg.read_text(encoding="utf-8")
    start = text.find("<svg")
    if start < 0:
        return None
    head_end = text.find(">", start)
    head = re.sub(r'\s(width|height)="[^"]*"', "", text[start:head_end])
    return (head + ' style="width:100%;height:auto;display:block" role="img"'
            + text[head_end:])
