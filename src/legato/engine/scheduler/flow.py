"""How task states follow from each other: readiness, maps, failures, cancellation.

The flow makes every task transition through the ledger and works off the consequences of
terminal states (dependents ready or blocked, a map's group ending, fail-fast) from a queue,
never by recursion: a failure at the head of a 100,000-task chain must not overflow the
stack. Stopping everything (fail-fast, cancel) goes through the same queue, so every open
task is cancelled before the consequences of the first cancel are worked off, and a cancel
never shows as a dependent's upstream failure.
"""

from __future__ import annotations

from collections import deque

from legato.define.graph import iter_refs
from legato.engine.binding import Inputs, MapError
from legato.engine.caching import BoundArgs
from legato.engine.plan import Plan, PlanNode
from legato.engine.rules import Proposal
from legato.engine.scheduler.commands import Cancel
from legato.engine.scheduler.dispatch import Dispatcher
from legato.engine.scheduler.ledger import Ledger
from legato.engine.scheduler.tasks import GroupEntry, TaskEntry, TaskTable
from legato.engine.triggers import blocked_state, failed_input, settle
from legato.model.artifacts import ArtifactRef
from legato.model.errors import ErrorInfo, ErrorKind
from legato.model.events import MapExpanded
from legato.model.skips import input_reason
from legato.model.specs import FailurePolicy
from legato.model.states import TaskState
from legato.model.triggers import Trigger
from legato.model.values import Gathered

__all__ = ["Flow"]

_FAILED = frozenset({TaskState.FAILED, TaskState.TIMED_OUT})


class Flow:
    """Task transitions of one run and what each sets in motion."""

    __slots__ = (
        "_draining",
        "_readers",
        "_returned",
        "_terminal",
        "caching",
        "dispatcher",
        "inputs",
        "ledger",
        "plan",
        "stop_pending",
        "stopped_everything",
        "table",
    )

    def __init__(
        self,
        *,
        plan: Plan,
        ledger: Ledger,
        table: TaskTable,
        dispatcher: Dispatcher,
        inputs: Inputs,
        caching: bool,
    ) -> None:
        self.plan = plan
        self.ledger = ledger
        self.table = table
        self.dispatcher = dispatcher
        self.inputs = inputs
        self.caching = caching
        """Whether ready instances wait for a cache lookup before they may start."""
        self.stop_pending = ""
        """Why every open task must be stopped, once the current consequences are done."""
        self.stopped_everything = False
        self._terminal: deque[TaskEntry] = deque()
        self._draining = False
        self._readers: dict[str, int] = {}
        """For outputs some of whose readers have succeeded: how many have not."""
        self._returned = frozenset(ref.node for ref in iter_refs(plan.output))
        """What the pipeline returns: held to the end, for the run's result."""
        ledger.ctx.finals = frozenset(k for k, n in plan.nodes.items() if n.final)

    def bind(self, entry: TaskEntry) -> BoundArgs:
        """The arguments of ``entry``'s call, from the outputs known so far."""
        node = entry.node
        if entry.index is None:
            return self.inputs.bind_call(node)
        group = entry.group
        assert group is not None
        return self.inputs.bind_item(node, group.map_positions, group.map_names, entry.index)

    def attempt(self, entry: TaskEntry) -> int:
        """The attempt on record for ``entry``."""
        return self.ledger.run.tasks[entry.key].attempt

    def transition(
        self,
        entry: TaskEntry,
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
        """Propose a transition of ``entry``; a terminal one sets its consequences going."""
        decided = self.ledger.transition(
            entry.key,
            entry.node.spec.options,
            to,
            attempt,
            reason=reason,
            error=error,
            ran_for=ran_for,
            output=output,
            cache_hit=cache_hit,
            cache_key=entry.cache_key,
            cache_parts=entry.cache_parts,
            reopen=reopen,
        )
        if decided is not None and decided.to.is_terminal:
            self._terminal.append(entry)
            self.drain()
        return decided

    def stop(self, reason: str) -> None:
        """Stop every open task (fail-fast, cancel) once the current consequences are done."""
        self.stop_pending = reason
        self.drain()

    def drain(self) -> None:
        """Work off the queued consequences (re-entrant calls return at once)."""
        if self._draining:
            return
        self._draining = True
        try:
            while self._terminal or self.stop_pending:
                if self._terminal:
                    self._on_terminal(self._terminal.popleft())
                else:
                    reason, self.stop_pending = self.stop_pending, ""
                    self._stop_everything(reason)
        finally:
            self._draining = False

    # ------------------------------------------------------------------ consequences

    def _on_terminal(self, entry: TaskEntry) -> None:
        tasks = self.ledger.run.tasks
        state = tasks[entry.key].state
        if state is not TaskState.SUCCEEDED:
            self.inputs.drop(entry.key)
        elif entry.index is None:
            self._read_all(entry.node)
        closed = self.table.close(entry, state)
        if closed.group is not None and tasks[closed.group.key].state is TaskState.RUNNING:
            self.finish_group(closed.group)
        for down in closed.ready:
            self.inputs_ready(down)
        if closed.blocked:
            # A cancel is nobody's failure: what waited for a cancelled task is cancelled.
            cancelled = state is TaskState.CANCELLED
            to = blocked_state(state)
            reason = input_reason(entry.key, state)
            error = ErrorInfo.of(ErrorKind.CANCELLED, reason) if cancelled else None
            for down in closed.blocked:
                if tasks[down.key].state is TaskState.PENDING:
                    self.transition(down, to, self.attempt(down), reason=reason, error=error)
        if (
            state in _FAILED
            and self.plan.failure_policy is FailurePolicy.FAIL_FAST
            and not self.stopped_everything
            and not self.stop_pending
        ):
            self.stop_pending = f"fail-fast: task {entry.key!r} {state.value}"

    def _read_all(self, node: PlanNode) -> None:
        """``node`` succeeded: release each output it read that no other task of the plan
        is still to read (a task that succeeded has no more use for its inputs)."""
        readers = self._readers
        nodes = self.plan.nodes
        for key in node.upstream:
            left = readers.pop(key, None)
            if left is None:
                left = len(nodes[key].downstream)
            if left > 1:
                readers[key] = left - 1
            elif key not in self._returned:
                self.inputs.release(key)

    def finish_group(self, group: GroupEntry) -> None:
        """End a map's group once all its items have ended."""
        n = len(group.children)
        if group.cancelled and not group.failed:
            self.transition(
                group,
                TaskState.CANCELLED,
                self.attempt(group),
                reason=f"{group.cancelled} of {n} items cancelled",
            )
            return
        if group.failed:
            message = f"{group.failed} of {n} items failed"
            self.transition(
                group,
                TaskState.FAILED,
                self.attempt(group),
                reason=message,
                error=ErrorInfo.of(ErrorKind.RAISED, message, "legato.MapItemsFailed"),
            )
            return
        outputs = self.inputs.outputs
        gathered = Gathered(tuple(outputs[k] for k in group.children))
        self.inputs.keep(group.key, gathered, n)
        self.transition(group, TaskState.SUCCEEDED, self.attempt(group))

    def _stop_everything(self, reason: str) -> None:
        self.stopped_everything = True
        self.dispatcher.clear_queues()
        running = self.dispatcher.running()
        commands = self.ledger.commands
        tasks = self.ledger.run.tasks
        for entry in list(self.table.open.values()):
            record = tasks.get(entry.key)
            if record is None or record.state.is_terminal:
                continue
            if record.mapped and record.state is TaskState.RUNNING:
                continue  # a group ends when its items have
            found = running.get(entry.key)
            if entry.node.final:
                # A finally block waits for what it follows to end, then runs; one that
                # was queued or claimed already keeps its place.
                if record.state is TaskState.READY:
                    self.became_ready(entry)
                elif record.state is TaskState.RUNNING and found is None:
                    self.dispatcher.claimed.append(entry)
                continue
            if found is not None:
                call_id, call = found
                call.stopping = True
                commands.append(Cancel(call_id))
            self.transition(
                entry,
                TaskState.CANCELLED,
                record.attempt,
                reason=reason,
                error=ErrorInfo.of(ErrorKind.CANCELLED, reason),
            )

    def stop_finals(self, reason: str) -> None:
        """Cancel the ``finally_()`` tasks a stop left waiting (the run ends now)."""
        tasks = self.ledger.run.tasks
        for entry in list(self.table.open.values()):
            record = tasks.get(entry.key)
            if not entry.node.final or record is None or record.state.is_terminal:
                continue
            if record.mapped and record.state is TaskState.RUNNING:
                continue
            error = ErrorInfo.of(ErrorKind.CANCELLED, reason)
            self.transition(entry, TaskState.CANCELLED, record.attempt, reason=reason, error=error)

    # ------------------------------------------------------------------ readiness

    def inputs_ready(self, entry: TaskEntry) -> None:
        """Every input of ``entry`` succeeded: it is ready (a map expands)."""
        if self.ledger.run.tasks[entry.key].state is not TaskState.PENDING:
            return  # already failed upstream or cancelled
        if (entry.unmet or entry.node.trigger is Trigger.ANY_FAILED) and not self._settle(entry):
            return
        if isinstance(entry, GroupEntry):
            self._expand(entry)
        elif self.transition(entry, TaskState.READY, self.attempt(entry)) is not None:
            self.became_ready(entry)

    def _settle(self, entry: TaskEntry) -> bool:
        """Whether ``entry``, some of whose inputs did not succeed, runs (its trigger rule
        says so: it is handed a FailedInput for each); if not, end it as the rule says."""
        node = entry.node
        unmet = entry.unmet or {}
        to = settle(node.trigger, unmet, inputs=len(node.upstream), branches=node.branches)
        tasks = self.ledger.run.tasks
        if to is None:
            for key in unmet:
                self.inputs.failures[key] = failed_input(tasks[key])
            return True
        # Named: the input that settled it (a branch's decision first, else the first in
        # the order the task reads them, not in the order they ended: the same reason
        # whatever the executor's timing), so a skip can be followed back to where it
        # started (legato.model.skips).
        first = next((d for d in node.branches if d in unmet), None)
        if first is None:
            first = next((k for k in node.upstream if unmet.get(k) is to), next(iter(unmet), None))
        if first is None or (to is TaskState.SKIPPED and node.trigger is Trigger.ANY_FAILED):
            reason = "no input failed"
        else:
            reason = input_reason(first, unmet[first])
        error = ErrorInfo.of(ErrorKind.CANCELLED, reason) if to is TaskState.CANCELLED else None
        self.transition(entry, to, self.attempt(entry), reason=reason, error=error)
        return False

    def became_ready(self, entry: TaskEntry) -> None:
        """Queue a READY instance: for the cache first when the run has one."""
        dispatcher = self.dispatcher
        dispatcher.enqueue(dispatcher.unchecked if self.caching else dispatcher.ready, entry)

    def _expand(self, group: GroupEntry) -> None:
        node = group.node
        try:
            count, group.map_positions, group.map_names = self.inputs.map_length(node)
            if node.item_keys and len(node.item_keys) != count:
                raise MapError(
                    f"{node.key}.map(...) has {count} items but {len(node.item_keys)} item "
                    "keys; the keyed lists and the others must be equally long"
                )
        except MapError as exc:
            self.transition(
                group,
                TaskState.FAILED,
                self.attempt(group),
                reason=str(exc),
                error=ErrorInfo.of(ErrorKind.INPUT, str(exc), "legato.MapError"),
            )
            return
        decided = self.transition(
            group, TaskState.RUNNING, self.attempt(group), reason=f"{count} items"
        )
        if decided is None:
            return
        ledger = self.ledger
        ledger.emit(
            MapExpanded(
                run_id=ledger.run_id,
                seq=ledger.next_seq(),
                at=ledger.at,
                key=group.key,
                count=count,
                keys=node.item_keys,
            )
        )
        records = ledger.run.tasks  # the expansion made the items' records
        for i in range(count):
            self.became_ready(self.table.add_item(group, i, keys=records))
        if count == 0:
            self.inputs.keep(group.key, Gathered(()), 0, ())
            self.transition(
                group, TaskState.SUCCEEDED, self.attempt(group), reason="mapped over no items"
            )
