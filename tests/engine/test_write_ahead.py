"""Write-ahead dispatch: with a run store, a call reaches the executor only once the store has
committed the call's own ``running`` transition and the success (with the stored output) of
every task whose output it binds; a compensation only once its ``started`` is committed; the
dependents of a cache hit only once the hit is committed.

What it buys: a task whose success was durable is never executed again by a resume (only a
call in flight at the crash may run once more), since no task can have consumed an output
the store does not hold. Proved three ways: an orchestrator killed for real at random points
of a chain, then resumed in a new process; random pipelines on an executor that reads the
store at every submit (:mod:`engine.committed`); and rollbacks on the same executor.
Runs without a store (``store=False``) dispatch at once and are not concerned.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
import rollback_pipeline as rp
from hypothesis import HealthCheck, given, settings

import legato
from legato import (
    Capacity,
    Executor,
    FailurePolicy,
    InlineExecutor,
    ProcessesExecutor,
    RetryPolicy,
    RunState,
    ThreadsExecutor,
)
from legato.model.states import TaskState
from legato.testing import EventRecorder

from .committed import CheckedExecutor, Submit, broken, durable_storage
from .dags import CUSTOM, DagSpec, NodeSpec, Probe, build_pipeline, check_run, dag_specs
from .test_crash_recovery import base_env, committed_keys, ledger, run_script

CHAIN = Path(__file__).parents[1] / "resources" / "paced_chain.py"
LENGTH = 40

# --------------------------------------------------------------------------- killed for real

KILL_SEED = 20261214
KILL_POINTS = random.Random(KILL_SEED).sample(range(1, LENGTH), 20)
"""Ledger lengths at which the orchestrator is killed (fixed: a failure reproduces)."""
EVERY_RUN = 3
"""How many of them run in the default run, per executor; the others are marked
``exhaustive`` (``make test-exhaustive``): more kill points of the same chain prove nothing
the first ones do not, and all 40 cost a minute and a half of CI."""
PACE = "0.02"
"""Seconds each task of the chain sleeps."""


def _kill_cases() -> list[object]:
    return [
        pytest.param(
            executor,
            lines,
            marks=[] if i < EVERY_RUN else [pytest.mark.slow, pytest.mark.exhaustive],
            id=f"{executor}-kill-at-{lines}",
        )
        for executor in ("threads", "processes")
        for i, lines in enumerate(KILL_POINTS)
    ]


def _lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def _crash_when_ledger_holds(env: dict[str, str], lines: int, log: Path) -> None:
    """Run the chain in a session of its own and SIGKILL its whole process group as soon as
    the ledger holds ``lines`` lines (at once: the kill lands while the task that wrote the
    last line has just started, when its predecessor's success may still wait for its
    commit), then wait until every process of the run is gone.

    The task that writes line ``lines`` is held (it sleeps a minute), so the run cannot end
    before the kill however late this process gets to it; a late kill only catches fewer
    runs in the act."""
    ledger_path = Path(env["LEGATO_TEST_LEDGER"])
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, str(CHAIN), "run"],
            env={**env, "LEGATO_TEST_HOLD": str(lines - 1)},
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while _lines(ledger_path) < lines:
            if proc.poll() is not None:
                pytest.fail(f"the run ended ({proc.returncode}) first:\n{log.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"the ledger never held {lines} lines:\n{log.read_text()}")
            time.sleep(0.0005)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    _wait_for_orphans(env["LEGATO_HOME"])


def _wait_for_orphans(home: str, timeout: float = 10.0) -> None:
    """Wait until no process of the killed run is left: worker processes run in sessions of
    their own and kill themselves once they see their orchestrator is gone; one that had
    received a call may still write its ledger line meanwhile."""
    marker = f"LEGATO_HOME={home}".encode()
    deadline = time.monotonic() + timeout
    while True:
        left = []
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/environ", "rb") as environ:
                    if marker in environ.read().split(b"\0"):
                        left.append(int(entry.name))
            except OSError:  # gone meanwhile, or not ours
                continue
        if not left:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"processes of the killed run still alive: {left}")
        time.sleep(0.05)


def _key(index: int) -> str:
    return "step" if index == 0 else f"step_{index + 1}"


@pytest.mark.parametrize(("executor", "lines"), _kill_cases())
def test_a_task_whose_successor_started_never_runs_again(
    tmp_path: Path, executor: str, lines: int
) -> None:
    """A chain of 40 tasks is killed (SIGKILL to its process group) once N tasks have
    started, for 20 random N per executor, then resumed in a new process: every task runs
    once or twice, and a task whose successor had started runs once.

    Each task sleeps 0.02 s rather than 0.1 s: the kill lands right after a task wrote its
    line, when its predecessor's success may still wait for its commit, however long tasks
    take. A point still costs ~2.5 s (two interpreters, each opening the store, and the
    processes executor's worker), 40 points ~100 s on two cores: so 3 points per executor
    run by default and the other 17 are marked ``exhaustive`` (``make test-exhaustive``).
    The 3 suffice to catch a dispatch ahead of the commit: on the loop that dispatched so,
    every point with N >= 2 caught it.
    """
    env = {
        **base_env(tmp_path),
        "LEGATO_TEST_EXECUTOR": executor,
        "LEGATO_TEST_PACE": PACE,
        "LEGATO_CONCURRENCY": "1",  # a chain: one worker is all it uses, and starts faster
    }

    _crash_when_ledger_holds(env, lines, tmp_path / "crashed.log")

    at_kill = (tmp_path / "ledger.txt").read_text().split()
    before = Counter(at_kill)
    run_id, durable = committed_keys(Path(env["LEGATO_HOME"]))
    resumed = run_script(env, "resume", run_id, script=CHAIN)

    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert resumed.stdout.split() == [run_id, "succeeded", str(LENGTH)]
    after = ledger(tmp_path)
    assert set(after) == {str(i) for i in range(LENGTH)}
    assert max(after.values()) <= 2, after
    # A task runs only on its predecessor's stored output: if it had started, that output
    # (the predecessor's success) was durable, and the resume keeps it.
    again = [i for i in range(LENGTH - 1) if before[str(i + 1)] and after[str(i)] != 1]
    assert not again, (
        f"tasks {again} ran again though their successors had started before the kill "
        f"(ledger at the kill: {' '.join(at_kill)}; success not committed at the kill: "
        f"{[i for i in again if _key(i) not in durable]})"
    )


# --------------------------------------------------------------------------- every submit


CAPACITY = Capacity(cpus=4, memory=1024**3, custom={CUSTOM: 2}, slots=3)
"""Fits every random task (2 CPUs and 1 ``db`` at most)."""


def _executor(kind: str) -> Executor:
    if kind == "inline":
        return InlineExecutor(capacity=replace(CAPACITY, slots=1))
    return ThreadsExecutor(max_workers=CAPACITY.slots, capacity=CAPACITY)


def _no_delays(dag: DagSpec) -> DagSpec:
    """The same DAG with retries at once: the runs use the real clock (the threads work
    in real time, and the store's heartbeats would spin a fake one)."""
    return DagSpec(
        nodes=tuple(replace(n, retry=replace(n.retry, delay=0.0)) for n in dag.nodes),
        policy=dag.policy,
    )


@dataclass
class Runs:
    """What two runs of a random DAG did."""

    submits: list[Submit] = field(default_factory=list)
    started: int = 0
    """Calls started, as the runs' events tell it."""
    hits: set[tuple[str, str]] = field(default_factory=set)
    """(run id, key) of each cache hit, as the runs' events tell it."""


def run_twice(dag: DagSpec, kind: str) -> Runs:
    """Run ``dag`` twice over one durable store (the second run reuses what the first stored:
    cache hits), on checked executors of ``kind``."""
    dag = _no_delays(dag)
    runs = Runs()
    with durable_storage() as (storage, reader):
        for turn in range(2):
            # A fresh probe each time: the tasks' code fingerprints cover what their closures
            # hold, and the first run's probe no longer holds what it did.
            probe = Probe()
            pipeline = build_pipeline(dag, probe)
            checked = CheckedExecutor(_executor(kind), reader, pipeline.graph)
            recorder = EventRecorder()
            result = legato.run(pipeline, executor=checked, store=storage, listeners=[recorder])
            if turn == 0:
                check_run(dag, pipeline, result, recorder, probe, fake_clock=False)
            runs.submits += checked.submits
            for e in recorder.transitions():
                if e.state is TaskState.RUNNING and not result.tasks[e.key].mapped:
                    runs.started += 1
                if e.cache_hit is not None:
                    runs.hits.add((e.run_id, e.key))
    return runs


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dag=dag_specs(max_tasks=20))
@pytest.mark.parametrize("kind", ["inline", "threads"])
def test_every_call_waits_for_its_inputs_and_its_claim_to_be_committed(
    kind: str, dag: DagSpec
) -> None:
    """In random pipelines (retries, maps, failures, then cache hits in a second run), the
    store holds each call's ``running`` and its upstream tasks' successes when it is
    submitted."""
    runs = run_twice(dag, kind)

    # Every call was checked (under fail-fast a call claimed but cancelled before its
    # submit is never submitted).
    assert len(runs.submits) <= runs.started
    if dag.policy is FailurePolicy.KEEP_GOING:
        assert len(runs.submits) == runs.started
    assert not broken(runs.submits), "\n".join(broken(runs.submits)[:5])


RETRIED_THEN_CACHED = DagSpec(
    nodes=(
        NodeSpec(index=0, deps=(), length=2),
        # Fails once, succeeds in attempt 2: a retry, then a cache hit in the second run.
        NodeSpec(index=1, deps=(0,), fail_on=frozenset({1}), retry=RetryPolicy(attempts=2)),
        NodeSpec(index=2, deps=(0,), map_over="upstream"),
        # Fails in every run: in the second, it is submitted on top of cache hits.
        NodeSpec(index=3, deps=(1, 2), fail_on=frozenset({1})),
    )
)


@pytest.mark.parametrize("kind", ["inline", "threads"])
def test_retries_and_the_dependents_of_cache_hits_wait_too(kind: str) -> None:
    """The random pipelines above cover these by chance; this one always does: a retried
    call, map items, and in the second run a call whose inputs are cache hits."""
    runs = run_twice(RETRIED_THEN_CACHED, kind)

    submits = runs.submits
    first, second = sorted({s.run_id for s in submits})
    assert ("t1", 2) in {(s.key, s.attempt) for s in submits if s.run_id == first}
    assert {"t2[0]", "t2[1]"} <= {s.key for s in submits if s.run_id == first}
    assert [s.key for s in submits if s.run_id == second] == ["t3"]
    assert {(second, "t0"), (second, "t1"), (second, "t2[0]")} <= runs.hits
    assert len(submits) == runs.started
    assert not broken(submits), "\n".join(broken(submits))


# --------------------------------------------------------------------------- compensations

EXECUTORS: dict[str, type[Executor]] = {
    "inline": InlineExecutor,
    "threads": ThreadsExecutor,
    "processes": ProcessesExecutor,
}


@pytest.mark.usefixtures("ledger")
@pytest.mark.parametrize("pipeline", [rp.saga, rp.saga_map], ids=["chain", "map"])
def test_a_handler_is_submitted_once_its_start_is_committed(
    executor: str, pipeline: legato.Pipeline[[], None]
) -> None:
    """A run that fails rolls back: each ``on_rollback`` handler reaches the executor only
    once the store holds the ``started`` of its compensation, so a resume after a crash runs
    it again rather than skip it."""
    with durable_storage() as (storage, reader):
        checked = CheckedExecutor(EXECUTORS[executor](), reader, pipeline.graph)
        result = legato.run(pipeline, executor=checked, store=storage)

    assert result.state is RunState.FAILED
    handlers = [s for s in checked.submits if s.handler]
    assert sorted(s.key for s in handlers) == sorted(result.rollbacks)
    assert len(handlers) >= 2
    assert not broken(checked.submits, handlers=True), "\n".join(
        broken(checked.submits, handlers=True)
    )
