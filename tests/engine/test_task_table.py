"""The task table lets go of the instances that succeeded: a run of a million tasks keeps
no entry for them to its end, and its dicts do not stay at the size they grew to."""

from __future__ import annotations

import sys

import legato
from legato.engine.plan import build_plan
from legato.engine.scheduler.tasks import GroupEntry, TaskTable
from legato.model.states import TaskState


@legato.task
def _numbers(n: int) -> list[int]:
    return list(range(n))


@legato.task
def _double(x: int) -> int:
    return 2 * x


@legato.pipeline
def _mapped() -> list[int]:
    return _double.map(_numbers(3))


def _table() -> tuple[TaskTable, GroupEntry]:
    plan = build_plan(_mapped.graph, {})
    table = TaskTable(plan)
    group = next(e for e in table.entries.values() if isinstance(e, GroupEntry))
    return table, group


def test_succeeded_items_leave_the_table_failed_and_cancelled_ones_stay() -> None:
    table, group = _table()
    items = [table.add_item(group, i) for i in range(10_000)]
    planned = len(table.entries) - len(items)
    full = sys.getsizeof(table.entries)
    for i, item in enumerate(items):
        state = {3: TaskState.FAILED, 7: TaskState.CANCELLED}.get(i, TaskState.SUCCEEDED)
        closed = table.close(item, state)
        assert closed.group is (group if i == len(items) - 1 else None)
    assert set(table.entries) - {e.key for e in table.entries.values() if e.group is None} == {
        items[3].key,
        items[7].key,
    }
    assert len(table.entries) == planned + 2
    assert all(table[item.key] is item for item in (items[3], items[7]))
    assert (group.remaining, group.failed, group.cancelled) == (0, 1, 1)
    assert len(group.children) == len(items)  # the group still lists every item, in order
    assert not any(item.key in table.open for item in items)
    # Copied to smaller dicts on the way, not left at the size 10,000 keys needed
    assert sys.getsizeof(table.entries) < full / 3
    assert sys.getsizeof(table.open) < full / 3


def test_a_small_map_is_not_copied_around() -> None:
    table, group = _table()
    items = [table.add_item(group, i) for i in range(100)]
    entries = table.entries
    for item in items:
        table.close(item, TaskState.SUCCEEDED)
    assert table.entries is entries
    assert len(entries) == len(table.entries)


def test_a_planned_task_that_succeeded_leaves_the_table_after_telling_its_users() -> None:
    table, group = _table()
    numbers = table["_numbers"]
    closed = table.close(numbers, TaskState.SUCCEEDED)
    assert closed.ready == (group,)  # the map waited for it
    assert "_numbers" not in table.entries
    assert "_numbers" not in table.open


def test_a_planned_task_that_failed_stays_in_the_table() -> None:
    table, group = _table()
    numbers = table["_numbers"]
    closed = table.close(numbers, TaskState.FAILED)
    assert closed.blocked == (group,)
    assert table["_numbers"] is numbers
