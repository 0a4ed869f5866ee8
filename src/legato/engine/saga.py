"""Compensation (saga rollback), the pure part: which tasks a failed run undoes, in which
order, the call that runs one handler, and how the outcome reads.

The scheduler (:mod:`legato.engine.scheduler.rollback`) drives it: it records the plan
(``RollbackPlanned``), and for each key ``started``, which the driver commits *before* it
hands the handler to the executor, then ``succeeded`` or ``failed``. A resume finishes every
compensation that did not succeed, so a handler that completed is never run again and one in
flight when the orchestrator died runs at most once more (handlers must be idempotent).
"""

from __future__ import annotations

from legato.config import SecretRefs
from legato.define.task import handler_arity
from legato.engine.plan import Plan, PlanNode
from legato.model.calls import TaskCall
from legato.model.records import RunRecord
from legato.model.rollback import RollbackContext, RollbackState
from legato.model.specs import Resources
from legato.model.states import TaskState
from legato.model.values import Arg, Given, Lit, Value

__all__ = ["handler_call", "summary", "to_compensate", "unfinished"]


def to_compensate(run: RunRecord, plan: Plan) -> tuple[str, ...]:
    """The tasks (and map items) whose ``on_rollback`` handlers a failed run runs, in the
    order they run: reverse order of completion. Only work done by the run counts: a cache
    hit reused another run's output and did nothing to undo. Completion times that tie (a
    coarse or fake clock) fall back to the plan's order, which puts a task after its inputs,
    so a task is still undone before what it read."""
    position = {key: i for i, key in enumerate(plan.nodes)}
    found: list[tuple[tuple[float, int, int], str]] = []
    for key, record in run.tasks.items():
        if record.state is not TaskState.SUCCEEDED or record.mapped or record.cache_hit:
            continue
        node = plan.nodes.get(record.parent or key)
        if node is None or node.spec.options.on_rollback is None:
            continue
        order = (record.ended_at or 0.0, position[node.key], record.map_index or 0)
        found.append((order, key))
    found.sort(reverse=True)
    return tuple(key for _, key in found)


def unfinished(run: RunRecord) -> tuple[str, ...]:
    """The planned compensations that did not succeed, in the order they run."""
    return tuple(key for key, c in run.rollbacks.items() if not c.done)


def handler_call(
    *,
    call_id: int,
    run: RunRecord,
    key: str,
    node: PlanNode,
    value: Value,
    attempt: int,
    secrets: SecretRefs | None = None,
) -> TaskCall:
    """The call that runs ``key``'s handler with its output (loaded by the worker, checksum
    verified, like any input) and a :class:`RollbackContext`. It carries the task's key and
    attempt, so what the handler prints is filed with the task's logs, and the task's
    timeout."""
    spec = node.spec
    handler = spec.options.on_rollback
    assert handler is not None
    record = run.tasks[key]
    context = RollbackContext(
        run_id=run.run_id,
        key=key,
        task=spec.name,
        params=dict(run.params),
        reason=run.rollback_reason,
        attempt=attempt,
    )
    args: tuple[Arg, ...] = (Given(value, source=key),)
    if handler_arity(handler) == 2:
        args += (Lit(context),)
    return TaskCall(
        call_id=call_id,
        run_id=run.run_id,
        key=key,
        task=spec.name,
        fn=handler,
        fn_id=f"{handler.__module__}.{handler.__qualname__}#{id(handler):x}",
        attempt=record.attempt,
        map_index=record.map_index,
        args=args,
        kwargs=(),
        resources=Resources(),  # the task's resources were for its work, not its undoing
        timeout=spec.options.timeout,
        secrets=secrets,
    )


def summary(run: RunRecord) -> str:
    """How the rollback went, for the run's reason: ``rolled back 3 tasks`` or
    ``rollback incomplete: deploy failed, notify not run``."""
    states = [c.state for c in run.rollbacks.values()]
    if all(s is RollbackState.SUCCEEDED for s in states):
        n = len(states)
        return f"rolled back {n} task{'s' if n != 1 else ''}"
    problems = []
    for key, c in run.rollbacks.items():
        if c.state is RollbackState.FAILED:
            problems.append(f"{key} failed")
        elif c.state is RollbackState.STARTED:
            problems.append(f"{key} interrupted")
        elif c.state is RollbackState.PLANNED:
            problems.append(f"{key} not run")
    shown = ", ".join(problems[:5]) + (
        f" and {len(problems) - 5} more" if len(problems) > 5 else ""
    )
    return f"rollback incomplete: {shown}"
