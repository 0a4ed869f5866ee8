"""The scheduler on its own: no executor, no store, no clock, no threads.

A simulated world plays the driver's part with random timing: it commits the events the
scheduler decided at random moments, hands a call over only once its claim is committed,
delivers outcomes in random order (each task fails in the attempts its spec says), fires
retry timers on a simulated clock, answers cache lookups, and cancels now and then. Every
run of a random DAG must keep the scheduler's promises: each ``Submit`` names a claim that
comes after the call's own ``running`` event and after the successes of every task whose
output it binds (write-ahead dispatch), resources are never over-committed, every task ends
exactly once, the events fold into the scheduler's own record, and a run that is not
cancelled ends as the oracle says.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import legato
from legato import Capacity, FailurePolicy, RunState, TaskState
from legato.define.graph import Graph
from legato.engine.caching import Verdict
from legato.engine.plan import Plan, build_plan
from legato.engine.reducer import fold
from legato.engine.scheduler import (
    CacheAnswer,
    Cancel,
    LookUp,
    RetryDue,
    Scheduler,
    SetTimer,
    Submit,
)
from legato.model.calls import OutcomeKind, TaskCall, TaskOutcome
from legato.model.errors import ErrorInfo
from legato.model.events import Event, TaskTransitioned
from legato.model.states import TASK_TERMINAL
from legato.model.values import Inline
from legato.testing import check_history

from .dags import DagSpec, Probe, build_pipeline, capacities, dag_specs, expect

pytestmark = pytest.mark.timeout(120)


@dataclass
class World:
    """Plays the driver: commits, hands over, reports and fires timers when it likes."""

    scheduler: Scheduler
    plan: Plan
    graph: Graph
    dag: DagSpec
    capacity: Capacity
    rng: random.Random
    now: float = 1_000_000.0
    events: list[Event] = field(default_factory=list)
    committed: int = 0
    held: dict[int, tuple[int, TaskCall]] = field(default_factory=dict)
    running: dict[int, TaskCall] = field(default_factory=dict)
    stopped: set[int] = field(default_factory=set)
    """Calls cancelled: their outcome, when it comes, is STOPPED."""
    timers: list[tuple[float, RetryDue]] = field(default_factory=list)
    use: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    claims: dict[tuple[str, int], int] = field(default_factory=dict)
    """Sequence number of the RUNNING event of each (key, attempt)."""
    successes: dict[str, int] = field(default_factory=dict)
    submits: int = 0
    queued: set[int] = field(default_factory=set)
    """Calls in flight that were handed over ahead of the pool (``Call.queued``)."""

    def absorb(self) -> None:
        """Take what the scheduler decided and check each command as it comes."""
        scheduler = self.scheduler
        while True:
            events, commands = scheduler.take()
            for event in events:
                self.events.append(event)
                if isinstance(event, TaskTransitioned):
                    if event.state is TaskState.RUNNING:
                        self.claims[(event.key, event.attempt)] = event.seq
                    elif event.state is TaskState.SUCCEEDED:
                        self.successes[event.key] = event.seq
            lookup = None
            for command in commands:
                if isinstance(command, Submit):
                    self._check_submit(command)
                    self.held[command.call.call_id] = (command.after, command.call)
                elif isinstance(command, Cancel):
                    held = self.held.pop(command.call_id, None)
                    if held is not None:  # never handed over: it stops at once
                        self._report(held[1], OutcomeKind.STOPPED)
                    else:
                        self.stopped.add(command.call_id)
                elif isinstance(command, SetTimer):
                    self.timers.append((self.now + command.delay, command.timer))
                else:
                    assert isinstance(command, LookUp)
                    lookup = command
            if lookup is None:
                return
            scheduler.on_verdicts(self._misses(lookup), self.now)
            scheduler.step(self.now)

    def _misses(self, lookup: LookUp) -> list[CacheAnswer]:
        return [(Verdict(None, None, None, "cache: off"), None) for _ in lookup.requests]

    def _check_submit(self, command: Submit) -> None:
        call = command.call
        claim = self.claims.get((call.key, call.attempt))
        assert claim is not None, f"{call.key} submitted without a claim"
        assert claim <= command.after <= self.events[-1].seq, (call.key, claim, command.after)
        node = self.plan.nodes[call.key.split("[", 1)[0]]
        for up in node.upstream:
            seq = self.successes.get(up)
            assert seq is not None, f"{call.key} submitted before its input {up} succeeded"
            assert seq <= command.after, f"{call.key} may start before {up}'s success commits"

    def commit(self) -> None:
        """Commit everything decided; hand over the calls whose claims are now durable."""
        if self.events:
            self.committed = self.events[-1].seq
        for call_id, (after, call) in list(self.held.items()):
            if after <= self.committed:
                del self.held[call_id]
                self._hand_over(call)

    def _hand_over(self, call: TaskCall) -> None:
        self.submits += 1
        assert all(c.key != call.key for c in self.running.values()), f"{call.key} twice"
        self.running[call.call_id] = call
        tracked = self.scheduler.dispatcher.calls.get(call.call_id)
        if tracked is not None and tracked.queued:
            # Handed over ahead of the pool: held to the capacity by the executor instead.
            self.queued.add(call.call_id)
            assert not call.resources.gpus, f"{call.key} asks for GPUs and went ahead"
            assert len(self.queued) <= self.scheduler.dispatcher.queue_ahead
            return
        amounts = {**call.resources.amounts(), "slots": 1.0}
        offered = {**self.capacity.amounts(), "slots": float(self.capacity.slots)}
        for name, amount in amounts.items():
            self.use[name] += amount
            assert self.use[name] <= offered.get(name, 0.0) + 1e-9, (name, dict(self.use))

    def deliver(self) -> None:
        """The outcome of one call in flight, chosen at random."""
        call_id = self.rng.choice(list(self.running))
        call = self.running.pop(call_id)
        if call_id in self.queued:
            self.queued.discard(call_id)
        else:
            for name, amount in {**call.resources.amounts(), "slots": 1.0}.items():
                self.use[name] -= amount
        if call_id in self.stopped:
            self._report(call, OutcomeKind.STOPPED)
            return
        node = self.dag.node(call.key)
        if call.attempt in node.fail_on:
            error = ErrorInfo.from_exception(node.error("random failure"))
            self._report(call, OutcomeKind.FAILED, error=error)
        elif "[" in call.key:
            self._report(call, OutcomeKind.SUCCEEDED, output=call.key)
        else:
            value = [node.key] * node.length
            self._report(call, OutcomeKind.SUCCEEDED, output=value, length=node.length)

    def _report(self, call: TaskCall, kind: OutcomeKind, **kw: Any) -> None:
        output = kw.pop("output", None)
        ran = self.rng.choice([0.0001, 0.001, 0.02])
        self.scheduler.on_outcome(
            TaskOutcome(
                call_id=call.call_id,
                key=call.key,
                attempt=call.attempt,
                kind=kind,
                output=Inline(output) if kind is OutcomeKind.SUCCEEDED else None,
                started_at=self.now,
                ended_at=self.now + ran,
                **kw,
            ),
            self.now,
        )
        self.absorb()

    def fire_timer(self) -> None:
        self.timers.sort(key=lambda t: t[0])
        due, timer = self.timers.pop(0)
        self.now = max(self.now, due)
        self.scheduler.on_timer(timer, self.now)
        self.absorb()


def play(dag: DagSpec, capacity: Capacity, seed: int, *, cancel_at: int | None) -> World:
    pipeline = build_pipeline(dag, Probe())
    plan = build_plan(pipeline.graph, {})
    rng = random.Random(seed)
    scheduler = Scheduler(
        run_id="sim",
        plan=plan,
        capacity=capacity,
        executor="simulated",
        seed=seed,
        caching=rng.random() < 0.5,
        runahead=(runahead := rng.random() < 0.5),
        queue_ahead=rng.choice([0, 1, 3]) if runahead else 0,
    )
    world = World(
        scheduler=scheduler, plan=plan, graph=pipeline.graph, dag=dag, capacity=capacity, rng=rng
    )
    scheduler.start(world.now)
    world.absorb()
    for turn in range(20_000):
        if cancel_at == turn:
            scheduler.cancel("cancelled by the test", world.now)
            world.absorb()
        scheduler.step(world.now)
        world.absorb()
        if scheduler.done:
            break
        world.now += rng.choice([0.0, 0.001])
        choices = ["commit"] * (2 if world.held else 0)
        choices += ["deliver"] * (3 if world.running else 0)
        choices += ["timer"] if world.timers and not world.running and not world.held else []
        assert choices, f"the run is stuck: {scheduler.table.open.keys()}"
        action = rng.choice(choices)
        if action == "commit":
            world.commit()
        elif action == "deliver":
            world.deliver()
        else:
            world.fire_timer()
    assert scheduler.done, "the run did not end"
    return world


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    dag=dag_specs(max_tasks=25),
    capacity=capacities(),
    seed=st.integers(0, 2**32),
    cancel_at=st.one_of(st.none(), st.integers(0, 60)),
)
def test_random_runs_keep_the_schedulers_promises(
    dag: DagSpec, capacity: Capacity, seed: int, cancel_at: int | None
) -> None:
    world = play(dag, capacity, seed, cancel_at=cancel_at)
    scheduler = world.scheduler
    record = scheduler.run

    # The events form a valid history that folds into the scheduler's own record.
    check_history(world.events, graph=world.graph)
    replayed = fold(world.events)
    assert replayed.state is record.state
    assert {k: t.state for k, t in replayed.tasks.items()} == {
        k: t.state for k, t in record.tasks.items()
    }
    # Every task ended, once.
    assert all(t.state in TASK_TERMINAL for t in record.tasks.values())
    ended = [
        e.key for e in world.events if isinstance(e, TaskTransitioned) and e.state in TASK_TERMINAL
    ]
    assert sorted(ended) == sorted(record.tasks)
    # Nothing left in flight, nothing handed over after the end.
    assert not world.running or record.state is RunState.CANCELLED

    cancelled = scheduler.cancel_requested
    if cancelled:
        assert record.state is RunState.CANCELLED
        return
    expected = expect(dag)
    if dag.policy is FailurePolicy.KEEP_GOING:
        assert {k: t.state for k, t in record.tasks.items()} == expected.states
    ok = all(s is TaskState.SUCCEEDED for s in expected.states.values())
    assert record.state is (RunState.SUCCEEDED if ok else RunState.FAILED)


@legato.task
def _spread(n: int) -> list[int]:
    return list(range(n))


@legato.task
def _step(x: int) -> int:
    return x


@legato.pipeline
def _mapped() -> list[int]:
    """One task's 40 items."""
    return _step.map(_spread(40))


@legato.pipeline
def _layer() -> list[int]:
    """One task used by 40 plan nodes, all ready at once (a layer of a DAG)."""
    first = _step(0)
    return [_step(first) for _ in range(40)]


def claimed_ahead(pipeline: legato.Pipeline[[], Any], seconds: float) -> int:
    """The most instances claimed ahead of free workers in a run whose every attempt
    reports ``seconds`` of work."""
    plan = build_plan(pipeline.graph, {})
    scheduler = Scheduler(
        run_id="ahead",
        plan=plan,
        capacity=Capacity(cpus=2, memory=1024**3, slots=2),
        executor="simulated",
        runahead=True,
    )
    scheduler.start(0.0)
    most = 0
    calls: list[TaskCall] = []
    for _ in range(200):
        scheduler.step(0.0)
        _, commands = scheduler.take()
        calls += [c.call for c in commands if isinstance(c, Submit)]
        most = max(most, len(scheduler.dispatcher.claimed))
        if not calls:
            break
        call = calls.pop(0)
        listed = call.task == "_spread"
        scheduler.on_outcome(
            TaskOutcome(
                call_id=call.call_id,
                key=call.key,
                attempt=call.attempt,
                kind=OutcomeKind.SUCCEEDED,
                output=Inline(list(range(40)) if listed else 1),
                length=40 if listed else None,
                started_at=0.0,
                ended_at=seconds,
            ),
            0.0,
        )
    assert scheduler.done
    return most


@pytest.mark.parametrize("pipeline", [_mapped, _layer], ids=["map items", "plan nodes"])
def test_claims_run_ahead_only_for_short_tasks(pipeline: legato.Pipeline[[], Any]) -> None:
    """The instances of a task that takes microseconds are claimed ahead of free workers
    (their claims join commits made while the workers work), whether they are items of a
    map or plan nodes of one task; those of a task that takes seconds are not, so no task
    shows running long before it runs."""
    assert claimed_ahead(pipeline, 0.00001) > 2
    assert claimed_ahead(pipeline, 5.0) == 0
