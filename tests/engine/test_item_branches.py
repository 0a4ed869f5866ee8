"""Conditions inside mapped sub-pipelines at run time, on every executor: each item decides
its own branch, the branch not taken is skipped for that item only (and what the other
items do is untouched), the lane's join sees each item's chosen value; and a mapped
sub-pipeline inside a condition runs or is skipped as a whole. Every run's events pass the
checker of event rules (per item, as planned), and folding them again gives the same
states."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import item_branches as ib
import pytest
from ledger_notes import notes

import legato
from legato import RunState, TaskState
from legato.engine.reducer import fold
from legato.engine.result import RunResult
from legato.testing import EventRecorder, check_history

S, SK = TaskState.SUCCEEDED, TaskState.SKIPPED
DRIFTING = ("acme", "crux")
STEADY = ("bolt", "dyne")


def run(target: legato.Pipeline[..., Any], executor: str, **params: Any) -> RunResult:
    recorder = EventRecorder()
    result = legato.run(target, params, executor=executor, listeners=[recorder])
    record = check_history(recorder.events, graph=target.graph)
    assert {k: t.state for k, t in fold(recorder.events).tasks.items()} == {
        k: t.state for k, t in record.tasks.items()
    }
    assert {k: t.state for k, t in result.tasks.items()} == {
        k: t.state for k, t in record.tasks.items()
    }
    return result


def states(result: RunResult, step: str) -> dict[str, TaskState]:
    """Each item's state of a step of ``per_customer``."""
    return {c: result.tasks[f"per_customer.{step}[{c}]"].state for c in ib.CUSTOMERS}


def test_each_item_takes_its_own_branch_and_the_join_sees_its_value(
    executor: str, ledger: Path
) -> None:
    result = run(ib.every_customer, executor)
    assert result.state is RunState.SUCCEEDED, result.failures()
    assert result.output == "RETRAINED ACME;kept bolt;RETRAINED CRUX;kept dyne"
    taken = {c: S if c in DRIFTING else SK for c in ib.CUSTOMERS}
    other = {c: SK if c in DRIFTING else S for c in ib.CUSTOMERS}
    for step in ("when", "retrain", "shout", "page"):
        assert states(result, step) == taken, step
    for step in ("otherwise", "keep"):
        assert states(result, step) == other, step
    assert states(result, "one_of") == dict.fromkeys(ib.CUSTOMERS, S)
    assert "branch not taken" in result.tasks["per_customer.when[bolt]"].reason
    # the skipped branch of an item never ran; the taken one ran once for it
    assert sorted(w[1] for w in notes(ledger, "retrain")) == list(DRIFTING)
    assert sorted(w[1] for w in notes(ledger, "keep")) == list(STEADY)


def test_chained_and_nested_conditions_are_decided_per_item() -> None:
    result = run(ib.every_tier, "inline")
    assert result.output == ["retrained acme", "kept bolt", "CRUX", "kept dyne"]
    got = {k: t.state for k, t in result.tasks.items()}
    assert got["tiered.retrain[acme]"] is S
    assert got["tiered.retrain[crux]"] is SK
    # crux takes the inner `when` of otherwise_when; its otherwise is skipped
    assert got["tiered.shout[crux]"] is S
    assert got["tiered.keep[crux]"] is SK
    assert got["tiered.keep_2[bolt]"] is S
    assert got["tiered.when_2[bolt]"] is SK  # the outer branch was not taken: skipped too


def test_a_map_per_item_on_a_branch_expands_only_for_the_items_that_take_it() -> None:
    result = run(ib.every_split, "threads")
    assert result.output == [["ACME-0", "ACME-1"], "kept bolt", ["CRUX-0", "CRUX-1"], "kept dyne"]
    assert result.tasks["split_when_drifting.shout[acme][1]"].state is S
    assert result.tasks["split_when_drifting.shout[bolt]"].state is SK
    assert not any(k.startswith("split_when_drifting.shout[bolt][") for k in result.tasks)


@pytest.mark.parametrize(
    ("new", "taken", "executor"), [(0.9, True, "threads"), (0.1, False, "inline")]
)
def test_a_mapped_sub_pipeline_inside_a_condition_runs_or_is_skipped_whole(
    executor: str, new: float, taken: bool
) -> None:
    result = run(ib.lane_in_branch, executor, new=new)
    assert result.state is RunState.SUCCEEDED
    steps = {k: t.state for k, t in result.tasks.items() if k.startswith("per_customer.")}
    assert len(steps) == 9 * len(ib.CUSTOMERS)
    if taken:
        assert result.output == ["RETRAINED ACME", "kept bolt", "RETRAINED CRUX", "kept dyne"]
        assert result.tasks["keep_all"].state is SK
        assert steps["per_customer.when[acme]"] is S  # decided per item inside
        assert steps["per_customer.when[bolt]"] is SK
    else:
        assert result.output == "kept all 0.1"
        assert set(steps.values()) == {SK}  # every item of every step, without running


def test_an_item_s_own_value_may_decide_its_branch() -> None:
    result = run(ib.every_record, "inline")
    assert result.output == ["ACME", "bolt"]
    assert result.tasks["by_record.when[0]"].state is S
    assert result.tasks["by_record.when[1]"].state is SK


@pytest.mark.parametrize(("new", "output"), [(0.9, []), (0.1, "kept all 0.1")])
def test_a_mapped_sub_pipeline_of_no_items_inside_a_condition_joins_as_its_branch_says(
    new: float, output: Any
) -> None:
    # no item, so no task of the map: the join waits for the decision to know it ran
    result = run(ib.lane_in_branch, "inline", new=new, customers=[])
    assert result.state is RunState.SUCCEEDED
    assert result.output == output
    assert not any(k.startswith("per_customer.") for k in result.tasks)


def test_an_item_whose_join_was_skipped_leaves_the_output_without_a_value() -> None:
    result = run(ib.every_drifting, "inline")  # bolt and dyne take no branch
    assert result.state is RunState.SUCCEEDED
    assert result.tasks["drifting_only.one_of[acme]"].state is S
    assert result.tasks["drifting_only.one_of[bolt]"].state is SK
    with pytest.raises(legato.OutputSkippedError) as caught:
        _ = result.output
    assert caught.value.task == "drifting_only.one_of[bolt]"  # the first item without one
    assert "branch 'drifting_only.when[bolt]' was not taken" in caught.value.because
    assert run(ib.every_drifting, "inline", customers=["acme", "crux"]).output == [
        "retrained acme",
        "CRUX",
    ]
