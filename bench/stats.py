"""Pure helpers: medians, percentiles, ratios, figures, and the text/Markdown tables.

No clock, file or process here, so `tests/test_bench.py` can check them in milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


def median(values: Sequence[float]) -> float:
    """The median; NaN for no values (a figure that could not be measured)."""
    xs = sorted(values)
    if not xs:
        return math.nan
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear-interpolated percentile (numpy's default method); NaN for no values."""
    xs = sorted(values)
    if not xs:
        return math.nan
    if len(xs) == 1:
        return xs[0]
    rank = (len(xs) - 1) * min(max(pct, 0.0), 100.0) / 100.0
    lo = math.floor(rank)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (rank - lo)


def ratio(ours: float, theirs: float) -> float:
    """ours / theirs; NaN when either is missing or the baseline is zero."""
    if math.isnan(ours) or math.isnan(theirs) or theirs == 0:
        return math.nan
    return ours / theirs


def fmt(value: float, unit: str = "") -> str:
    """A compact human number: 3 significant digits, '-' for NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if abs(value) >= 100:
        text = f"{value:.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip() if unit else text


@dataclass
class Figure:
    """One row of the table: our value, the baseline, and a target that decides `met`.

    `check(ours, baseline, ratio)` returns True/False; None means not measured. `reps` keeps
    every repetition (name -> list of values) for RESULTS.md; `notes` are extra lines there.
    """

    name: str
    title: str
    ours: float
    baseline: float
    unit: str
    target: str
    check: Callable[[float, float, float], bool]
    baseline_label: str = ""
    reps: dict[str, list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def ratio(self) -> float:
        return ratio(self.ours, self.baseline)

    @property
    def met(self) -> bool | None:
        if self.error or math.isnan(self.ours):
            return None
        return bool(self.check(self.ours, self.baseline, self.ratio))


def failed_figure(name: str, title: str, target: str, error: str) -> Figure:
    """A row for a figure that raised: shown as not measured, with the reason."""
    return Figure(name, title, math.nan, math.nan, "", target, lambda *_: False, error=error)


def met_text(met: bool | None) -> str:
    return {True: "yes", False: "NO", None: "n/a"}[met]


HEADERS = ("figure", "ours", "baseline", "ratio", "target", "met?")


def rows(figures: Sequence[Figure]) -> list[tuple[str, ...]]:
    out = []
    for f in figures:
        out.append((
            f.title,
            fmt(f.ours, f.unit),
            fmt(f.baseline, f.unit) + (f" ({f.baseline_label})" if f.baseline_label else ""),
            "-" if math.isnan(f.ratio) else f"{f.ratio:.2f}x",
            f.target,
            met_text(f.met),
        ))
    return out


def text_table(figures: Sequence[Figure]) -> str:
    """A fixed-width table for the terminal."""
    body = rows(figures)
    widths = [max(len(r[i]) for r in [HEADERS, *body]) for i in range(len(HEADERS))]
    line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()  # noqa: E731
    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(HEADERS), sep, *(line(r) for r in body)])


def markdown_table(figures: Sequence[Figure]) -> str:
    body = rows(figures)
    esc = lambda c: c.replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in body]
    return "\n".join(lines)


def reps_text(values: Sequence[float], unit: str = "") -> str:
    """'median M (n=N: a, b, c)' for RESULTS.md."""
    shown = ", ".join(fmt(v) for v in values)
    return f"median {fmt(median(values), unit)} (n={len(values)}: {shown})"
