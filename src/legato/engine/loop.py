"""The scheduler loop: the one place where a run's events are made.

Synchronous and single-threaded. Each turn it waits for outcomes (or the next timer), turns
them into proposed transitions that pass the rules (:mod:`legato.engine.rules`), applies the
resulting events to the run record with the reducer, starts the ready tasks that fit the
executor's resources, hands the new events to the listeners, and only then submits the calls.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import queue
import random
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from legato._crash import crash_point
from legato.config import SecretRefs
from legato.engine import reducer, saga
from legato.engine.binding import Inputs, MapError
from legato.engine.caching import Caching, Verdict
from legato.engine.clock import Clock
from legato.engine.journal import Journal, Listener
from legato.engine.plan import Plan, PlanNode
from legato.engine.resources import Admission, ResourcePool
from legato.engine.rules import Context, InvalidTransitionError, Proposal, decide
from legato.errors import StoreError
from legato.executors.base import Executor
from legato.model.artifacts import ArtifactRef
from legato.model.calls import OutcomeKind, TaskCall, TaskOutcome
from legato.model.errors import ErrorInfo, ErrorKind
from legato.model.events import (
    Event,
    MapExpanded,
    PlannedTask,
    RollbackPlanned,
    RollbackTransitioned,
    RunStarted,
    RunTransitioned,
    TaskTransitioned,
)
from legato.model.records import RunRecord, TaskRecord
from legato.model.rollback import RollbackState
from legato.model.specs import FailurePolicy
from legato.model.states import RUN_TRANSITIONS, RunState, TaskState
from legato.model.tracking import Tracked
from legato.model.values import Arg, Gathered, Stored, StoredItems, Value
from legato.runtime.data import items_of_manifest, shape_of_ref
from legato.runtime.logs import LogSink, capture_in_process, release_in_process
from legato.runtime.tracking import Destination, release_tracking, track_in_process
from legato.store.base import ArtifactStore

__all__ = ["Listener", "Loop"]

log = logging.getLogger("legato.engine")

_WAKE: Any = object()
_RETRY = 0
_DEADLINE = 1
_HEARTBEAT = 2
_BATCH_EVENTS = 1000
_BATCH_AGE_S = 0.02
"""A turn's events are committed at the latest when this many wait, or this old."""
_PULSE_S = 0.5
"""How often a durable run wakes to stream captured output and check its heartbeat."""
_FAILED_STATES = frozenset({TaskState.FAILED, TaskState.TIMED_OUT})
_WRITTEN_OFF = frozenset({TaskState.TIMED_OUT, TaskState.CANCELLED})


class _Task:
    """Loop-private bookkeeping of one task instance (a node, or one item of a map)."""

    __slots__ = (
        "bound",
        "cache_key",
        "cache_parts",
        "cache_reason",
        "cancelled",
        "children",
        "failed",
        "group",
        "index",
        "key",
        "map_names",
        "map_positions",
        "node",
        "remaining",
        "waiting",
    )

    def __init__(self, key: str, node: PlanNode, index: int | None = None) -> None:
        self.key = key
        self.node = node
        self.index = index
        self.waiting = len(node.upstream) if index is None else 0
        self.group: _Task | None = None
        # For the group record of a mapped node:
        self.children: list[str] = []
        self.remaining = 0
        self.failed = 0
        self.cancelled = 0
        self.map_positions: frozenset[int] = frozenset()
        self.map_names: frozenset[str] = frozenset()
        # Set when the cache was consulted (or the task first started):
        self.bound: tuple[tuple[Arg, ...], tuple[tuple[str, Arg], ...]] | None = None
        self.cache_key: str | None = None
        self.cache_parts: dict[str, str] | None = None
        self.cache_reason = ""


class _Call:
    """A submitted call until its outcome arrives."""

    __slots__ = ("attempt", "gpu_ids", "stopping", "task")

    def __init__(self, task: _Task, attempt: int, gpu_ids: tuple[int, ...]) -> None:
        self.task = task
        self.attempt = attempt
        self.gpu_ids = gpu_ids
        self.stopping = False


class Loop:
    """Runs one plan on one executor to the end."""

    def __init__(
        self,
        *,
        run_id: str,
        plan: Plan,
        executor: Executor,
        clock: Clock,
        listeners: Sequence[Listener] = (),
        seed: int | None = None,
        journal: Journal | None = None,
        artifacts: ArtifactStore | None = None,
        caching: Caching | None = None,
        heartbeat_every: float = 5.0,
        resume_from: RunRecord | None = None,
        echo_logs: bool = True,
        secrets: SecretRefs | None = None,
    ) -> None:
        self.run_id = run_id
        self.plan = plan
        self.executor = executor
        self.clock = clock
        self.journal = journal or Journal(run_id, store=None, owner="", listeners=listeners)
        self.artifacts = artifacts
        self.caching = caching
        self.heartbeat_every = heartbeat_every
        self._resume_from = resume_from
        self.echo_logs = echo_logs
        self.secrets = secrets
        self.logs = LogSink() if self.journal.store is not None else None
        self._tracked: list[Tracked] = []
        """Values tasks tracked, drained from ``logs``, waiting for the next commit."""
        store_url = getattr(self.journal.store, "url", None)
        # Worker processes open the run's store by URL for legato.register_model.
        self._store_url = None if store_url in (None, "memory://") else store_url
        self.run = RunRecord(run_id=run_id)
        self.inputs = Inputs(plan.params)
        self.inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.ctx = Context(rng=random.Random(seed))
        self.pool = ResourcePool(executor.capacity)
        self._tasks: dict[str, _Task] = {k: _Task(k, n) for k, n in plan.nodes.items()}
        self._open: dict[str, _Task] = dict(self._tasks)  # not yet terminal
        self._ready: deque[_Task] = deque()
        self._unchecked: deque[_Task] = deque()  # ready, cache not yet consulted
        self._in_flight: dict[int, _Call] = {}
        self._to_submit: list[TaskCall] = []
        self._timers: list[tuple[float, int, int, Any, int]] = []
        self._timer_seq = itertools.count()
        self._live_timers = 0  # retry and deadline timers: progress still possible
        self._call_ids = itertools.count(1)
        self._seq = 0
        self._buffer: list[Event] = []
        self._buffered_since = 0.0
        self.idle = 0.0
        self._began = time.perf_counter()
        self._ended: float | None = None
        self._cancel_requested = False
        self._cancel_reason = ""
        self._stopped_everything = False
        self._terminal: deque[_Task] = deque()
        self._draining = False
        self._stop_pending = ""
        self.in_submit = False

    # ------------------------------------------------------------------ public

    def request_cancel(self, reason: str = "cancelled") -> None:
        """Ask the loop to cancel the run; safe from any thread or a signal handler."""
        if not self._cancel_requested:
            self._cancel_reason = reason
        self._cancel_requested = True
        self.inbox.put(_WAKE)

    def _wake(self) -> None:
        self.inbox.put(_WAKE)

    def report(self, outcome: TaskOutcome) -> None:
        """Where the executor delivers outcomes (any thread)."""
        self.inbox.put(outcome)

    def execute(self) -> RunRecord:
        """Run to the end; returns the final run record."""
        if self.logs is None:
            return self._execute()
        capture_in_process(self.run_id, self.logs.write, echo=self.echo_logs)
        store = self.journal.store
        track_in_process(
            self.run_id,
            Destination(write=self.logs.track, artifacts=self.artifacts, runs=lambda _: store),
        )
        try:
            return self._execute()
        finally:
            self.journal.close()
            release_in_process(self.run_id)
            release_tracking(self.run_id)
            self._flush_logs()

    def _execute(self) -> RunRecord:
        self._began = time.perf_counter()
        self._start()
        clock = self.clock
        inbox = self.inbox
        while True:
            if self._cancel_requested and not self._stopped_everything:
                self._begin_cancel()
            self._dispatch()
            if self.executor.synchronous and self._to_submit:
                self._flush()
            self._submit()
            if not self._open and not self._in_flight:
                break
            if self._live_timers == 0 and not self._in_flight and not self._cancel_requested:
                stuck = ", ".join(f"{k} ({self.run.tasks[k].state})" for k in list(self._open)[:5])
                raise RuntimeError(f"legato bug: run {self.run_id} cannot progress: {stuck}")
            # Group commit: events wait in the buffer while more outcomes keep coming, and
            # are committed (then shown to listeners) before the loop would block, or when
            # the batch is large or old enough.
            if self._buffer and (
                len(self._buffer) >= _BATCH_EVENTS
                or clock.monotonic() - self._buffered_since >= _BATCH_AGE_S
            ):
                self._flush()
            item = None
            if self._buffer and self._in_flight:
                # More outcomes are on their way: let them join this batch for a moment.
                young = _BATCH_AGE_S - (clock.monotonic() - self._buffered_since)
                item = self._wait(_min_timeout(young, self._next_timeout()))
            if item is None:
                self._flush()
                item = self._wait(self._next_timeout())
            items = [] if item is None else [item]
            while True:
                try:
                    items.append(inbox.get_nowait())
                except queue.Empty:
                    break
            for item in items:
                if item is not _WAKE:
                    self._on_outcome(item)
            self._fire_timers()
        self._finish()
        self._flush(final=True)
        self._ended = time.perf_counter()
        return self.run

    def _wait(self, timeout: float | None) -> Any:
        started = time.perf_counter()
        try:
            return self.clock.wait(self.inbox, timeout)
        finally:
            self.idle += time.perf_counter() - started

    @property
    def busy(self) -> float:
        """Seconds the orchestrator itself worked on this run (bookkeeping, commits, cache,
        dispatch), not counting waits nor the calls a synchronous executor ran."""
        end = self._ended if self._ended is not None else time.perf_counter()
        return max(0.0, end - self._began - self.idle)

    def force_stop(self) -> None:
        """End the run at once (second Ctrl-C): everything open is cancelled without waiting
        for running calls to confirm they stopped."""
        self._cancel_requested = True
        if not self._stopped_everything and self.run.state is not RunState.ROLLING_BACK:
            self._begin_cancel()
        self._in_flight.clear()
        self._finish()
        self._flush(final=True)

    # ------------------------------------------------------------------ events

    def _emit(self, event: Event) -> None:
        reducer.apply(self.run, event)
        if not self._buffer:
            self._buffered_since = self.clock.monotonic()
        self._buffer.append(event)

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _flush(self, *, final: bool = False) -> None:
        """Commit the buffered events, with the values tasks tracked since the last commit
        (in the same transaction: a task's success is never durable without its metrics):
        handed to the journal's writer thread when it has one and is free (else they stay
        buffered and join the next batch: the writer wakes the loop when it is done),
        synchronously when ``final`` or without a writer."""
        journal = self.journal
        if self.logs is not None:
            self._tracked.extend(t for t in self.logs.drain_tracked() if self._may_track(t))
        if self._buffer or self._tracked:
            now = self.clock.monotonic()
            if journal.background and not final:
                if journal.hand_off(self._buffer, now, self._tracked):
                    self._buffer, self._tracked = [], []
            else:
                batch, tracked = self._buffer, self._tracked
                self._buffer, self._tracked = [], []
                journal.commit(batch, now, tracked)
        elif final:
            journal.wait()
        self._flush_logs()

    def _flush_logs(self) -> None:
        if self.logs is not None:
            entries = self.logs.drain()
            if entries:
                self.journal.logs(entries)

    def _may_track(self, record: Tracked) -> bool:
        """Whether ``record`` comes from its task's current attempt, one not written off
        (timed out or cancelled): a stale attempt's values are fenced like its states."""
        task = self.run.tasks.get(record.key)
        if task is None or task.attempt != record.attempt:
            return False
        if task.state in _WRITTEN_OFF:
            return False
        return not (
            task.state is TaskState.RETRY_WAIT
            and task.error is not None
            and task.error.kind in (ErrorKind.TIMEOUT, ErrorKind.CANCELLED)
        )

    def _transition(
        self,
        task: _Task,
        to: TaskState,
        attempt: int,
        *,
        reason: str = "",
        error: ErrorInfo | None = None,
        ran_for: float | None = None,
        output: ArtifactRef | None = None,
        cache_hit: str | None = None,
        reopen: bool = False,
    ) -> Proposal | None:
        record = self.run.tasks[task.key]
        decided = decide(
            record,
            Proposal(
                to=to,
                attempt=attempt,
                reason=reason,
                error=error,
                ran_for=ran_for,
                cache_hit=cache_hit,
                reopen=reopen,
            ),
            task.node.spec.options,
            self.ctx,
        )
        if decided is None:
            return None
        now = self.clock.time()
        retry_at = None if decided.retry_delay is None else now + decided.retry_delay
        succeeded = decided.to is TaskState.SUCCEEDED
        self._emit(
            TaskTransitioned(
                run_id=self.run_id,
                seq=self._next_seq(),
                at=now,
                key=task.key,
                state=decided.to,
                attempt=decided.attempt,
                reason=decided.reason,
                error=decided.error,
                retry_at=retry_at,
                ran_for=decided.ran_for,
                output=output if succeeded else None,
                cache_key=task.cache_key if succeeded else None,
                cache_hit=decided.cache_hit if succeeded else None,
                cache_parts=task.cache_parts if succeeded else None,
            )
        )
        if decided.to.is_terminal:
            self._settle(task)
        return decided

    def _settle(self, task: _Task) -> None:
        # Consequences of a terminal state (dependents, groups, fail-fast) are worked off
        # from a queue, not by recursion: a failure at the head of a 100,000-task chain
        # must not overflow the stack.
        self._terminal.append(task)
        self._drain()

    def _drain(self) -> None:
        if self._draining:
            return
        self._draining = True
        try:
            while self._terminal or self._stop_pending:
                if self._terminal:
                    self._on_terminal(self._terminal.popleft())
                else:
                    reason, self._stop_pending = self._stop_pending, ""
                    self._stop_everything(TaskState.CANCELLED, reason)
        finally:
            self._draining = False

    def _run_state(self, state: RunState, reason: str = "") -> None:
        if state not in RUN_TRANSITIONS[self.run.state]:
            raise InvalidTransitionError(f"run {self.run_id}: {self.run.state} -> {state}")
        self._emit(
            RunTransitioned(
                run_id=self.run_id,
                seq=self._next_seq(),
                at=self.clock.time(),
                state=state,
                reason=reason,
            )
        )

    # ------------------------------------------------------------------ start and end

    def _start(self) -> None:
        if self._resume_from is not None:
            self._restore(self._resume_from)
            return
        plan = self.plan
        self._emit(
            RunStarted(
                run_id=self.run_id,
                seq=self._next_seq(),
                at=self.clock.time(),
                pipeline=plan.pipeline,
                params=plan.params,
                tasks=tuple(
                    PlannedTask(key=n.key, name=n.spec.name, mapped=n.mapped is not None)
                    for n in plan.nodes.values()
                ),
                executor=self.executor.name,
                failure_policy=plan.failure_policy.value,
                caching=plan.caching,
            )
        )
        self._run_state(RunState.RUNNING)
        self._open_executor()
        for task in list(self._tasks.values()):
            if task.waiting == 0 and task.index is None:
                self._inputs_ready(task)

    def _open_executor(self) -> None:
        self.executor.open(self.report, self.artifacts, self.logs)
        if not self.executor.synchronous:
            # The store writes while the loop schedules (a synchronous executor runs calls on
            # this thread, and commits before each: nothing to overlap).
            self.journal.start_writer(self._wake)
        if self.journal.store is not None:
            self._add_timer(self.clock.monotonic() + _PULSE_S, _HEARTBEAT, None, 0)

    def _restore(self, record: RunRecord) -> None:
        """Continue a recorded run: succeeded tasks keep their stored outputs and are not run
        again; every other task starts a new attempt."""
        self.run = record
        self._seq = record.last_seq
        if record.state is RunState.ROLLING_BACK or saga.unfinished(record):
            # It failed and its rollback did not finish: finish that, and nothing else.
            self._run_state(RunState.ROLLING_BACK, "resumed")
            self._open_executor()
            self._open.clear()
            return
        self.ctx.resuming = True
        finished = record.state is RunState.SUCCEEDED  # only its outputs are wanted
        if not finished:
            self._run_state(RunState.RUNNING, "resumed")
        self._open_executor()
        tasks = record.tasks
        done: set[str] = set()
        for key in self.plan.nodes:  # in order: inputs before their users
            recorded = tasks[key]
            if recorded.state is not TaskState.SUCCEEDED:
                continue
            value = self._recorded_value(self._tasks[key], recorded)
            if value is None:
                continue
            self.inputs.keep(key, value, *_shape(value))
            del self._open[key]
            done.add(key)
        ready: list[_Task] = []
        for key, node in self.plan.nodes.items():
            if key in done or finished:
                continue
            task = self._tasks[key]
            task.waiting = sum(1 for up in node.upstream if up not in done)
            recorded = tasks[key]
            if node.mapped is not None and recorded.items is not None and task.waiting == 0:
                self._restore_group(task, recorded)
                continue
            self._transition(
                task, TaskState.PENDING, recorded.attempt + 1, reason="resumed", reopen=True
            )
            if task.waiting == 0:
                ready.append(task)
        self.ctx.resuming = False
        for task in ready:
            self._inputs_ready(task)

    def _recorded_value(self, task: _Task, recorded: TaskRecord) -> Value | None:
        """The stored output of a task that succeeded before, or None (run it again)."""
        if task.node.mapped is None:
            return self._stored_value(task, recorded.output) if recorded.output else None
        items = []
        for i in range(recorded.items or 0):
            child = self.run.tasks.get(f"{task.key}[{i}]")
            if child is None or child.output is None:
                return None
            items.append(Stored(child.output))
        return Gathered(tuple(items))

    def _restore_group(self, group: _Task, recorded: TaskRecord) -> None:
        """A map that expanded before: its items that succeeded stay, the others run again."""
        node = group.node
        count, group.map_positions, group.map_names = self.inputs.map_length(node)
        if count != recorded.items:
            raise MapError(
                f"{group.key} had {recorded.items} items when the run started but its inputs "
                f"now give {count}; start a new run"
            )
        if recorded.state is not TaskState.RUNNING:
            self._transition(
                group, TaskState.RUNNING, recorded.attempt + 1, reason="resumed", reopen=True
            )
        for i in range(count):
            key = f"{group.key}[{i}]"
            child = _Task(key, node, i)
            child.group = group
            group.children.append(key)
            self._tasks[key] = child
            before = self.run.tasks[key]
            if before.state is TaskState.SUCCEEDED and before.output is not None:
                self.inputs.keep(key, Stored(before.output), *shape_of_ref(before.output))
                continue
            group.remaining += 1
            self._open[key] = child
            self._transition(
                child, TaskState.READY, before.attempt + 1, reason="resumed", reopen=True
            )
            self._became_ready(child)
        if group.remaining == 0:
            self._finish_group(group)

    def _finish(self) -> None:
        if self.run.state.is_terminal:
            return
        if self._cancel_requested:
            reason = self._cancel_reason
            if self.run.state is RunState.ROLLING_BACK:
                reason = f"{reason or 'cancelled'} during rollback; {saga.summary(self.run)}"
            self._run_state(RunState.CANCELLED, reason)
            return
        tasks = self.run.tasks
        bad = [k for k, t in self._tasks.items() if tasks[k].state is not TaskState.SUCCEEDED]
        if not bad:
            self._run_state(RunState.SUCCEEDED)
            return
        failed = [k for k in bad if tasks[k].state in _FAILED_STATES]
        named = failed or bad
        shown = ", ".join(named[:5]) + (f" and {len(named) - 5} more" if len(named) > 5 else "")
        if not self._roll_back(f"failed: {shown}"):
            self._run_state(RunState.FAILED, f"failed: {shown}")

    # ------------------------------------------------------------------ rollback (saga)

    def _roll_back(self, reason: str) -> bool:
        """Undo what the failed run did: the ``on_rollback`` handlers of the tasks that
        succeeded in it, one at a time, in reverse order of completion (see
        :mod:`legato.engine.saga`). False when there is nothing to undo."""
        run = self.run
        if run.state is RunState.ROLLING_BACK:  # resumed: finish the recorded rollback
            reason = run.rollback_reason or reason
        else:
            keys = saga.to_compensate(run, self.plan)
            if not keys:
                return False
            self._run_state(RunState.ROLLING_BACK, reason)
            self._emit(
                RollbackPlanned(
                    run_id=self.run_id,
                    seq=self._next_seq(),
                    at=self.clock.time(),
                    keys=keys,
                    reason=reason,
                )
            )
        for key in saga.unfinished(run):
            if self._cancel_requested:
                break
            self._compensate(key)
        if self._cancel_requested:  # interrupted: a resume finishes what is left
            cancelled = self._cancel_reason or "cancelled"
            self._run_state(RunState.CANCELLED, f"{cancelled} during rollback; {saga.summary(run)}")
        else:
            self._run_state(RunState.FAILED, f"{reason}; {saga.summary(run)}")
        return True

    def _compensate(self, key: str) -> None:
        record = self.run.tasks[key]
        node = self.plan.nodes[record.parent or key]
        attempt = self.run.rollbacks[key].attempt + 1
        self._rollback_event(key, RollbackState.STARTED, attempt)
        # Durable before the handler may run: a resume after a crash from here on runs it
        # again (at most once more), never skips it.
        self._flush(final=True)
        crash_point("rollback_started")
        value = self.inputs.outputs.get(key)
        if value is None and record.output is not None:
            value = (
                Stored(record.output)
                if record.parent is not None
                else self._stored_value(self._tasks[key], record.output)
            )
        if value is None:
            missing = ErrorInfo.of(ErrorKind.INPUT, "its output was not stored: nothing to undo")
            self._rollback_event(key, RollbackState.FAILED, attempt, error=missing)
            self._flush(final=True)
            return
        call = saga.handler_call(
            call_id=next(self._call_ids),
            run=self.run,
            key=key,
            node=node,
            value=value,
            attempt=attempt,
            secrets=self.secrets,
        )
        error, ran_for = self._await_handler(call)
        state = RollbackState.SUCCEEDED if error is None else RollbackState.FAILED
        self._rollback_event(key, state, attempt, error=error, ran_for=ran_for)
        self._flush(final=True)
        crash_point("rollback_committed")

    def _await_handler(self, call: TaskCall) -> tuple[ErrorInfo | None, float | None]:
        """Run one handler on the executor; its error (None: it succeeded) and run time.
        Heartbeats continue while it runs; its timeout and a cancel stop it."""
        self.in_submit = True
        try:
            self.executor.submit(call)
        except KeyboardInterrupt:
            self.request_cancel("interrupted")
            self.executor.cancel(call.call_id)
            return ErrorInfo.of(ErrorKind.CANCELLED, "interrupted"), None
        except Exception as exc:
            message = f"the {self.executor.name} executor could not start it: {exc}"
            return ErrorInfo.of(ErrorKind.INTERNAL, message), None
        finally:
            self.in_submit = False
        deadline = None if call.timeout is None else self.clock.monotonic() + call.timeout
        while True:
            timeout = _PULSE_S if self.journal.store is not None else None
            if deadline is not None:
                timeout = _min_timeout(deadline - self.clock.monotonic(), timeout)
            item = self._wait(timeout)
            if isinstance(item, TaskOutcome) and item.call_id == call.call_id:
                ran_for = item.ended_at - item.started_at if item.ended_at else None
                if item.kind is OutcomeKind.SUCCEEDED:
                    return None, ran_for
                error = item.error or ErrorInfo.of(ErrorKind.CRASH, f"it ended {item.kind}")
                return error, ran_for
            if self._cancel_requested:
                self.executor.cancel(call.call_id)
                reason = self._cancel_reason or "cancelled"
                return ErrorInfo.of(ErrorKind.CANCELLED, reason), None
            now = self.clock.monotonic()
            if deadline is not None and now >= deadline:
                self.executor.cancel(call.call_id)
                message = f"ran past its timeout of {call.timeout:g}s and was stopped"
                return ErrorInfo.of(ErrorKind.TIMEOUT, message, "legato.TimeoutExpired"), None
            self._heartbeat(now)

    def _rollback_event(
        self,
        key: str,
        state: RollbackState,
        attempt: int,
        *,
        error: ErrorInfo | None = None,
        ran_for: float | None = None,
    ) -> None:
        self._emit(
            RollbackTransitioned(
                run_id=self.run_id,
                seq=self._next_seq(),
                at=self.clock.time(),
                key=key,
                state=state,
                attempt=attempt,
                reason=error.summary() if error else "",
                error=error,
                ran_for=ran_for,
            )
        )

    # ------------------------------------------------------------------ readiness

    def _attempt(self, task: _Task) -> int:
        return self.run.tasks[task.key].attempt

    def _inputs_ready(self, task: _Task) -> None:
        if self.run.tasks[task.key].state is not TaskState.PENDING:
            return  # already failed upstream or cancelled
        if task.node.mapped is not None:
            self._expand(task)
        elif self._transition(task, TaskState.READY, self._attempt(task)) is not None:
            self._became_ready(task)

    def _expand(self, group: _Task) -> None:
        node = group.node
        assert node.mapped is not None
        try:
            count, group.map_positions, group.map_names = self.inputs.map_length(node)
        except MapError as exc:
            self._transition(
                group,
                TaskState.FAILED,
                self._attempt(group),
                reason=str(exc),
                error=ErrorInfo.of(ErrorKind.INPUT, str(exc), "legato.MapError"),
            )
            return
        if (
            self._transition(
                group, TaskState.RUNNING, self._attempt(group), reason=f"{count} items"
            )
            is None
        ):
            return
        self._emit(
            MapExpanded(
                run_id=self.run_id,
                seq=self._next_seq(),
                at=self.clock.time(),
                key=group.key,
                count=count,
            )
        )
        group.remaining = count
        for i in range(count):
            key = f"{group.key}[{i}]"
            child = _Task(key, node, i)
            child.group = group
            group.children.append(key)
            self._tasks[key] = child
            self._open[key] = child
            self._became_ready(child)
        if count == 0:
            self.inputs.keep(group.key, Gathered(()), 0, ())
            self._transition(
                group, TaskState.SUCCEEDED, self._attempt(group), reason="mapped over no items"
            )

    # ------------------------------------------------------------------ dispatch

    def _became_ready(self, task: _Task) -> None:
        (self._unchecked if self.caching is not None else self._ready).append(task)

    def _check_cache(self) -> None:
        """Consult the cache about every task that became ready since the last turn, in one
        lookup; hits are settled here, misses join the ready queue."""
        caching = self.caching
        assert caching is not None
        batch = list(self._unchecked)
        self._unchecked.clear()
        calls = []
        for task in batch:
            task.bound = self._bind(task)
            calls.append((task.node, task.key, task.bound))
        for task, verdict in zip(batch, caching.check(calls), strict=True):
            task.cache_key = verdict.key
            task.cache_parts = verdict.parts.as_dict() if verdict.parts is not None else None
            task.cache_reason = verdict.reason
            if verdict.hit is None or not self._reuse(task, verdict):
                self._ready.append(task)

    def _reuse(self, task: _Task, verdict: Verdict) -> bool:
        hit = verdict.hit
        assert hit is not None
        value = self._stored_value(task, hit.output)
        if value is None:
            return False
        self.inputs.keep(task.key, value, *_shape(value))
        decided = self._transition(
            task,
            TaskState.SUCCEEDED,
            self.run.tasks[task.key].attempt,
            reason=verdict.reason,
            output=hit.output,
            cache_hit=hit.run_id,
        )
        if decided is None:
            self.inputs.drop(task.key)
            return False
        return True

    def _stored_value(self, task: _Task, ref: ArtifactRef) -> Value | None:
        """The value of a stored output (a manifest of items when a map consumes it)."""
        if not (task.node.split_output and task.index is None):
            return Stored(ref)
        if self.artifacts is None:
            return None
        try:
            return StoredItems(items_of_manifest(self.artifacts, ref), ref)
        except StoreError:
            log.warning("stored output %s of %s is unreadable; running it again", ref, task.key)
            return None

    def _bind(self, task: _Task) -> tuple[tuple[Arg, ...], tuple[tuple[str, Arg], ...]]:
        node = task.node
        if task.index is None:
            return self.inputs.bind_call(node)
        group = task.group
        assert group is not None
        return self.inputs.bind_item(node, group.map_positions, group.map_names, task.index)

    def _dispatch(self) -> None:
        if self._cancel_requested:
            return
        while self._unchecked:  # a hit can make its dependents ready in turn
            self._check_cache()
        ready = self._ready
        if not ready:
            return
        admission = Admission(self.pool)
        skipped: list[_Task] = []
        while ready and not admission.exhausted:
            task = ready.popleft()
            if admission.admit(task.node.amounts):
                self._start_task(task)
            else:
                skipped.append(task)
        if skipped:
            ready.extendleft(reversed(skipped))

    def _start_task(self, task: _Task) -> None:
        attempt = self.run.tasks[task.key].attempt
        decided = self._transition(task, TaskState.RUNNING, attempt, reason=task.cache_reason)
        if decided is None or decided.to is not TaskState.RUNNING:
            return
        node = task.node
        gpu_ids = self.pool.acquire(node.amounts)
        call_id = next(self._call_ids)
        if task.bound is None:
            task.bound = self._bind(task)
        args, kwargs = task.bound
        spec = node.spec
        self._to_submit.append(
            TaskCall(
                call_id=call_id,
                run_id=self.run_id,
                key=task.key,
                task=spec.name,
                fn=spec.fn,
                fn_id=spec.fn_id,
                attempt=attempt,
                map_index=task.index,
                args=args,
                kwargs=kwargs,
                resources=spec.options.resources,
                timeout=spec.options.timeout,
                split_output=node.split_output and task.index is None,
                gpu_ids=gpu_ids,
                secrets=self.secrets,
                store_url=self._store_url,
            )
        )
        self._in_flight[call_id] = _Call(task, attempt, gpu_ids)
        timeout = spec.options.timeout
        if timeout is not None:
            self._add_timer(self.clock.monotonic() + timeout, _DEADLINE, call_id, attempt)

    def _submit(self) -> None:
        calls, self._to_submit = self._to_submit, []
        if calls:
            crash_point("task_claimed")
        for i, call in enumerate(calls):
            self.in_submit = True
            started = time.perf_counter()
            try:
                self.executor.submit(call)
            except KeyboardInterrupt:
                # Ctrl-C inside an inline task: that task is stopped, the run cancelled.
                self.request_cancel("interrupted")
                self.executor.cancel(call.call_id)
                for rest in calls[i + 1 :]:
                    self._abandon(rest)
                return
            except Exception as exc:
                log.exception("executor failed to submit %s", call.key)
                self.report(
                    TaskOutcome(
                        call_id=call.call_id,
                        key=call.key,
                        attempt=call.attempt,
                        kind=OutcomeKind.FAILED,
                        error=ErrorInfo.of(
                            ErrorKind.INTERNAL,
                            f"the {self.executor.name} executor could not start it: {exc}",
                        ),
                    )
                )
            finally:
                self.in_submit = False
                if self.executor.synchronous:  # the call ran here: that is not overhead
                    self.idle += time.perf_counter() - started

    def _abandon(self, call: TaskCall) -> None:
        self.report(
            TaskOutcome(
                call_id=call.call_id, key=call.key, attempt=call.attempt, kind=OutcomeKind.STOPPED
            )
        )

    # ------------------------------------------------------------------ outcomes

    def _on_outcome(self, outcome: TaskOutcome) -> None:
        call = self._in_flight.pop(outcome.call_id, None)
        if call is None:
            return  # a duplicate, or the late report of a call already written off
        task = call.task
        self.pool.release(task.node.amounts, call.gpu_ids)
        if call.stopping:
            return  # its state was settled when we stopped it
        ran_for = outcome.ended_at - outcome.started_at if outcome.ended_at else None
        kind = outcome.kind
        if kind is OutcomeKind.SUCCEEDED:
            # Kept before the transition so that dependents it makes ready can bind it.
            assert outcome.output is not None
            self.inputs.keep(task.key, outcome.output, outcome.length, outcome.item_lengths)
            decided = self._transition(
                task,
                TaskState.SUCCEEDED,
                call.attempt,
                reason=task.cache_reason,
                ran_for=ran_for,
                output=_output_ref(outcome.output),
            )
            if decided is None or decided.to is not TaskState.SUCCEEDED:
                self.inputs.drop(task.key)
            if decided is not None and decided.to is TaskState.RETRY_WAIT:
                self._schedule_retry(task, decided)
            return
        if kind is OutcomeKind.STOPPED and self._cancel_requested:
            # Stopped by the run's own cancel before the loop asked (Ctrl-C inside an inline
            # task): the attempt was cancelled, it did not fail.
            reason = self._cancel_reason or "run cancelled"
            self._transition(
                task,
                TaskState.CANCELLED,
                call.attempt,
                reason=reason,
                error=ErrorInfo.of(ErrorKind.CANCELLED, reason),
                ran_for=ran_for,
            )
            return
        if kind is OutcomeKind.STOPPED:
            error = ErrorInfo.of(ErrorKind.CANCELLED, "stopped by the executor")
        elif kind is OutcomeKind.CRASHED:
            error = outcome.error or ErrorInfo.of(ErrorKind.CRASH, "the worker died")
        else:
            error = outcome.error or ErrorInfo.of(ErrorKind.INTERNAL, "failed without an error")
        decided = self._transition(
            task,
            TaskState.FAILED,
            call.attempt,
            reason=error.summary(),
            error=error,
            ran_for=ran_for,
        )
        if decided is not None and decided.to is TaskState.RETRY_WAIT:
            self._schedule_retry(task, decided)

    def _schedule_retry(self, task: _Task, decided: Proposal) -> None:
        delay = decided.retry_delay or 0.0
        self._add_timer(self.clock.monotonic() + delay, _RETRY, task, decided.attempt + 1)

    def _on_terminal(self, task: _Task) -> None:
        self._open.pop(task.key, None)
        task.bound = None
        state = self.run.tasks[task.key].state
        if state is not TaskState.SUCCEEDED:
            self.inputs.drop(task.key)
        group = task.group
        if group is not None:
            group.remaining -= 1
            if state in _FAILED_STATES:
                group.failed += 1
            elif state is not TaskState.SUCCEEDED:
                group.cancelled += 1
            if group.remaining == 0 and self.run.tasks[group.key].state is TaskState.RUNNING:
                self._finish_group(group)
        elif state is TaskState.SUCCEEDED:
            for key in task.node.downstream:
                down = self._tasks[key]
                down.waiting -= 1
                if down.waiting == 0:
                    self._inputs_ready(down)
        else:
            # A cancel is nobody's failure: what waited for a cancelled task is cancelled.
            cancelled = state is TaskState.CANCELLED
            to = TaskState.CANCELLED if cancelled else TaskState.UPSTREAM_FAILED
            reason = f"input {task.key!r} {state.value}"
            error = ErrorInfo.of(ErrorKind.CANCELLED, reason) if cancelled else None
            for key in task.node.downstream:
                down = self._tasks[key]
                if self.run.tasks[key].state is TaskState.PENDING:
                    self._transition(down, to, self._attempt(down), reason=reason, error=error)
        if (
            state in _FAILED_STATES
            and self.plan.failure_policy is FailurePolicy.FAIL_FAST
            and not self._stopped_everything
            and not self._stop_pending
        ):
            self._stop_pending = f"fail-fast: task {task.key!r} {state.value}"

    def _finish_group(self, group: _Task) -> None:
        n = len(group.children)
        if group.cancelled and not group.failed:
            self._transition(
                group, TaskState.CANCELLED, 1, reason=f"{group.cancelled} of {n} items cancelled"
            )
            return
        if group.failed:
            message = f"{group.failed} of {n} items failed"
            self._transition(
                group,
                TaskState.FAILED,
                self._attempt(group),
                reason=message,
                error=ErrorInfo.of(ErrorKind.RAISED, message, "legato.MapItemsFailed"),
            )
            return
        outputs = self.inputs.outputs
        gathered = Gathered(tuple(outputs[k] for k in group.children))
        self.inputs.keep(group.key, gathered, len(group.children))
        self._transition(group, TaskState.SUCCEEDED, self._attempt(group))

    # ------------------------------------------------------------------ cancel and timers

    def _begin_cancel(self) -> None:
        self._run_state(RunState.CANCELLING, self._cancel_reason)
        self.ctx.cancelling = True
        # Through the consequence queue, like fail-fast: every open task is cancelled before
        # the consequences of the first cancel are worked off, so a cancel never shows as
        # the dependents' upstream failure.
        self._stop_pending = self._cancel_reason or "run cancelled"
        self._drain()

    def _stop_everything(self, to: TaskState, reason: str) -> None:
        self._stopped_everything = True
        self._ready.clear()
        self._unchecked.clear()
        running = {
            call.task.key: (cid, call) for cid, call in self._in_flight.items() if not call.stopping
        }
        for task in list(self._open.values()):
            record = self.run.tasks.get(task.key)
            if record is None or record.state.is_terminal:
                continue
            if record.mapped and record.state is TaskState.RUNNING:
                continue  # a group ends when its items have
            if task.key in running:
                call_id, call = running[task.key]
                call.stopping = True
                self.executor.cancel(call_id)
            self._transition(
                task,
                to,
                record.attempt,
                reason=reason,
                error=ErrorInfo.of(ErrorKind.CANCELLED, reason),
            )

    def _add_timer(self, due: float, kind: int, target: Any, attempt: int) -> None:
        if kind != _HEARTBEAT:
            self._live_timers += 1
        heapq.heappush(self._timers, (due, next(self._timer_seq), kind, target, attempt))

    def _next_timeout(self) -> float | None:
        if not self._timers:
            return None
        return max(0.0, self._timers[0][0] - self.clock.monotonic())

    def _fire_timers(self) -> None:
        timers = self._timers
        now = self.clock.monotonic()
        while timers and timers[0][0] <= now:
            _, _, kind, target, attempt = heapq.heappop(timers)
            if kind != _HEARTBEAT:
                self._live_timers -= 1
            if kind == _RETRY:
                self._retry_due(target, attempt)
            elif kind == _DEADLINE:
                self._deadline(target, attempt)
            else:
                self._heartbeat(now)

    def _heartbeat(self, now: float) -> None:
        # Also the pulse that streams captured output and tracked values of long tasks to
        # the store.
        self._flush()
        if self.journal.last_commit <= now - self.heartbeat_every:
            self.journal.heartbeat(self.clock.time())
        if self._open or self._in_flight:
            self._add_timer(now + _PULSE_S, _HEARTBEAT, None, 0)

    def _retry_due(self, task: _Task, attempt: int) -> None:
        if self.run.tasks[task.key].state is not TaskState.RETRY_WAIT:
            return
        decided = self._transition(task, TaskState.READY, attempt)
        if decided is not None and decided.to is TaskState.READY:
            self._ready.append(task)

    def _deadline(self, call_id: int, attempt: int) -> None:
        call = self._in_flight.get(call_id)
        if call is None or call.stopping:
            return
        call.stopping = True
        self.executor.cancel(call_id)
        limit = call.task.node.spec.options.timeout
        message = f"ran past its timeout of {limit:g}s and was stopped"
        if not self.executor.hard_timeouts:
            message += " (its thread may still be running; use the processes executor to kill)"
        decided = self._transition(
            call.task,
            TaskState.TIMED_OUT,
            attempt,
            reason=message,
            error=ErrorInfo.of(ErrorKind.TIMEOUT, message, "legato.TimeoutExpired"),
        )
        if decided is not None and decided.to is TaskState.RETRY_WAIT:
            self._schedule_retry(call.task, decided)


def _output_ref(value: Value) -> ArtifactRef | None:
    """The reference a SUCCEEDED event records for an output (None when not stored)."""
    if isinstance(value, Stored):
        return value.ref
    if isinstance(value, StoredItems):
        return value.manifest
    return None


def _shape(value: Value) -> tuple[int | None, tuple[int | None, ...] | None]:
    if isinstance(value, StoredItems):
        return len(value.items), None
    if isinstance(value, Stored):
        return shape_of_ref(value.ref)
    return None, None


def _min_timeout(a: float, b: float | None) -> float:
    return max(0.0, a if b is None else min(a, b))
