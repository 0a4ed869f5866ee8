"""Property tests of the engine over random pipelines (see :mod:`engine.dags`).

Each example builds a real pipeline of real tasks from a random DAG spec, runs it and checks
the invariants of every run: dependencies are respected, every task ends exactly once, the run
state agrees with its tasks, the reducer rebuilds the same record from the events, attempts
and retries follow the policies, and resources in use never exceed the executor's capacity.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import legato
from legato import Capacity, InlineExecutor, ThreadsExecutor
from legato.engine.run import prepare
from legato.model.events import RunTransitioned
from legato.model.states import TASK_TERMINAL, RunState, TaskState
from legato.testing import EventRecorder, FakeClock

from .dags import (
    CUSTOM,
    DagSpec,
    Probe,
    assert_within,
    build_pipeline,
    capacities,
    check_run,
    dag_specs,
    max_use_from_events,
)

pytestmark = pytest.mark.timeout(60)

PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

INLINE_CAPACITY = Capacity(cpus=2, memory=1024**3, custom={CUSTOM: 1}, slots=1)


@PROPERTY
@given(dag=dag_specs(), seed=st.integers(0, 2**16))
def test_inline_runs_keep_every_invariant(dag: DagSpec, seed: int) -> None:
    probe = Probe()
    pipeline = build_pipeline(dag, probe)
    recorder = EventRecorder()
    result = legato.run(
        pipeline,
        executor=InlineExecutor(capacity=INLINE_CAPACITY),
        clock=FakeClock(),
        listeners=[recorder],
        seed=seed,
        store=False,
    )
    check_run(dag, pipeline, result, recorder, probe)


@PROPERTY
@given(dag=dag_specs(max_tasks=25, gpus=True), capacity=capacities(gpus=True))
def test_threads_never_exceed_capacity(dag: DagSpec, capacity: Capacity) -> None:
    probe = Probe(capacity=capacity, pause=0.001)
    pipeline = build_pipeline(dag, probe)
    recorder = EventRecorder()
    result = legato.run(
        pipeline,
        executor=ThreadsExecutor(max_workers=capacity.slots, capacity=capacity),
        clock=FakeClock(),  # retry delays pass at once; the work itself takes real time
        listeners=[recorder],
        store=False,
    )
    probe.wait_idle()
    check_run(dag, pipeline, result, recorder, probe)
    # Measured inside the tasks, under a lock: what really ran at once.
    assert_within(probe.max_use, capacity)
    assert not probe.gpu_clashes, probe.gpu_clashes
    # And as the events tell it: from each RUNNING to the attempt's next transition.
    assert_within(max_use_from_events(recorder.events, dag), capacity)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dag=dag_specs(max_tasks=20), data=st.data())
def test_cancel_at_any_point_leaves_nothing_open(dag: DagSpec, data: st.DataObject) -> None:
    """A cancel requested after any batch of events ends the run cancelled (unless it had
    already ended) with every task in exactly one terminal state."""
    probe = Probe()
    pipeline = build_pipeline(dag, probe)
    recorder = EventRecorder()
    loop = prepare(
        pipeline,
        executor=InlineExecutor(capacity=INLINE_CAPACITY),
        clock=FakeClock(),
        listeners=[recorder],
    )
    cancel_after = data.draw(st.integers(1, 40), label="cancel after batch")

    class CancelAfter:
        batches = 0

        def on_events(self, events: object) -> None:
            self.batches += 1
            if self.batches == cancel_after:
                loop.request_cancel("test cancel")

    loop.journal.listeners.append(CancelAfter())
    record = loop.execute()
    loop.executor.close()

    checked = recorder.check(pipeline.graph)
    assert checked.state is record.state
    assert all(t.state in TASK_TERMINAL for t in record.tasks.values())
    if record.state is not legato.RunState.CANCELLED:
        all_ok = all(t.state is TaskState.SUCCEEDED for t in record.tasks.values())
        assert (record.state is RunState.SUCCEEDED) == all_ok
    cancelling = [
        e.seq
        for e in recorder.events
        if isinstance(e, RunTransitioned) and e.state is RunState.CANCELLING
    ]
    if cancelling:
        assert record.state is RunState.CANCELLED
        # Once the cancel began nothing starts and nothing else happens: what was open ends
        # cancelled (not upstream_failed), and a map group whose items failed before, failed.
        after = [e for e in recorder.transitions() if e.seq > cancelling[0]]
        for event in after:
            group = dag.node(event.key).map_over is not None and "[" not in event.key
            allowed = {TaskState.CANCELLED, TaskState.FAILED} if group else {TaskState.CANCELLED}
            assert event.state in allowed, event
