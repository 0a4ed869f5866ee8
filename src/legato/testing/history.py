"""Recorded histories: a run's events as plain data, and a check that a history is well formed.

A history saved from a real run (``save_history``) is a fixture for replay tests: folding it
again must give the same final states, whatever later changes the engine. ``check_history``
verifies what holds for *every* valid run, so it can be pointed at any run of any pipeline::

    recorder = EventRecorder()
    legato.run(my_pipeline, executor="inline", clock=FakeClock(), listeners=[recorder])
    check_history(recorder.events, graph=my_pipeline.graph)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from legato.define.graph import Graph, Node
from legato.engine.lanes import unroll
from legato.engine.reducer import fold
from legato.model.codec import event_from_dict, event_to_dict
from legato.model.events import (
    Event,
    MapExpanded,
    RollbackPlanned,
    RollbackTransitioned,
    RunStarted,
    RunTransitioned,
    TaskTransitioned,
)
from legato.model.items import item_keys
from legato.model.records import RunRecord
from legato.model.rollback import RollbackState
from legato.model.states import (
    RUN_TRANSITIONS,
    TASK_OK,
    TASK_TERMINAL,
    TASK_TRANSITIONS,
    RunState,
    TaskState,
)
from legato.model.triggers import Trigger

__all__ = ["InvalidHistoryError", "check_history", "load_history", "save_history"]


class InvalidHistoryError(AssertionError):
    """A history breaks a rule every run's events follow. An ``AssertionError`` so that test
    runners report it as a failed check."""


def save_history(events: Iterable[Event], path: str | Path) -> None:
    """Write ``events`` to ``path``: a JSON list of the store's event payloads
    (:func:`legato.model.codec.event_to_dict`, versioned per event), one event per line."""
    lines = ",\n".join(json.dumps(event_to_dict(e), sort_keys=True) for e in events)
    Path(path).write_text(f"[\n{lines}\n]\n", encoding="utf-8")


def load_history(path: str | Path) -> list[Event]:
    """The events :func:`save_history` wrote to ``path``."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValueError(f"{path}: a history is a JSON list of events")
    return [event_from_dict(d) for d in data]


# --------------------------------------------------------------------------- invariants


_FAILURES = frozenset({TaskState.FAILED, TaskState.TIMED_OUT, TaskState.UPSTREAM_FAILED})
"""How an input ends when its dependents end ``upstream_failed`` (a cancel is no failure)."""


def _node_of(key: str, planned: Mapping[str, object]) -> str:
    """The planned task ``key`` is (a step of a mapped sub-pipeline is planned per item,
    ``per_file.score[a]``) or the map it is an item of."""
    if key in planned or not key.endswith("]"):
        return key
    return key.rsplit("[", 1)[0]


def check_history(
    events: Sequence[Event], *, graph: Graph | None = None, complete: bool = True
) -> RunRecord:
    """Check that ``events`` form a valid run and return the run they fold into.

    Always checked: the run starts with ``RunStarted``; sequence numbers count up from 1
    without gaps; the run's and every task's transitions follow the transition tables (so
    a task reaches a terminal state at most once); tasks move only while the run is running
    or cancelling, and start only while it is running; attempts are numbered from 1 and a
    new one begins only when a retry becomes ready; a retry wait says when it ends; a map
    expands once, when its group starts, and its group ends only after its items (and
    succeeds only if they all did). With ``complete`` (the default) the run and every task
    must have ended, the run succeeded exactly when every task did. Given the pipeline's
    ``graph`` (as the run planned it: a mapped sub-pipeline per item), a task (or map item)
    may become ready or start only after every task it waits for (``Node.upstream``: what it
    reads, its ``after=``, its branches' decisions, what its ``finally_()`` follows) has
    succeeded (ended, for a task with a trigger rule), a task ends ``upstream_failed`` only
    when one of them failed, timed out or was itself ``upstream_failed`` (a cancelled input
    cancels its dependents), ``skipped`` only when one of them was skipped (or it decides a
    branch that was not taken, or nothing failed for ``any_failed``), and only a task of a
    ``finally_()`` block starts while the run is cancelling. A run whose tasks all succeeded
    or were skipped succeeded.
    A rollback is planned once, while the run rolls back, over tasks that succeeded; each
    compensation moves only then, starts before it ends and is final once it succeeded; a
    complete run that failed ran every compensation it planned.

    Raises :class:`InvalidHistoryError` naming the first event at fault.
    """
    if not events:
        raise InvalidHistoryError("empty history: a run starts with a RunStarted event")
    first = events[0]
    if not isinstance(first, RunStarted):
        raise InvalidHistoryError(f"history starts with {type(first).__name__}, not RunStarted")
    checker = _Checker(first, graph)
    for position, event in enumerate(events, start=1):
        checker.check(event, position)
    if complete:
        checker.check_complete()
    record = fold(events)
    folded = {k: t.state for k, t in record.tasks.items()}
    if folded != checker.states or record.state is not checker.run_state:
        raise InvalidHistoryError("folding the events disagrees with the transitions they make")
    return record


def _fail(event: Event, problem: str) -> InvalidHistoryError:
    return InvalidHistoryError(f"event {event.seq} ({type(event).__name__}): {problem}")


class _Checker:
    """Where a history stands after each event it was given: the run's state and every
    task's, attempts, maps and their items, the rollback's compensations. ``check`` takes
    the next event and raises at the first rule it breaks."""

    def __init__(self, first: RunStarted, graph: Graph | None) -> None:
        self.first = first
        self.states: dict[str, TaskState] = {}
        self.attempts: dict[str, int] = {}
        self.mapped: set[str] = set()
        self.expanded: dict[str, list[str]] = {}  # group -> its items
        self.compensations: dict[str, RollbackState] = {}  # the rollback's keys -> states
        self.run_state = RunState.PENDING
        # As the run planned it: a mapped sub-pipeline per item.
        self.graph = unroll(graph, first.params) if graph is not None else None
        self.nodes: Mapping[str, Node] = self.graph.nodes if self.graph is not None else {}

    def check(self, event: Event, position: int) -> None:
        if event.seq != position:
            raise _fail(event, f"sequence number {event.seq}, expected {position}")
        if event.run_id != self.first.run_id:
            raise _fail(event, f"belongs to run {event.run_id}, not {self.first.run_id}")
        if self.run_state.is_terminal:
            raise _fail(event, f"comes after the run ended {self.run_state}")
        if isinstance(event, RunStarted):
            self._run_started(event, position)
        elif isinstance(event, RunTransitioned):
            if event.state not in RUN_TRANSITIONS[self.run_state]:
                raise _fail(event, f"run {self.run_state} -> {event.state} is not a transition")
            self.run_state = event.state
        elif isinstance(event, MapExpanded):
            self._map_expanded(event)
        elif isinstance(event, TaskTransitioned):
            self._task_transitioned(event)
        elif isinstance(event, RollbackPlanned):
            if self.run_state is not RunState.ROLLING_BACK or self.compensations:
                raise _fail(event, f"a rollback planned while the run was {self.run_state}")
            for key in event.keys:
                if self.states.get(key) is not TaskState.SUCCEEDED:
                    raise _fail(event, f"rolls back {key!r}, which did not succeed")
                self.compensations[key] = RollbackState.PLANNED
        elif isinstance(event, RollbackTransitioned):
            _check_compensation(event, self.run_state, self.compensations, _fail)
        else:
            raise _fail(event, "unknown event type")

    def _run_started(self, event: RunStarted, position: int) -> None:
        if position != 1:
            raise _fail(event, "a second RunStarted")
        for planned in event.tasks:
            self.states[planned.key] = TaskState.PENDING
            self.attempts[planned.key] = 1
            if planned.mapped:
                self.mapped.add(planned.key)
        if self.graph is not None and set(self.states) != set(self.graph.nodes):
            raise _fail(event, "its planned tasks are not the graph's nodes")

    def _map_expanded(self, event: MapExpanded) -> None:
        if event.key not in self.mapped or event.key in self.expanded:
            raise _fail(event, f"{event.key!r} is not a mapped task waiting to expand")
        if self.states[event.key] is not TaskState.RUNNING:
            raise _fail(event, f"{event.key!r} expanded while {self.states[event.key]}")
        if event.keys and len(event.keys) != event.count:
            raise _fail(event, f"{event.count} items but {len(event.keys)} item keys")
        self.expanded[event.key] = item_keys(event.key, event.count, event.keys)
        for item in self.expanded[event.key]:
            self.states[item] = TaskState.READY
            self.attempts[item] = 1

    def _task_transitioned(self, event: TaskTransitioned) -> None:
        key, new, states = event.key, event.state, self.states
        if key not in states:
            raise _fail(event, f"unknown task {key!r}")
        old = states[key]
        if new not in TASK_TRANSITIONS[old]:
            raise _fail(event, f"task {key!r}: {old} -> {new} is not a transition")
        expected = self.attempts[key]
        if old is TaskState.RETRY_WAIT and new is TaskState.READY:
            expected += 1  # the next attempt begins
        if event.attempt != expected:
            raise _fail(event, f"task {key!r} {new} in attempt {event.attempt}, not {expected}")
        if self.run_state not in (RunState.RUNNING, RunState.CANCELLING):
            raise _fail(event, f"task {key!r} moved while the run was {self.run_state}")
        final = key in self.nodes and self.nodes[key].final  # a finally_() block runs on cancel
        if new is TaskState.RUNNING and self.run_state is not RunState.RUNNING and not final:
            raise _fail(event, f"task {key!r} started while the run was {self.run_state}")
        if key in self.expanded and new in TASK_TERMINAL:
            items = self.expanded[key]
            left = [k for k in items if states[k] not in TASK_TERMINAL]
            if left:
                raise _fail(event, f"group {key!r} ended {new} before its items {left}")
            if new is TaskState.SUCCEEDED and any(
                states[k] is not TaskState.SUCCEEDED for k in items
            ):
                raise _fail(event, f"group {key!r} succeeded but not all its items did")
        if new is TaskState.RETRY_WAIT and event.retry_at is None:
            raise _fail(event, f"task {key!r} waits for a retry without a retry time")
        if self.graph is not None:
            node = self.nodes.get(_node_of(key, self.nodes))
            _check_dependencies(event, states, node, _fail)
        states[key] = new
        self.attempts[key] = event.attempt

    def check_complete(self) -> None:
        """The run and every task ended, and the run's outcome agrees with its tasks'."""
        run_state, states = self.run_state, self.states
        if run_state is RunState.FAILED:
            ended = (RollbackState.SUCCEEDED, RollbackState.FAILED)
            left = [k for k, c in self.compensations.items() if c not in ended]
            if left:
                raise InvalidHistoryError(f"the run failed without running compensations {left}")
        if not run_state.is_terminal:
            raise InvalidHistoryError(f"the run ended {run_state}, not in a terminal state")
        open_tasks = {k: str(s) for k, s in states.items() if s not in TASK_TERMINAL}
        if open_tasks:
            raise InvalidHistoryError(f"tasks left non-terminal: {open_tasks}")
        all_succeeded = all(s in TASK_OK for s in states.values())
        if run_state is RunState.SUCCEEDED and not all_succeeded:
            raise InvalidHistoryError("the run succeeded but not every task did")
        if run_state is RunState.FAILED and all_succeeded:
            raise InvalidHistoryError("the run failed but every task succeeded")


def _check_compensation(
    event: RollbackTransitioned,
    run_state: RunState,
    compensations: dict[str, RollbackState],
    fail: Callable[[Event, str], InvalidHistoryError],
) -> None:
    # A compensation starts from planned (or, on resume, from failed or started) and ends
    # succeeded or failed; it moves only while the run rolls back; a completed one is final.
    key = event.key
    old = compensations.get(key)
    if old is None:
        raise fail(event, f"{key!r} is not part of the run's rollback")
    if run_state is not RunState.ROLLING_BACK:
        raise fail(event, f"compensation of {key!r} moved while the run was {run_state}")
    if old is RollbackState.SUCCEEDED:
        raise fail(event, f"compensation of {key!r} moved after it succeeded")
    if event.state is RollbackState.STARTED:
        pass
    elif event.state in (RollbackState.SUCCEEDED, RollbackState.FAILED):
        if old is not RollbackState.STARTED and event.error is None:
            raise fail(event, f"compensation of {key!r} ended {event.state} before it started")
    else:
        raise fail(event, f"compensation of {key!r} moved back to {event.state}")
    compensations[key] = event.state


def _check_dependencies(
    event: TaskTransitioned,
    states: Mapping[str, TaskState],
    node: Node | None,
    fail: Callable[[Event, str], InvalidHistoryError],
) -> None:
    key = event.key
    inputs = node.upstream if node is not None else ()
    trigger = node.trigger if node is not None else Trigger.ALL_SUCCEEDED
    if event.state is TaskState.RUNNING or (
        event.state is TaskState.READY and states[key] is TaskState.PENDING
    ):
        if trigger is Trigger.ALL_SUCCEEDED:
            waiting = [up for up in inputs if states[up] is not TaskState.SUCCEEDED]
            if waiting:
                raise fail(
                    event, f"task {key!r} {event.state} before its inputs {waiting} succeeded"
                )
        else:  # a trigger rule: every input ended, however
            waiting = [up for up in inputs if states[up] not in TASK_TERMINAL]
            if waiting:
                raise fail(event, f"task {key!r} {event.state} before its inputs {waiting} ended")
    elif event.state is TaskState.SKIPPED:
        if states[key] is TaskState.RUNNING:
            if node is not None and node.role != "branch":
                raise fail(event, f"task {key!r} skipped while running but decides no branch")
        elif trigger is not Trigger.ANY_FAILED and not any(
            states[up] is TaskState.SKIPPED for up in inputs
        ):
            raise fail(event, f"task {key!r} skipped but no input of it was skipped")
    elif event.state is TaskState.UPSTREAM_FAILED:
        failed = [up for up in inputs if states[up] in _FAILURES]
        if not failed:
            raise fail(event, f"task {key!r} upstream_failed but no input of it failed")
