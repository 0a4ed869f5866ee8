"""Order-only edges at run time: a task named in ``after=`` has succeeded before the task
starts, on every executor; its failure blocks the task as a failed input would; and it is
no input: the cache key does not read it."""

from __future__ import annotations

from pathlib import Path

import ordered_pipelines as ordered
from ledger_notes import notes

import legato
from legato.config import load_settings
from legato.engine.storage import open_storage
from legato.model.events import TaskTransitioned
from legato.model.states import TaskState
from legato.testing import check_history


def _seq(events: list[object], key: str, state: TaskState) -> int:
    return next(
        e.seq
        for e in events
        if isinstance(e, TaskTransitioned) and e.key == key and e.state is state
    )


def test_a_task_starts_after_what_it_runs_after_on_every_executor(
    executor: str, ledger: Path
) -> None:
    result = legato.run(ordered.ordered, executor=executor)
    assert result.ok, result.failures()
    assert result.output == 3
    events = list(open_storage(load_settings()).runs.read_events(result.run_id))
    check_history(events, graph=ordered.ordered.graph)
    assert _seq(events, "write_table", TaskState.SUCCEEDED) < _seq(
        events, "count_rows", TaskState.RUNNING
    )
    assert [n[0] for n in notes(ledger)] == ["write_table", "count_rows"]


def test_a_forward_after_and_a_mapped_after(executor: str, ledger: Path) -> None:
    result = legato.run(ordered.forward_after, executor=executor)
    assert result.ok, result.failures()
    assert result.output == 2
    mapped = legato.run(ordered.mapped_after, executor=executor)
    assert mapped.output == [10, 20, 30]
    lines = [n[0] for n in notes(ledger)]
    assert lines[:2] == ["write_table", "count_rows"]
    assert lines[2] == "write_table"
    assert lines[3:] == ["scale"] * 3


def test_a_failed_target_blocks_the_task(ledger: Path) -> None:
    (ledger.parent / "TABLE_FAILS").touch()
    result = legato.run(ordered.ordered, executor="threads")
    assert not result.ok
    assert result.tasks["write_table"].state is TaskState.FAILED
    assert result.tasks["count_rows"].state is TaskState.UPSTREAM_FAILED
    assert notes(ledger, "count_rows") == []
    events = list(open_storage(load_settings()).runs.read_events(result.run_id))
    check_history(events, graph=ordered.ordered.graph)  # blocked by what it runs after


def test_the_target_is_not_part_of_the_cache_key(ledger: Path) -> None:
    first = legato.run(ordered.ordered, executor="inline")
    again = legato.run(ordered.ordered, executor="inline")
    assert first.ok
    assert again.ok
    # Both unchanged: both reused (the order-only edge reads no value to compare).
    assert again.tasks["count_rows"].cache_hit == first.run_id
    assert again.tasks["write_table"].cache_hit == first.run_id
