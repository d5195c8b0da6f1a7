"""The benchmark harness's pure parts: medians, percentiles, ratios, the verdict and the tables."""

from __future__ import annotations

import math

import pytest

from bench.stats import (
    Figure,
    failed_figure,
    markdown_table,
    median,
    percentile,
    ratio,
    reps_text,
    text_table,
)


@pytest.mark.parametrize(("values", "expected"), [
    ([3.0], 3.0),
    ([5.0, 1.0, 3.0], 3.0),
    ([4.0, 1.0, 3.0, 2.0], 2.5),
])
def test_median(values: list[float], expected: float) -> None:
    assert median(values) == expected


def test_median_of_nothing_is_not_a_number() -> None:
    assert math.isnan(median([]))


@pytest.mark.parametrize(("pct", "expected"), [(0, 1.0), (50, 50.5), (95, 95.05), (100, 100.0)])
def test_percentile_interpolates_like_numpy(pct: float, expected: float) -> None:
    assert percentile([float(x) for x in range(100, 0, -1)], pct) == pytest.approx(expected)


def test_ratio_guards_missing_and_zero_baselines() -> None:
    assert ratio(1.0, 4.0) == 0.25
    assert math.isnan(ratio(1.0, 0.0))
    assert math.isnan(ratio(math.nan, 2.0))


def _fig(ours: float, baseline: float) -> Figure:
    return Figure("job", "1 job overhead", ours, baseline, "s", "<= 0.5x",
                  check=lambda _o, _b, r: r <= 0.5, baseline_label="replicate")


def test_figure_verdict_follows_its_target() -> None:
    assert _fig(0.1, 0.4).met is True
    assert _fig(0.3, 0.4).met is False
    assert failed_figure("job", "1 job overhead", "<= 0.5x", "boom").met is None


def test_tables_show_every_figure_with_ratio_and_verdict() -> None:
    figures = [_fig(0.1, 0.4), _fig(0.3, 0.4),
               failed_figure("load", "5 load", "< 150 ms", "app did not start")]
    text = text_table(figures)
    assert "0.25x" in text and "yes" in text and "NO" in text and "n/a" in text
    md = markdown_table(figures).splitlines()
    assert md[0].startswith("| figure | ours | baseline | ratio | target | met? |")
    assert len(md) == 2 + len(figures)


def test_reps_text_lists_every_repetition() -> None:
    assert reps_text([1.0, 2.0, 30.0], "s") == "median 2.00 s (n=3: 1.00, 2.00, 30.0)"


def test_an_only_run_replaces_its_own_rows_and_sections_in_results() -> None:
    """`python -m bench --only job` (issue #22) swaps figure 1's rows and sections in
    RESULTS.md for the new ones and leaves every other figure as it was."""
    from bench.__main__ import merge_results
    from bench.stats import Figure

    old = "\n".join(["# Benchmark results", "", "## Summary", "", "| figure | ours |", "|---|---|",
                     "| 1 job overhead, model 3.3 s | 0.16 s |", "| 2 probe time | 1 s |", "",
                     "## Every figure", "", "### 1 job overhead, model 3.3 s", "", "- old", "",
                     "### 2 probe time", "", "- kept", ""])
    new = Figure(name="job_40ms_3s", title="1 job overhead, 40 ms each way, model 3.3 s",
                 ours=1.0, baseline=2.0, unit="s", target="<= 1.0x",
                 check=lambda _o, _b, r: r <= 1.0, notes=["Method: a delayed link"])
    merged = merge_results(old, [new], ["1 job"], "today")
    assert "model 3.3 s | 0.16 s" not in merged and "- old" not in merged
    assert "| 1 job overhead, 40 ms each way, model 3.3 s |" in merged
    assert "### 1 job overhead, 40 ms each way" in merged and "- Method: a delayed link" in merged
    assert "| 2 probe time | 1 s |" in merged and "### 2 probe time\n\n- kept" in merged
    assert merged.index("40 ms each way, model 3.3 s |") < merged.index("| 2 probe time")
