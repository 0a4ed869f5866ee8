"""Compensation (saga rollback): when a run fails, the ``on_rollback`` handlers of the tasks
that succeeded in it run in reverse order of completion, on the run's executor, and their
outcomes are events of the run."""

from __future__ import annotations

from pathlib import Path

import pytest
import rollback_pipeline as rp
from ledger_notes import notes

import legato
from legato import CachePolicy, RollbackState, RunState, task
from legato.errors import DefinitionError, ParameterError
from legato.model.codec import event_from_dict, event_to_dict
from legato.model.errors import ErrorInfo, ErrorKind
from legato.model.events import RollbackPlanned, RollbackTransitioned
from legato.testing import EventRecorder, check_history


def _steps(ledger: Path) -> list[str]:
    return [f"{words[0]} {words[1]}" for words in notes(ledger)]


def test_handlers_undo_succeeded_tasks_in_reverse_order(executor: str, ledger: Path) -> None:
    recorder = EventRecorder()
    result = legato.run(rp.saga, executor=executor, listeners=[recorder])

    assert result.state is RunState.FAILED
    assert result.record.reason == "failed: explode; rolled back 2 tasks"
    assert _steps(ledger) == [
        "do create",
        "do publish",
        "do plain",
        "do explode",
        "undo publish",  # the last to complete is the first undone
        "undo create",
    ]
    assert ["undo", "publish", "m-published", "1"] in notes(ledger)  # output, attempt
    assert list(result.rollbacks) == ["publish", "create"]
    assert all(
        c.state is RollbackState.SUCCEEDED and c.attempt == 1 for c in result.rollbacks.values()
    )
    # Tasks keep their states: the record says what ran; the rollback says what was undone.
    assert result.tasks["publish"].state is legato.TaskState.SUCCEEDED
    record = check_history(recorder.events, graph=rp.saga.graph)
    assert record.rollbacks == result.rollbacks
    kinds = [
        (type(e).__name__, getattr(e, "key", None), str(getattr(e, "state", "")))
        for e in recorder.events
        if isinstance(e, RollbackPlanned | RollbackTransitioned)
    ]
    assert kinds == [
        ("RollbackPlanned", None, ""),
        ("RollbackTransitioned", "publish", "started"),
        ("RollbackTransitioned", "publish", "succeeded"),
        ("RollbackTransitioned", "create", "started"),
        ("RollbackTransitioned", "create", "succeeded"),
    ]


def test_every_item_of_a_map_is_undone(ledger: Path) -> None:
    result = legato.run(rp.saga_map, executor="inline")

    assert result.state is RunState.FAILED
    assert sorted(result.rollbacks) == ["create", "item[0]", "item[1]", "item[2]"]
    undone = [words[1] for words in notes(ledger, "undo")]
    assert sorted(undone) == ["create", "item0", "item1", "item2"]
    # Inline runs them in plan order; they are undone the other way round.
    assert undone == ["create", "item2", "item1", "item0"]


def test_a_succeeded_run_rolls_nothing_back(ledger: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEGATO_TEST_NO_EXPLOSION", "1")
    result = legato.run(rp.saga, executor="inline")
    assert result.ok
    assert result.rollbacks == {}
    assert notes(ledger, "undo") == []


def test_a_cancelled_run_rolls_nothing_back(ledger: Path) -> None:
    @task
    def stop(_: object) -> None:
        raise KeyboardInterrupt  # Ctrl-C inside an inline task: the run is cancelled

    @legato.pipeline
    def cancelled() -> None:
        stop(rp.create("m"))

    result = legato.run(cancelled, executor="inline", store=False)
    assert result.state is RunState.CANCELLED
    assert result.rollbacks == {}
    assert notes(ledger, "undo") == []


def test_a_cache_hit_did_nothing_and_is_not_undone(
    ledger: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEGATO_TEST_NO_EXPLOSION", "1")
    assert legato.run(rp.saga_cached, executor="inline").ok
    monkeypatch.delenv("LEGATO_TEST_NO_EXPLOSION")

    result = legato.run(rp.saga_cached, executor="inline", refresh="explode")

    assert result.tasks["cached_create"].cache_hit is not None
    assert result.tasks["publish"].cache_hit is None  # a task with a handler is not cached
    assert list(result.rollbacks) == ["publish"]
    assert [w[1] for w in notes(ledger, "undo")] == ["publish"]


def test_a_task_with_a_handler_is_not_cached_unless_asked() -> None:
    assert rp.create.options.cache.enabled is False
    assert rp.plain.options.cache.enabled is True
    assert rp.cached_create.options.cache == CachePolicy()
    assert rp.create.with_options(cache=True).options.cache.enabled is True


def test_a_failing_handler_is_recorded_the_others_still_run_and_resume_retries_it(
    ledger: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = legato.run(rp.saga_fragile, executor="threads")

    assert result.state is RunState.FAILED
    assert result.record.reason == "failed: explode; rollback incomplete: fragile failed"
    fragile = result.rollbacks["fragile"]
    assert fragile.state is RollbackState.FAILED
    assert fragile.error is not None
    assert "registry is unreachable" in fragile.error.message
    assert result.rollbacks["create"].state is RollbackState.SUCCEEDED

    monkeypatch.setenv("LEGATO_TEST_UNDO_WORKS", "1")
    again = legato.resume(result.run_id, pipeline=rp.saga_fragile)

    assert again.state is RunState.FAILED
    assert again.record.reason == "failed: explode; rolled back 2 tasks"
    assert again.rollbacks["fragile"].attempt == 2
    assert again.rollbacks["create"].attempt == 1  # completed: not run again
    assert [w[1:] for w in notes(ledger, "undo")] == [
        ["fragile", "m", "1"],
        ["create", "m", "1"],
        ["fragile", "m", "2"],
    ]
    assert [w[1] for w in notes(ledger, "do")] == ["create", "fragile", "explode"]

    with pytest.raises(ParameterError, match="rolled back"):
        legato.resume(result.run_id, pipeline=rp.saga_fragile)


def test_a_run_with_no_store_rolls_back_from_live_outputs(ledger: Path) -> None:
    result = legato.run(rp.saga, executor="threads", store=False)
    assert result.record.reason == "failed: explode; rolled back 2 tasks"
    assert [w[1] for w in notes(ledger, "undo")] == ["publish", "create"]


def test_bad_handlers_are_refused_at_definition() -> None:
    def f() -> None: ...

    def no_params() -> None: ...

    with pytest.raises(DefinitionError, match="on_rollback of task 'f' must be a function"):
        task(on_rollback=42)(f)  # type: ignore[arg-type]
    with pytest.raises(DefinitionError, match="cannot be called with the task's output"):
        task(on_rollback=no_params)(f)
    with pytest.raises(DefinitionError, match="cannot be called with the task's output"):
        task(f).with_options(on_rollback=no_params)


def test_rollback_events_round_trip_through_the_codec() -> None:
    events = [
        RollbackPlanned(run_id="r", seq=7, at=1.0, keys=("b", "a[0]"), reason="failed: x"),
        RollbackTransitioned(
            run_id="r", seq=8, at=2.0, key="b", state=RollbackState.STARTED, attempt=1
        ),
        RollbackTransitioned(
            run_id="r",
            seq=9,
            at=3.0,
            key="b",
            state=RollbackState.FAILED,
            attempt=1,
            reason="boom",
            error=ErrorInfo.of(ErrorKind.RAISED, "boom"),
            ran_for=0.5,
        ),
    ]
    assert [event_from_dict(event_to_dict(e)) for e in events] == events


def test_ctrl_c_during_rollback_cancels_and_resume_finishes_it(ledger: Path) -> None:
    interrupted: list[str] = []

    def undo_once(output: object, ctx: legato.RollbackContext) -> None:
        if not interrupted:
            interrupted.append(ctx.key)
            raise KeyboardInterrupt  # Ctrl-C while the handler runs (inline)
        rp.note("undo", ctx.key, output, ctx.attempt)

    step = rp.create.with_options(name="step", on_rollback=undo_once)

    @legato.pipeline
    def stopped() -> None:
        rp.explode(step("m"))

    result = legato.run(stopped, executor="inline")

    assert result.state is RunState.CANCELLED
    assert "during rollback; rollback incomplete: step failed" in result.record.reason
    assert result.rollbacks["step"].state is RollbackState.FAILED

    again = legato.resume(result.run_id, pipeline=stopped, executor="inline")

    assert again.state is RunState.FAILED
    assert again.record.reason == "failed: explode; rolled back 1 task"
    assert notes(ledger, "undo") == [["undo", "step", "m", "2"]]
