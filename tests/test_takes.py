"""Takes (issue #14) without a browser: the cost and Run wording, the confirmation threshold,
the group and keeper in the library, the Library badge, the setting, and the sequence order."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kling_ui.core.config import load_settings
from kling_ui.library.store import Library, Run, new_run_id
from kling_ui.ui.continue_ import order_html, ordered
from kling_ui.ui.takes import (
    TakeGroup,
    TakesHandlers,
    cost_line,
    needs_confirm,
    run_label,
    take_badge,
    take_count,
    takes_total,
)
from kling_ui.ui.visitor import Session


@pytest.mark.parametrize(("value", "n"), [(1, 1), (3, 3), ("4", 4), (None, 1), ("x", 1),
                                          (0, 1), (5, 1), (2.0, 2)])
def test_the_takes_control_reads_as_one_to_four(value: object, n: int) -> None:
    assert take_count(value) == n


def test_the_cost_line_and_run_label_say_n_times_the_estimate() -> None:
    text = "Estimated cost ≈ $0.84 (5 s × $0.168/s, pro)"
    assert cost_line(text, 0.84, 1, 2.0) == f"**{text}**"
    line = cost_line(text, 0.84, 3, 2.0)
    assert line.startswith("**3 takes × $0.84 = $2.52**")
    assert "confirm" in line
    assert "confirm" not in cost_line(text, 0.84, 2, 2.0)  # $1.68: below the threshold
    assert run_label(1, 0.84) == "Run"
    assert run_label(3, 0.84) == "Run 3 takes ($2.52)"
    assert run_label(3, 0.84, armed=True) == "Run 3 takes ($2.52) - confirm"
    # No estimate yet (no video uploaded): the line stays as it is, the label has no price.
    assert cost_line("Estimated cost: upload a video to see it", 0.0, 3, 2.0).count("takes") == 0
    assert run_label(2, 0.0) == "Run 2 takes"


@pytest.mark.parametrize(("n", "cost", "threshold", "asks"), [
    (1, 5.00, 0.0, False),  # one take never asks: the tab as it always was
    (3, 0.84, 2.0, True),   # $2.52 > $2.00
    (2, 1.00, 2.0, False),  # exactly the threshold: not above it
    (2, 0.01, 0.0, True),   # 0: every multi-take run asks
])
def test_the_confirmation_is_asked_above_the_threshold(n: int, cost: float, threshold: float,
                                                       asks: bool) -> None:
    assert needs_confirm(n, cost, threshold) is asks
    assert takes_total(3, 0.84) == 2.52


def test_the_threshold_is_a_host_setting() -> None:
    assert load_settings({}).takes_confirm_usd == 2.0
    assert load_settings({"KLING_TAKES_CONFIRM_USD": "0.5"}).takes_confirm_usd == 0.5
    assert load_settings({"KLING_TAKES_CONFIRM_USD": "-3"}).takes_confirm_usd == 0.0
    with pytest.raises(ValueError, match="KLING_TAKES_CONFIRM_USD"):
        load_settings({"KLING_TAKES_CONFIRM_USD": "lots"})


def _take(lib: Library, group: str, index: int, of: int, **metrics: object) -> Run:
    return lib.create(Run(id=new_run_id(), owner="o", tab="text", status="succeeded",
                          created_at=time.time(),
                          metrics={"takes": {"group": group, "index": index, "of": of},
                                   **metrics}))


def test_one_keeper_per_group_of_takes(tmp_path: Path) -> None:
    lib = Library(tmp_path)
    takes = [_take(lib, "g1", i, 3, motion={"score": 0.5}) for i in (3, 1, 2)]
    other = _take(lib, "g2", 1, 2)
    assert [r.metrics["takes"]["index"] for r in lib.takes("g1")] == [1, 2, 3]
    assert lib.set_keeper("g1", takes[0].id)
    assert lib.set_keeper("g1", takes[1].id)  # a change of mind moves the mark
    keepers = {r.id for r in lib.takes("g1") if r.metrics.get("keeper")}
    assert keepers == {takes[1].id}
    # Other metrics stay; another group is untouched; a run of another group is refused.
    assert all(r.metrics["motion"] == {"score": 0.5} for r in lib.takes("g1"))
    assert not lib.set_keeper("g1", other.id)
    assert "keeper" not in (lib.get(other.id) or other).metrics


def test_the_library_badge_names_the_take_and_the_keeper(tmp_path: Path) -> None:
    lib = Library(tmp_path)
    take = _take(lib, "g", 2, 3)
    assert take_badge(take) == "Take 2/3"
    lib.set_keeper("g", take.id)
    kept = lib.get(take.id)
    assert kept is not None and take_badge(kept) == "★ Keeper · take 2/3"
    plain = Run(id="x", owner="o", tab="text", status="succeeded", created_at=0.0)
    assert take_badge(plain) == ""


def test_the_sequence_keeps_the_shown_order_and_adds_new_picks_last() -> None:
    assert ordered(["a", "b", "c"], "") == ["a", "b", "c"]
    assert ordered(["a", "b", "c"], "c,a,b") == ["c", "a", "b"]
    assert ordered(["a", "b", "c", "d"], "c,a,b") == ["c", "a", "b", "d"]  # d picked since
    assert ordered(["a", "c"], "c,b,a") == ["c", "a"]  # b unpicked since
    assert ordered(["a"], "zz,a,a") == ["a"]  # not picked, or twice: dropped
    assert ordered(None, "a") == []
    html = order_html([("r1", "Text · <b>x</b>"), ("r2", "Edit · y")])
    assert html.index('data-id="r1"') < html.index('data-id="r2"')
    assert "<b>x</b>" not in html and "&lt;b&gt;" in html  # labels are escaped
    assert html.count('data-move="up"') == 2


class _Runner:
    def __init__(self) -> None:
        self.running: list[str] = []

    def active(self) -> list[str]:
        return list(self.running)


class _Studio:
    """Just what the pool check reads: the settings' concurrency and the runner's active jobs."""

    def __init__(self, concurrency: int) -> None:
        self.settings = type("S", (), {"concurrency": concurrency, "takes_confirm_usd": 2.0})()
        self.runner = _Runner()

    def cancel_run(self, run_id: str) -> bool:
        return run_id in self.runner.running


def test_takes_all_join_the_studios_line_and_a_cancel_stops_those_not_started() -> None:
    # Every take is handed to the Studio at once: the Studio's own line (kling_ui.runs.pool) decides
    # which run now and which wait, and shows each waiting take its place.
    studio = _Studio(concurrency=2)
    studio.runner.running = ["someone-elses-run"]
    handlers = TakesHandlers(studio, "text", has_finish=False)
    group = TakeGroup("g", [None] * 3, 0.0)

    def start(index: int) -> str:
        studio.runner.running.append(f"take-{index}")
        return f"take-{index}"

    handlers._start_waiting(group, start)
    assert group.run_ids == ["take-1", "take-2", "take-3"]
    # Cancel: a take not started yet never starts.
    late = TakeGroup("h", ["x", None], 0.0)
    session = Session()
    handlers._groups[session] = late
    studio.runner.running = ["x", "y"]
    assert handlers.cancel(session)
    handlers._start_waiting(late, start)
    assert late.run_ids == ["x", None]


class _Priced(_Studio):
    """A Studio whose preflight prices every take at $1 and whose start is refused: far enough
    to see whether a run asks for the confirmation or goes ahead."""

    def __init__(self) -> None:
        super().__init__(concurrency=2)
        self.settings.trusted_proxies = 0

    async def preflight(self, spec: object) -> object:
        return type("P", (), {"cost_usd": 1.0})()

    def start(self, *_: object, **__: object) -> object:
        raise RuntimeError("started")


async def _asks(handlers: TakesHandlers, session: Session, spec: object) -> bool:
    try:
        async for update in handlers.run(None, session, spec, 3):  # type: ignore[arg-type]
            return "kling-warn" in str(update[0])
    except RuntimeError:
        return False  # it went ahead and started the takes
    return False


@pytest.mark.anyio
async def test_a_confirmation_holds_for_the_settings_it_was_asked_for() -> None:
    # Three $1 takes ($3) are above the $2 threshold: the first Run asks, a second Run with the
    # same settings starts them. Changed settings (even at the same price) ask again; this
    # replaced a listener on every control of every tab (issue #23: each costs the page's load).
    from kling_ui.core.jobs import JobSpec
    from kling_ui.core.models import Tab

    handlers = TakesHandlers(_Priced(), "text", has_finish=False)
    session = Session()
    a, b = JobSpec(tab=Tab.TEXT, prompt="a fox"), JobSpec(tab=Tab.TEXT, prompt="a cat")
    assert await _asks(handlers, session, a)
    assert await _asks(handlers, session, b)  # other words, same price: asked again
    assert not await _asks(handlers, session, b)  # confirmed: it starts
    assert await _asks(handlers, session, a)  # the next run asks again
