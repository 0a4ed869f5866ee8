"""How ``benchmarks/ray_compare.py`` turns the Ray hand-off's marks into its row: legato's
figure is each run's gap less the artifact write timed in that same run, the median over the
runs, against raw Ray's gap; a run whose marks are missing or out of order gives no figure,
and no figure is ever met. A write timed in another process once took 1.5 s beside a whole
gap of 0.59 s (memory the virtual machine had handed back to its host)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))  # the benchmarks package of the root
from benchmarks import ray_handoff
from benchmarks.ray_compare import GIB, handoff_row


def _legato(write: float, after: float, *, at: float = 100.0) -> dict[str, float]:
    """One legato run's marks: the write starts as the producer returns and the consumer
    starts ``after`` seconds after it ended (outcome, commit, submit in between)."""
    ended = at + write
    return {
        "produced": at,
        "write_began": at,
        "write_ended": ended,
        "packed": ended,
        "returned": ended + after * 0.1,
        "collected": ended + after * 0.8,
        "committed": ended + after * 0.9,
        "submit": ended + after * 0.93,
        "began": ended + after * 0.95,
        "consumed": ended + after,
    }


def _raw(gap: float) -> dict[str, float]:
    return {"produced": 50.0, "consumed": 50.0 + gap}


def test_each_run_loses_its_own_write_before_the_median() -> None:
    # Gaps 2.6, 0.9, 3.4 less writes 2.5, 0.6, 3.2 are 0.1, 0.3, 0.2: the median is 0.2, not
    # the median gap less the median write (2.6 - 2.5).
    legato = [_legato(2.5, 0.1), _legato(0.6, 0.3), _legato(3.2, 0.2)]
    raw = [_raw(0.2), _raw(0.4), _raw(0.17)]

    f = ray_handoff.figures(raw, legato)

    assert f.problem == ""
    assert f.raw_gap == pytest.approx(0.2)
    assert f.legato_gap == pytest.approx(2.6)
    assert f.write == pytest.approx(2.5)
    assert f.start == pytest.approx(0.2)
    assert f.ratio == pytest.approx(1.0)
    assert f.rest == pytest.approx(0.02)
    assert f.stored == pytest.approx(0.14)
    assert f.committed == pytest.approx(0.02)
    assert f.submitted == pytest.approx(0.006)
    assert f.leased == pytest.approx(0.004)
    assert f.loaded == pytest.approx(0.01)
    assert f.met

    row = handoff_row(f, GIB)
    assert row.raw == pytest.approx(0.2)
    assert row.legato == pytest.approx(0.2)
    assert row.met
    assert "less its artifact write timed in the same run (2.500 s)" in row.note


def test_over_the_budget_is_not_met() -> None:
    f = ray_handoff.figures([_raw(0.1)], [_legato(1.0, 0.13)])

    assert f.ratio == pytest.approx(1.3)
    assert not f.met
    assert not handoff_row(f, GIB).met


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        # the write stamped as ending after the consumer started: not the write of this gap
        ({"write_ended": 200.0}, "packed before write_ended"),
        # no write stamped (the workers' hook did not run): the gap alone says nothing
        ({"write_began": None, "write_ended": None}, "no write_began, write_ended"),
    ],
)
def test_marks_missing_or_out_of_order_give_no_figure(
    change: dict[str, float | None], problem: str
) -> None:
    run = _legato(0.5, 0.1)
    for name, at in change.items():
        if at is None:
            del run[name]
        else:
            run[name] = at

    f = ray_handoff.figures([_raw(0.1)], [_legato(0.5, 0.1), run])

    assert f.problem.startswith("legato's run 2: ")
    assert problem in f.problem
    assert f.start is None
    assert not f.met
    row = handoff_row(f, GIB)
    assert not row.met
    assert math.isnan(row.legato)
    assert row.note.startswith("not measured: legato's run 2")


def test_a_raw_run_out_of_order_or_none_gives_no_figure() -> None:
    assert not ray_handoff.figures([_raw(-0.1)], [_legato(0.5, 0.1)]).met
    assert ray_handoff.figures([], [_legato(0.5, 0.1)]).problem == "no raw Ray run"


def test_raw_rays_stored_array_is_shown_where_every_run_saw_it() -> None:
    # The driver's wait for the producer's object races with the consumer's start: shown,
    # never checked for order, never part of the figure.
    seen = [{**_raw(0.2), "collected": 50.25}, {**_raw(0.1), "collected": 50.05}]
    legato = [_legato(0.5, 0.1), _legato(0.5, 0.1)]

    assert ray_handoff.figures(seen, legato).raw_stored == pytest.approx(0.15)
    unseen = ray_handoff.figures([seen[0], _raw(0.1)], legato)
    assert unseen.raw_stored is None
    assert unseen.met


def test_marks_keep_the_first_of_each_name(tmp_path: Path) -> None:
    # The driver stamps ``collected`` for the producer's outcome, then for the consumer's.
    path = tmp_path / "stamps"
    path.write_text("produced 1.0\ncollected 2.0\nconsumed 3.0\ncollected 4.0\n")

    assert ray_handoff.marks(path) == {"produced": 1.0, "collected": 2.0, "consumed": 3.0}


def test_the_report_says_what_the_hand_off_figure_is_or_why_there_is_none() -> None:
    from benchmarks.report import Results, _ray_target

    measured = handoff_row(ray_handoff.figures([_raw(0.2)], [_legato(2.0, 0.1)]), GIB)
    unmeasured = handoff_row(ray_handoff.figures([_raw(0.2)], [{"produced": 1.0}]), GIB)

    met = _ray_target(Results(ray=[measured]))
    missed = _ray_target(Results(ray=[measured, unmeasured]))

    assert met.met
    assert "handoff: legato (gap less its own artifact write) 0.100 s, raw Ray 0.200 s" in (
        met.measured
    )
    assert missed.met is False
    assert "handoff: not measured: legato's run 1: no write_began" in missed.measured
