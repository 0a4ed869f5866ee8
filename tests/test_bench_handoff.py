"""How the benchmark report turns the hand-off's runs into its figure: legato's hand-off is
each run's time outside its own tasks (their ``ran_for``), the median over the runs, against
``np.save`` + ``np.load(mmap_mode="r")`` of the reference. The tasks' time is taken from the
same run because the producer's first touches of its array cost 0.1 to 2.5 s or 0.08 s,
whatever the machine freed just before (see ``benchmarks/findings.md``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))  # the benchmarks package of the root
from benchmarks.measure import Measured, Process
from benchmarks.report import Results, handoff_figures

SIZE = 2**30


def _measured(*benches: dict[str, Any]) -> Measured:
    return Measured(
        runs=[Process(wall_s=1.0, peak_rss_mb=1.0, exit=0, bench=bench) for bench in benches]
    )


def _results(**legato: Measured) -> Results:
    results = Results()
    results.cases[("handoff", SIZE, "plain", "sqlite", "")] = _measured(
        {"save_s": 0.5, "mmap_s": 0.004, "fsync_s": 0.3, "compute_s": 0.08},
        {"save_s": 0.7, "mmap_s": 0.006, "fsync_s": 0.3, "compute_s": 0.08},
    )
    for executor, measured in legato.items():
        results.cases[("handoff", SIZE, executor, "sqlite", "")] = measured
    return results


def test_the_hand_off_is_each_runs_time_outside_its_tasks() -> None:
    # Run by run: 3.0 - 2.5 = 0.5, 1.0 - 0.1 = 0.9, 2.0 - 0.5 = 1.5: the median is 0.9, not
    # the difference of the medians (2.0 - 0.5) nor the run less the reference's compute_s.
    processes = _measured(
        {"run_s": 3.0, "tasks_s": 2.5},
        {"run_s": 1.0, "tasks_s": 0.1},
        {"run_s": 2.0, "tasks_s": 0.5},
    )
    threads = _measured(
        {"run_s": 1.5, "tasks_s": 0.6},
        {"run_s": 1.1, "tasks_s": 0.1},
        {"run_s": 1.2, "tasks_s": 0.9},
    )

    figures = handoff_figures(_results(processes=processes, threads=threads))

    assert figures is not None
    assert figures["reference_s"] == pytest.approx(0.605)
    assert figures["handoff_s"] == pytest.approx(0.9)
    assert figures["ratio"] == pytest.approx(0.9 / 0.605)
    assert figures["threads_handoff_s"] == pytest.approx(0.9)
    assert figures["compute_s"] == pytest.approx(0.08)  # shown, not subtracted


def test_runs_without_their_tasks_time_give_no_figure() -> None:
    processes = _measured({"run_s": 3.0}, {"run_s": 1.0})

    assert handoff_figures(_results(processes=processes)) is None
