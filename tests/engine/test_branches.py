"""Branches, trigger rules and finally blocks run on every executor: the branch whose
condition holds runs, the other ends ``skipped`` (and so does what reads only skipped work);
tasks with a trigger rule get a FailedInput for an input that did not succeed; a finally
block runs after its block on success, failure and cancellation, and its own failure is
reported beside the original one. Every run's events pass the checker of event rules, and
folding them again gives the same states."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import branch_pipelines as bp
import pytest
from ledger_notes import notes, wait_for_note

import legato
from legato import RunState, TaskState
from legato.engine.reducer import fold
from legato.engine.result import RunResult
from legato.model.events import TaskTransitioned
from legato.testing import EventRecorder, check_history

S, SK = TaskState.SUCCEEDED, TaskState.SKIPPED


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


def states(result: RunResult) -> dict[str, TaskState]:
    return {k: t.state for k, t in result.tasks.items()}


def test_the_branch_whose_condition_holds_runs_and_the_other_is_skipped(executor: str) -> None:
    result = run(bp.deploy_if_better, executor, new=0.9, baseline=0.8)
    assert result.state is RunState.SUCCEEDED, result.tasks
    assert result.output == "DEPLOYED 0.9"
    got = states(result)
    assert {k: got[k] for k in ("when", "deploy", "tell", "one_of")} == dict.fromkeys(
        ("when", "deploy", "tell", "one_of"), S
    )
    assert got["otherwise"] is SK
    assert got["keep"] is SK
    assert "branch not taken" in result.tasks["otherwise"].reason


def test_otherwise_runs_when_the_condition_is_false(executor: str) -> None:
    result = run(bp.deploy_if_better, executor, new=0.5, baseline=0.8)
    assert result.state is RunState.SUCCEEDED
    assert result.output == "kept 0.8"
    got = states(result)
    assert got["when"] is SK
    assert got["deploy"] is SK
    assert got["tell"] is SK
    assert got["otherwise"] is S
    assert got["keep"] is S
    assert "input 'when' skipped" in result.tasks["deploy"].reason


@pytest.mark.parametrize(
    ("value", "output", "ran"),
    [
        (20.0, "BIG", "tell"),
        (5.0, "MEDIUM", "tell_2"),
        (2.0, "SMALL", "tell_3"),
        (0.5, "TINY", "tell_4"),
    ],
)
def test_chained_and_nested_conditions_take_exactly_one_way(
    value: float, output: str, ran: str
) -> None:
    result = run(bp.chained, "inline", value=value)
    assert result.output == output
    tells = {k: s for k, s in states(result).items() if k.startswith("tell")}
    assert tells == {k: S if k == ran else SK for k in tells}


def test_chained_conditions_on_threads_and_processes(executor: str) -> None:
    assert run(bp.chained, executor, value=5.0).output == "MEDIUM"


@pytest.mark.usefixtures("ledger")
def test_a_condition_may_be_an_item_of_an_output(executor: str) -> None:
    assert run(bp.indexed_condition, executor, new=0.9).output == "RETRAIN"
    assert run(bp.indexed_condition, executor, new=0.1).output == "KEEP"


def test_a_map_inside_a_branch_runs_or_is_skipped_as_a_whole(executor: str) -> None:
    taken = run(bp.map_in_branch, executor, new=0.9)
    assert taken.output == ["A", "B"]
    assert states(taken)["tell[0]"] is S
    assert states(taken)["keep"] is SK
    other = run(bp.map_in_branch, executor, new=0.1)
    assert other.output == "kept 0.1"
    assert states(other)["tell"] is SK
    assert not any(k.startswith("tell[") for k in other.tasks)  # never expanded


def test_a_rerun_reuses_the_cache_and_decides_its_branch_again(ledger: Path) -> None:
    first = run(bp.deploy_if_better, "threads", new=0.9, baseline=0.8)
    again = run(bp.deploy_if_better, "threads", new=0.9, baseline=0.8)
    assert again.output == first.output == "DEPLOYED 0.9"
    hits = {k for k, t in again.tasks.items() if t.cache_hit == first.run_id}
    assert hits == {"score", "beats", "deploy", "tell"}
    # the decisions are never cached: decided again from the cached condition
    assert states(again)["when"] is S
    assert states(again)["otherwise"] is SK
    assert states(again)["keep"] is SK
    assert [w[0] for w in notes(ledger)] == ["score", "beats", "deploy", "tell"]
    # another baseline: the condition runs again and the other branch is taken
    other = run(bp.deploy_if_better, "threads", new=0.9, baseline=0.95)
    assert other.output == "kept 0.95"
    assert states(other)["deploy"] is SK


def test_a_trigger_task_gets_failed_inputs_as_values(executor: str, ledger: Path) -> None:
    result = run(bp.triggered, executor)
    assert result.state is RunState.FAILED
    assert states(result)["report"] is S
    assert states(result)["alert"] is S
    assert result.tasks["explode"].state is TaskState.FAILED
    # each names the failed input, how it ended, why, and the exception's class
    assert notes(ledger, "report") == [["report", "0.9|explode_failed_raised"]]
    assert notes(ledger, "alert") == [["alert", "explode:_builtins.ValueError_bad_value_0.9"]]


def test_any_failed_is_skipped_when_nothing_failed(executor: str) -> None:
    result = run(bp.nothing_failed, executor)
    assert result.state is RunState.SUCCEEDED
    assert states(result)["alert"] is SK
    assert result.tasks["alert"].reason == "no input failed"


def test_a_skipped_input_reaches_an_all_done_task_as_a_failed_input(executor: str) -> None:
    result = run(bp.skipped_into_trigger, executor, new=0.1)
    assert result.state is RunState.SUCCEEDED
    assert result.output == ["0.1", "deploy skipped skipped"]
    result = run(bp.skipped_into_trigger, executor, new=0.9)
    assert result.output == ["0.9", "'deployed 0.9'"]


def test_a_pipeline_whose_join_was_skipped_has_no_output_and_says_which_branch(
    executor: str,
) -> None:
    # the same answer whatever order the branches end in on this executor
    result = run(bp.no_otherwise, executor, value=0.5)  # neither condition holds
    assert result.state is RunState.SUCCEEDED  # a skip is a decision, not a failure
    assert states(result)["one_of"] is SK
    with pytest.raises(legato.OutputSkippedError) as caught:
        _ = result.output
    err = caught.value
    assert not isinstance(err, KeyError)
    assert err.task == "one_of"
    assert err.because == (
        "none of the branches it joins ran (the first: 'tell' was skipped because branch "
        "'when' was not taken (the condition was False))"
    )
    assert f"run {result.run_id} of pipeline 'no_otherwise' succeeded" in str(err)
    assert "legato.otherwise()" in err.fix
    assert "result.tasks['one_of'].state" in err.fix
    assert result.skipped_output() is not None
    assert run(bp.no_otherwise, executor, value=5.0).output == "MEDIUM"


def test_a_skipped_part_of_the_output_is_named_with_the_tasks_the_skip_went_through() -> None:
    result = run(bp.reads_skipped_join, "inline", value=0.5)
    assert result.state is RunState.SUCCEEDED
    with pytest.raises(legato.OutputSkippedError) as caught:
        _ = result.output
    assert caught.value.task == "tell_3"
    assert caught.value.because == (
        "branch 'when' was not taken (the condition was False), through 'tell' and 'one_of'"
    )
    done = run(bp.reads_skipped_join, "inline", value=20.0)
    assert done.skipped_output() is None
    assert done.output == {"value": 20.0, "told": "BIG"}


@pytest.mark.parametrize(
    ("new", "output"), [(0.9, ["deployed 0.9", "HIGH"]), (0.1, ["kept 0.1", "LOW"])]
)
def test_a_sub_pipeline_s_chain_leaves_its_caller_s_chain_as_it_was(
    new: float, output: list[str]
) -> None:
    assert run(bp.chain_around_a_call, "inline", new=new).output == output


def test_a_finally_block_runs_after_success(executor: str) -> None:
    result = run(bp.with_finally, executor)
    assert result.state is RunState.SUCCEEDED
    assert result.output == "clean ok ok"


def test_a_finally_block_runs_after_a_failure_and_sees_it(executor: str, ledger: Path) -> None:
    result = run(bp.finally_after_failure, executor)
    assert result.state is RunState.FAILED
    got = states(result)
    assert got["explode"] is TaskState.FAILED
    assert got["deploy"] is TaskState.UPSTREAM_FAILED
    assert got["cleanup"] is S
    assert notes(ledger, "cleanup") == [["cleanup", "clean_deploy=upstream_failed_explode=failed"]]


def test_a_resume_keeps_the_decision_and_runs_the_finally_block_again(
    executor: str, ledger: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flag = tmp_path / "flag"
    flag.touch()
    monkeypatch.setenv("LEGATO_TEST_FLAG", str(flag))
    first = run(bp.resumed_finally, executor)
    assert first.state is RunState.FAILED
    got = states(first)
    assert got["flaky"] is TaskState.FAILED
    assert got["otherwise"] is SK
    assert got["keep"] is SK
    assert got["one_of"] is TaskState.UPSTREAM_FAILED
    assert notes(ledger, "cleanup") == [["cleanup", "clean_one_of=upstream_failed"]]
    flag.unlink()
    recorder = EventRecorder()
    again = legato.resume(first.run_id, executor=executor, listeners=[recorder])
    assert again.state is RunState.SUCCEEDED
    assert again.output == "clean ok"
    got = states(again)
    # the branch was decided before the crash and is not decided again
    assert got["otherwise"] is SK
    assert got["keep"] is SK
    assert again.tasks["when"].attempt == 1
    assert again.tasks["otherwise"].attempt == 1
    assert {k for k, _ in _moved(recorder)} == {"flaky", "one_of", "cleanup"}
    # the finally block ran again, after the flaky task that ran again
    assert notes(ledger, "cleanup")[-1] == ["cleanup", "clean_ok"]
    assert [w[0] for w in notes(ledger)].count("beats") == 1


def _moved(recorder: EventRecorder) -> set[tuple[str, str]]:
    return {(e.key, e.state.value) for e in recorder.events if isinstance(e, TaskTransitioned)}


def test_a_mapped_task_with_a_trigger_hands_each_item_the_failed_input(executor: str) -> None:
    result = run(bp.mapped_trigger, executor)
    assert result.state is RunState.FAILED  # explode failed
    assert states(result)["describe[0]"] is S
    assert states(result)["describe"] is S


def test_a_failing_finally_is_reported_beside_the_original_failure(executor: str) -> None:
    result = run(bp.failing_finally, executor)
    assert result.state is RunState.FAILED
    got = states(result)
    assert got["explode"] is TaskState.FAILED
    assert got["broken_cleanup"] is TaskState.FAILED
    reason = result.record.reason
    assert "explode" in reason
    assert "broken_cleanup" in reason


def test_a_finally_block_runs_after_fail_fast(executor: str) -> None:
    recorder = EventRecorder()
    result = legato.run(
        bp.finally_after_failure,
        {},
        executor=executor,
        failure_policy="fail_fast",
        listeners=[recorder],
    )
    check_history(recorder.events, graph=bp.finally_after_failure.graph)
    assert states(result)["cleanup"] is S


@pytest.mark.parametrize("executor", ["threads", "processes"])  # inline runs the task on the caller
def test_a_finally_block_runs_when_the_run_is_cancelled(executor: str, ledger: Path) -> None:
    recorder = EventRecorder()
    handle = legato.start(
        bp.cancelled_finally, {"seconds": 30.0}, executor=executor, listeners=[recorder]
    )
    wait_for_note(ledger, "sleepy", timeout=30)  # cancel once the slow task runs
    handle.cancel()
    result = handle.wait(timeout=30)
    check_history(recorder.events, graph=bp.cancelled_finally.graph)
    assert result.state is RunState.CANCELLED
    assert states(result)["sleepy"] is TaskState.CANCELLED
    assert states(result)["cleanup"] is S
    assert notes(ledger, "cleanup") == [["cleanup", "clean_sleepy=cancelled"]]
