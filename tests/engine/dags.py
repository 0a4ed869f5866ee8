"""Random pipelines for property tests: a Hypothesis strategy for DAG specs, a builder that
turns a spec into a real ``@pipeline`` of real ``@task``s, an oracle that says how a run of it
must end, and the invariants every run must keep.

A spec has 1..40 tasks ``t0, t1, ...``; a task reads only earlier tasks (so the trace order
is a topological order). A plain task returns a list (``["t3", "t3"]``) so that any task can
be mapped over; a mapped task maps over a literal list (its items numbered, or keyed by
their values: ``t4[k0]``) or over its first input's output and gets its other inputs
whole. A task raises on the attempts in ``fail_on``; whether that is retried depends on its
retry policy, so how every task ends is known in advance.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from hypothesis import strategies as st

import legato
from legato import Capacity, FailurePolicy, Resources, RetryPolicy, RunState, TaskState
from legato.model.events import Event, RunTransitioned, TaskTransitioned
from legato.model.states import TASK_TERMINAL
from legato.testing import EventRecorder

__all__ = [
    "DagSpec",
    "Expected",
    "NodeSpec",
    "Probe",
    "build_pipeline",
    "capacities",
    "check_run",
    "dag_specs",
    "expect",
    "max_use_from_events",
]

CUSTOM = "db"
"""The custom resource random tasks may ask for."""


@dataclass(frozen=True)
class NodeSpec:
    """One random task and how it behaves."""

    index: int
    deps: tuple[int, ...]
    """Earlier tasks whose outputs it reads, in order."""
    map_over: str | None = None
    """None (a plain task), ``"literal"``, ``"keyed"`` (a literal list in ``keyed(...)``) or
    ``"upstream"`` (its first input's output)."""
    literal: tuple[int, ...] = ()
    length: int = 1
    """Length of the list a plain task returns."""
    cpus: float = 1.0
    custom: float = 0.0
    gpus: int = 0
    fail_on: frozenset[int] = frozenset()
    """Attempts (1-based) that raise."""
    error: type[Exception] = ValueError
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @property
    def key(self) -> str:
        return f"t{self.index}"

    def items(self, given: list[Any]) -> list[Any]:
        """The list a mapped task goes over, given its inputs' outputs."""
        if self.map_over == "literal":
            return list(self.literal)
        if self.map_over == "keyed":
            return [f"k{i}" for i in self.literal]
        return list(given[0])

    def item_key(self, index: int, item: Any) -> str:
        """The task key of item ``index`` (whose value is ``item``)."""
        return f"{self.key}[{item if self.map_over == 'keyed' else index}]"

    @property
    def resources(self) -> Resources:
        return Resources(
            cpus=self.cpus, gpus=self.gpus, custom={CUSTOM: self.custom} if self.custom else {}
        )

    def retried(self, error: type[BaseException]) -> bool:
        """Whether the retry policy covers ``error``."""
        retry_on = self.retry.retry_on
        classes = retry_on if isinstance(retry_on, tuple) else (retry_on,)
        return issubclass(error, classes)


@dataclass(frozen=True)
class DagSpec:
    """A random pipeline."""

    nodes: tuple[NodeSpec, ...]
    policy: FailurePolicy = FailurePolicy.KEEP_GOING

    def node(self, key: str) -> NodeSpec:
        """The spec of task ``key`` or of the mapped task an item ``key`` belongs to."""
        return self.nodes[int(key.split("[", 1)[0][1:])]


_RETRIES = st.builds(
    RetryPolicy,
    attempts=st.integers(1, 3),
    delay=st.sampled_from([0.0, 0.5, 3.0]),
    backoff=st.sampled_from([1.0, 2.0]),
    max_delay=st.sampled_from([2.0, 300.0]),
    jitter=st.sampled_from([0.0, 0.25]),
    retry_on=st.sampled_from([(Exception,), (KeyError,)]),
)


@st.composite
def _node(draw: st.DrawFn, index: int, *, gpus: bool) -> NodeSpec:
    deps = tuple(
        sorted(draw(st.lists(st.integers(0, index - 1), max_size=min(3, index), unique=True)))
        if index
        else ()
    )
    kinds = [None, None, "literal", "keyed"] + (["upstream", "upstream"] if deps else [])
    map_over = draw(st.sampled_from(kinds))
    fails = draw(st.sampled_from([False, False, False, True]))
    return NodeSpec(
        index=index,
        deps=deps,
        map_over=map_over,
        literal=tuple(range(draw(st.integers(0, 3)))) if map_over in ("literal", "keyed") else (),
        length=draw(st.integers(0, 3)),
        cpus=draw(st.sampled_from([0.5, 1.0, 2.0])),
        custom=draw(st.sampled_from([0.0, 0.0, 1.0])),
        gpus=draw(st.sampled_from([0, 0, 0, 1])) if gpus else 0,
        fail_on=draw(st.frozensets(st.integers(1, 3), min_size=1)) if fails else frozenset(),
        error=draw(st.sampled_from([ValueError, KeyError])),
        retry=draw(_RETRIES),
    )


@st.composite
def dag_specs(
    draw: st.DrawFn, *, max_tasks: int = 40, gpus: bool = False, policy: bool = True
) -> DagSpec:
    """Random DAG specs of 1..``max_tasks`` tasks."""
    n = draw(st.integers(1, max_tasks))
    nodes = tuple(draw(_node(i, gpus=gpus)) for i in range(n))
    chosen = draw(st.sampled_from(list(FailurePolicy))) if policy else FailurePolicy.KEEP_GOING
    return DagSpec(nodes=nodes, policy=chosen)


def capacities(*, gpus: bool = False) -> st.SearchStrategy[Capacity]:
    """Capacities every random task fits in (2 CPUs, 1 ``db``, 1 GPU at least)."""
    return st.builds(
        Capacity,
        cpus=st.sampled_from([2.0, 2.5, 3.0, 4.0]),
        memory=st.just(1024**3),
        gpus=st.sampled_from([1, 2]) if gpus else st.just(0),
        custom=st.sampled_from([1.0, 2.0]).map(lambda n: {CUSTOM: n}),
        slots=st.integers(1, 4),
    )


# --------------------------------------------------------------------------- building


@dataclass
class Probe:
    """What the random tasks saw, written from inside them (from any worker thread).

    With ``capacity`` set, each attempt also adds its resources to a shared tally while it
    runs, and the largest tally and any GPU handed to two attempts at once are kept.
    """

    capacity: Capacity | None = None
    pause: float = 0.0
    """Seconds each attempt sleeps, so that threads overlap."""
    calls: list[tuple[str, int, tuple[Any, ...]]] = field(default_factory=list)
    max_use: dict[str, float] = field(default_factory=dict)
    gpu_clashes: list[tuple[str, tuple[int, ...]]] = field(default_factory=list)
    _use: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    _gpus: dict[int, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def enter(self, key: str, attempt: int, inputs: tuple[Any, ...], node: NodeSpec) -> None:
        ctx = legato.context()
        assert ctx is not None
        with self._lock:
            self.calls.append((key, attempt, inputs))
            if self.capacity is None:
                return
            amounts = {**node.resources.amounts(), "slots": 1.0}
            for name, amount in amounts.items():
                self._use[name] += amount
                self.max_use[name] = max(self.max_use.get(name, 0.0), self._use[name])
            if len(ctx.gpu_ids) != node.gpus:
                self.gpu_clashes.append((key, ctx.gpu_ids))
            for gpu in ctx.gpu_ids:
                if gpu in self._gpus:
                    self.gpu_clashes.append((key, ctx.gpu_ids))
                self._gpus[gpu] = key

    def leave(self, node: NodeSpec) -> None:
        if self.capacity is None:
            return
        ctx = legato.context()
        assert ctx is not None
        with self._lock:
            for name, amount in {**node.resources.amounts(), "slots": 1.0}.items():
                self._use[name] -= amount
            for gpu in ctx.gpu_ids:
                self._gpus.pop(gpu, None)

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until no attempt is inside a task (abandoned threads finish late)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if self._use.get("slots", 0.0) < 0.5:
                    return
            time.sleep(0.005)
        raise AssertionError("attempts still running long after the run ended")


def _task_for(node: NodeSpec, probe: Probe) -> legato.Task[..., Any]:
    def body(*inputs: Any) -> Any:
        ctx = legato.context()
        assert ctx is not None
        probe.enter(ctx.key, ctx.attempt, inputs, node)
        try:
            if probe.pause:
                time.sleep(probe.pause)
            if ctx.attempt in node.fail_on:
                raise node.error(f"{ctx.key} fails in attempt {ctx.attempt}")
            if ctx.map_index is None:
                return [node.key] * node.length
            return f"{ctx.key}"
        finally:
            probe.leave(node)

    return legato.task(name=node.key, retry=node.retry, resources=node.resources)(body)


def build_pipeline(dag: DagSpec, probe: Probe) -> legato.Pipeline[[], Any]:
    """A real ``@pipeline`` of real ``@task``s wired as ``dag`` says."""
    tasks = [_task_for(node, probe) for node in dag.nodes]

    @legato.pipeline(name="random_dag", failure_policy=dag.policy)
    def random_dag() -> Any:
        outs: list[Any] = []
        for node, task in zip(dag.nodes, tasks, strict=True):
            deps = [outs[j] for j in node.deps]
            if node.map_over is None:
                outs.append(task(*deps))
            elif node.map_over == "literal":
                outs.append(task.map(list(node.literal), *[legato.unmapped(d) for d in deps]))
            elif node.map_over == "keyed":
                names = legato.keyed(node.items([]))
                outs.append(task.map(names, *[legato.unmapped(d) for d in deps]))
            else:
                outs.append(task.map(deps[0], *[legato.unmapped(d) for d in deps[1:]]))
        return outs[-1]

    return random_dag


# --------------------------------------------------------------------------- the oracle


@dataclass
class Expected:
    """How a keep-going run of a spec ends, worked out without legato."""

    states: dict[str, TaskState] = field(default_factory=dict)
    runs: dict[str, int] = field(default_factory=dict)
    """RUNNING transitions per key (a mapped group's own start counts one)."""
    outputs: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    """What each attempt that ran was given."""


def _attempts(node: NodeSpec) -> tuple[TaskState, int]:
    attempt = 1
    while attempt in node.fail_on:
        if attempt >= node.retry.attempts or not node.retried(node.error):
            return TaskState.FAILED, attempt
        attempt += 1
    return TaskState.SUCCEEDED, attempt


def expect(dag: DagSpec) -> Expected:
    """The final state, number of runs, inputs and output of every task and item."""
    out = Expected()
    for node in dag.nodes:
        key = node.key
        if any(out.states[f"t{j}"] is not TaskState.SUCCEEDED for j in node.deps):
            out.states[key] = TaskState.UPSTREAM_FAILED
            out.runs[key] = 0
            continue
        given = [out.outputs[f"t{j}"] for j in node.deps]
        if node.map_over is None:
            out.states[key], out.runs[key] = _attempts(node)
            out.inputs[key] = tuple(given)
            out.outputs[key] = [key] * node.length
            continue
        items = node.items(given)
        whole = given if node.map_over in ("literal", "keyed") else given[1:]
        out.runs[key] = 1
        children = [node.item_key(i, item) for i, item in enumerate(items)]
        for child, item in zip(children, items, strict=True):
            out.states[child], out.runs[child] = _attempts(node)
            out.inputs[child] = (item, *whole)
        ok = all(out.states[child] is TaskState.SUCCEEDED for child in children)
        out.states[key] = TaskState.SUCCEEDED if ok else TaskState.FAILED
        out.outputs[key] = children
    for key, state in list(out.states.items()):
        if state is not TaskState.SUCCEEDED:
            out.outputs.pop(key, None)
    return out


# --------------------------------------------------------------------------- invariants


def _retry_bounds(retry: RetryPolicy, failed_attempt: int) -> tuple[float, float]:
    base = min(retry.max_delay, retry.delay * retry.backoff ** (failed_attempt - 1))
    return base * (1 - retry.jitter), base * (1 + retry.jitter)


def max_use_from_events(events: list[Event], dag: DagSpec) -> dict[str, float]:
    """The largest sum of resources held by attempts at once, as the events tell it: an
    attempt holds its task's resources from its RUNNING transition to the next one."""
    running: dict[str, Mapping[str, float]] = {}
    use: dict[str, float] = defaultdict(float)
    peak: dict[str, float] = {}
    for event in events:
        if not isinstance(event, TaskTransitioned):
            continue
        node = dag.node(event.key)
        if node.map_over is not None and "[" not in event.key:
            continue  # a mapped group is bookkeeping, not an attempt
        if event.state is TaskState.RUNNING:
            amounts = {**node.resources.amounts(), "slots": 1.0}
            running[event.key] = amounts
            for name, amount in amounts.items():
                use[name] += amount
                peak[name] = max(peak.get(name, 0.0), use[name])
        elif event.key in running:
            for name, amount in running.pop(event.key).items():
                use[name] -= amount
    return peak


def assert_within(peak: Mapping[str, float], capacity: Capacity) -> None:
    """Every peak amount is at most what ``capacity`` offers."""
    offered = {**capacity.amounts(), "slots": float(capacity.slots)}
    over = {k: (v, offered.get(k, 0.0)) for k, v in peak.items() if v > offered.get(k, 0.0) + 1e-9}
    assert not over, f"resources used beyond capacity (used, offered): {over}"


def check_run(
    dag: DagSpec,
    pipeline: legato.Pipeline[[], Any],
    result: legato.RunResult,
    recorder: EventRecorder,
    probe: Probe,
    *,
    fake_clock: bool = True,
) -> None:
    """Every invariant a finished run of ``dag`` keeps."""
    events = recorder.events
    # The history is well formed: table, attempts, dependencies, one terminal per task.
    recorder.check(pipeline.graph)

    # The reducer rebuilds the loop's own record from the events, field by field.
    replayed = recorder.replay()
    for f in fields(replayed):
        assert getattr(replayed, f.name) == getattr(result.record, f.name), f.name

    states = {k: t.state for k, t in result.tasks.items()}
    assert all(s in TASK_TERMINAL for s in states.values())
    terminal = Counter(
        e.key for e in events if isinstance(e, TaskTransitioned) and e.state in TASK_TERMINAL
    )
    assert terminal == Counter(states.keys())
    all_ok = all(s is TaskState.SUCCEEDED for s in states.values())
    assert (result.state is RunState.SUCCEEDED) == all_ok
    assert result.state in (RunState.SUCCEEDED, RunState.FAILED)
    run_states = [e.state for e in events if isinstance(e, RunTransitioned)]
    assert run_states == [RunState.RUNNING, result.state]

    transitions = recorder.transitions()
    runs = Counter(e.key for e in transitions if e.state is TaskState.RUNNING)
    for key, record in result.tasks.items():
        node = dag.node(key)
        group = node.map_over is not None and "[" not in key
        # Attempts count up one per start; a task ends in the attempt that ran last, or
        # in the next one when it was cancelled while waiting to start it.
        started = [e.attempt for e in transitions if e.key == key and e.state is TaskState.RUNNING]
        assert started == list(range(1, len(started) + 1)), (key, started)
        if group:
            assert record.attempt == 1, key
            assert runs[key] <= 1, key
        elif record.state in (TaskState.SUCCEEDED, TaskState.FAILED):
            assert runs[key] == record.attempt, (key, runs[key], record.attempt)
        else:
            assert record.attempt - runs[key] in (0, 1), (key, runs[key], record.attempt)
        if record.state is TaskState.UPSTREAM_FAILED:
            assert runs[key] == 0, key

    # A retry waits only while attempts remain, for an error the policy covers, for a delay
    # that follows the policy; the next attempt is not ready before the wait is over.
    for i, event in enumerate(transitions):
        if event.state is not TaskState.RETRY_WAIT:
            continue
        node = dag.node(event.key)
        assert event.attempt < node.retry.attempts, event
        assert event.attempt in node.fail_on, event
        assert node.retried(node.error), event
        assert event.retry_at is not None
        low, high = _retry_bounds(node.retry, event.attempt)
        assert low - 1e-9 <= event.retry_at - event.at <= high + 1e-9, (event, low, high)
        after = [e for e in transitions[i + 1 :] if e.key == event.key]
        if after and after[0].state is TaskState.READY and fake_clock:
            assert after[0].at >= event.retry_at, (event, after[0])

    expected = expect(dag)
    seen_inputs = {(key, attempt): inputs for key, attempt, inputs in probe.calls}
    if dag.policy is FailurePolicy.KEEP_GOING or all(
        s is TaskState.SUCCEEDED for s in expected.states.values()
    ):
        assert states == expected.states
        assert {k: runs[k] for k in states} == expected.runs
        for key, inputs in expected.inputs.items():
            for attempt in range(1, expected.runs[key] + 1):
                assert seen_inputs[(key, attempt)] == inputs, (key, attempt)
        if result.ok:
            assert result.output == expected.outputs[dag.nodes[-1].key]
    else:
        # Fail-fast: who is cut short depends on order, but nothing ends in a way its own
        # behaviour rules out, and nothing new starts once a task has failed.
        for key, state in states.items():
            group = dag.node(key).map_over is not None and "[" not in key
            if state is TaskState.SUCCEEDED or (state is TaskState.FAILED and not group):
                assert expected.states[key] is state, key
                assert runs[key] == expected.runs[key], key
        failed_at = next(
            (
                i
                for i, e in enumerate(transitions)
                if e.state in (TaskState.FAILED, TaskState.TIMED_OUT)
            ),
            None,
        )
        if failed_at is not None:
            later = [
                e
                for e in transitions[failed_at + 1 :]
                if e.state in (TaskState.READY, TaskState.RUNNING, TaskState.RETRY_WAIT)
            ]
            assert not later, later
        assert any(s is TaskState.FAILED for s in states.values())
