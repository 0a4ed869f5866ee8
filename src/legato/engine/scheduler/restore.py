"""Continuing a recorded run: what a resume keeps and what it runs again.

Succeeded tasks keep their stored outputs and are not run again, unless their output is
damaged; skipped tasks stay skipped (a branch not taken is a committed decision, and what
waits for them is settled by it again); a task with a trigger rule (a ``finally_()``
block's) that succeeded runs again when an input it ran after runs again, since it ran on
how that input ended; every other task starts a new attempt (the rules
allow a reopen only while ``ctx.resuming``, of a succeeded task only if it is in
``ctx.damaged``). The stored outputs
and the damaged ones come in already resolved (:mod:`legato.engine.stored`): reading a
manifest or checking an artifact is I/O, which the scheduler leaves to its driver.
"""

from __future__ import annotations

from collections.abc import Mapping

from legato.engine.binding import MapError
from legato.engine.scheduler.flow import Flow
from legato.engine.scheduler.tasks import GroupEntry, TaskEntry
from legato.model.artifacts import shape_of_ref
from legato.model.records import RunRecord, TaskRecord
from legato.model.states import RunState, TaskState
from legato.model.triggers import Trigger
from legato.model.values import Gathered, Stored, StoredItems, Value

__all__ = ["restore", "shape"]


def shape(value: Value) -> tuple[int | None, tuple[int | None, ...] | None]:
    """What maps need to know of a stored output without loading it."""
    if isinstance(value, StoredItems):
        return len(value.items), None
    if isinstance(value, Stored):
        return shape_of_ref(value.ref)
    return None, None


def restore(
    flow: Flow,
    record: RunRecord,
    values: Mapping[str, Value],
    damaged: Mapping[str, str],
) -> None:
    """Make ``record`` the run's state and reopen what did not succeed. ``values`` holds
    the readable stored outputs of succeeded planned tasks, by key; ``damaged`` the tasks
    and map items that succeeded but whose stored output cannot be used, with why (they run
    again)."""
    ledger = flow.ledger
    table = flow.table
    ledger.run = record
    ledger.seq = record.last_seq
    finished = record.state is RunState.SUCCEEDED  # only its outputs are wanted
    if not finished:
        ledger.run_state(RunState.RUNNING, "resumed")
    ledger.ctx.resuming = True
    tasks = record.tasks
    nodes = flow.plan.nodes
    done: set[str] = set()
    skipped: set[str] = set()
    again = dict(damaged)
    for key in nodes:  # in order: inputs before their users
        recorded = tasks[key]
        if recorded.state is TaskState.SKIPPED:
            # A committed decision (a branch not taken): never decided again.
            del table.open[key]
            skipped.add(key)
            continue
        if recorded.state is not TaskState.SUCCEEDED or key in damaged:
            continue
        node = nodes[key]
        if node.trigger is not Trigger.ALL_SUCCEEDED and any(
            up not in done and up not in skipped for up in node.upstream
        ):
            # It ran on how its inputs ended (a finally block, a report): some of them run
            # again, so it runs again after them.
            again[key] = "an input it ran after runs again"
            continue
        value = _recorded_value(record, table[key], recorded, values)
        if value is None:
            continue
        flow.inputs.keep(key, value, *shape(value))
        del table.open[key]
        done.add(key)
    ledger.ctx.damaged = frozenset(again)
    ready: list[TaskEntry] = []
    for key, node in nodes.items():
        if key in done or key in skipped or finished:
            continue
        entry = table[key]
        entry.waiting = sum(1 for up in node.upstream if up not in done and up not in skipped)
        unmet = {up: TaskState.SKIPPED for up in node.upstream if up in skipped}
        entry.unmet = unmet or None
        recorded = tasks[key]
        if isinstance(entry, GroupEntry) and recorded.items is not None and entry.waiting == 0:
            _restore_group(flow, entry, recorded, damaged)
            continue
        flow.transition(
            entry, TaskState.PENDING, recorded.attempt + 1, reason=_why(key, again), reopen=True
        )
        if entry.waiting == 0:
            ready.append(entry)
    ledger.ctx.resuming = False
    ledger.ctx.damaged = frozenset()
    for entry in ready:
        flow.inputs_ready(entry)


def _recorded_value(
    record: RunRecord, entry: TaskEntry, recorded: TaskRecord, values: Mapping[str, Value]
) -> Value | None:
    """The stored output of a task that succeeded before, or None (run it again)."""
    if entry.node.mapped is None:
        return values.get(entry.key)
    items: list[Value] = []
    for i in range(recorded.items or 0):
        child = record.tasks.get(entry.node.item_key(i))
        if child is None or child.output is None:
            return None
        items.append(Stored(child.output))
    return Gathered(tuple(items))


def _why(key: str, damaged: Mapping[str, str]) -> str:
    """The reason a reopened task records."""
    why = damaged.get(key)
    return "resumed" if why is None else f"resumed: {why}; running it again"


def _restore_group(
    flow: Flow, group: GroupEntry, recorded: TaskRecord, damaged: Mapping[str, str]
) -> None:
    """A map that expanded before: its items that succeeded stay, the others run again."""
    count, group.map_positions, group.map_names = flow.inputs.map_length(group.node)
    if count != recorded.items:
        raise MapError(
            f"{group.key} had {recorded.items} items when the run started but its inputs "
            f"now give {count}; start a new run"
        )
    if recorded.state is not TaskState.RUNNING:
        flow.transition(
            group,
            TaskState.RUNNING,
            recorded.attempt + 1,
            reason=_why(group.key, damaged),
            reopen=True,
        )
    tasks = flow.ledger.run.tasks
    for i in range(count):
        before = tasks[group.node.item_key(i)]  # resume checked that the items are the same
        done = (
            before.state is TaskState.SUCCEEDED
            and before.output is not None
            and before.key not in damaged
        )
        item = flow.table.add_item(group, i, open_=not done)
        if done:
            assert before.output is not None
            flow.inputs.keep(item.key, Stored(before.output), *shape_of_ref(before.output))
            continue
        flow.transition(
            item, TaskState.READY, before.attempt + 1, reason=_why(item.key, damaged), reopen=True
        )
        flow.became_ready(item)
    if group.remaining == 0:
        flow.finish_group(group)
