"""Calls handed over ahead of a free worker (``Executor.queue_ahead``): the threads executor
holds more calls than its capacity admits, and still runs them within that capacity; only
short tasks' claimed calls, and none asking for GPUs, go ahead; the engine's pool and the
executor's queue account for each call once."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from runchecks import describe, most_at_once

import legato
from legato import Capacity, Resources, RunState, TaskState, ThreadsExecutor, pipeline, task
from legato.engine.plan import build_plan
from legato.engine.scheduler.dispatch import Dispatcher
from legato.engine.scheduler.tasks import TaskEntry
from legato.executors.room import Room
from legato.model.calls import CallStarted, TaskOutcome

pytestmark = pytest.mark.timeout(60)

_lock = threading.Lock()
_spans: list[tuple[float, float]] = []


@task(resources=Resources(cpus=2))
def both_cpus(i: int) -> int:
    started = time.perf_counter()
    time.sleep(0.0005)
    with _lock:
        _spans.append((started, time.perf_counter()))
    return i


@task
def tiny(i: int) -> int:
    return i


@task(timeout=1.0)
def mostly_quick(i: int) -> int:
    time.sleep(3.0 if i in (30, 31) else 0.001)
    return i


@pipeline
def two_stall() -> list[int]:
    return mostly_quick.map(list(range(60)))


@pipeline
def wide() -> list[int]:
    return both_cpus.map(list(range(120)))


@pipeline
def tiny_fan() -> list[int]:
    return tiny.map(list(range(300)))


class Counting(ThreadsExecutor):
    """The threads executor, counting the calls it holds (handed over, no outcome yet)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.holding = 0
        self.most = 0
        self._count_lock = threading.Lock()

    def open(self, report: Any, artifacts: Any = None, logs: Any = None) -> None:
        def counted(outcome: TaskOutcome | CallStarted) -> None:
            if isinstance(outcome, TaskOutcome):
                with self._count_lock:
                    self.holding -= 1
            report(outcome)

        super().open(counted, artifacts, logs)

    def submit(self, call: Any) -> None:
        with self._count_lock:
            self.holding += 1
            self.most = max(self.most, self.holding)
        super().submit(call)


def test_calls_handed_over_ahead_still_run_within_the_capacity() -> None:
    """Tasks asking for both CPUs of a 2-CPU, 2-worker executor: the engine admits one at a
    time, hands up to four more over ahead (two per worker: they are short), and the
    executor runs one at a time all the same."""
    _spans.clear()
    executor = Counting(capacity=Capacity(cpus=2, memory=2**33, slots=2))

    result = legato.run(wide, executor=executor)

    assert result.state is RunState.SUCCEEDED, describe(result)
    assert len(_spans) == 120
    assert executor.most > 1, "no call was handed over ahead of a free worker"
    assert executor.most <= 1 + executor.queue_ahead  # the one the pool admits, and more
    assert most_at_once(_spans) == 1


def test_a_fan_out_of_tiny_tasks_keeps_the_workers_queue_filled() -> None:
    executor = Counting(max_workers=2)

    result = legato.run(tiny_fan, executor=executor)

    assert result.state is RunState.SUCCEEDED, describe(result)
    assert result.output == list(range(300))
    assert 2 < executor.most <= 2 + executor.queue_ahead


def test_a_call_waiting_in_the_queue_is_timed_from_its_start() -> None:
    """Two items stall both workers past their timeout; the calls handed over behind them
    wait about as long in the executor's queue, then run in a millisecond: only the two
    time out, as a timeout counts from a call's start, not from its hand-over."""
    executor = Counting(max_workers=2)

    result = legato.run(two_stall, executor=executor)

    assert executor.most > 2, "no call was handed over ahead of a free worker"
    states = {key: record.state for key, record in result.tasks.items()}
    timed_out = sorted(key for key, state in states.items() if state is TaskState.TIMED_OUT)
    assert [key.rsplit("[", 1)[1] for key in timed_out] == ["30]", "31]"], describe(result)
    items = [key for key in states if "[" in key]
    assert len(items) == 60
    assert all(states[key] is TaskState.SUCCEEDED for key in items if key not in timed_out), (
        describe(result)
    )


def test_without_a_store_nothing_is_handed_over_ahead() -> None:
    """Runs without a store claim nothing ahead (nothing to commit), so nothing goes ahead."""
    executor = Counting(max_workers=2)

    result = legato.run(tiny_fan, executor=executor, store=False)

    assert result.state is RunState.SUCCEEDED, describe(result)
    assert executor.most <= 2


# ---------------------------------------------------------------------------- the dispatcher


def _claimed_dispatcher(
    queue_ahead: int, resources: Resources | None = None
) -> tuple[Dispatcher, Any]:
    spec = tiny if resources is None else tiny.with_options(resources=resources)

    @pipeline
    def fan() -> list[int]:
        return spec.map(list(range(10)))

    plan = build_plan(fan.graph, {})
    dispatcher = Dispatcher(
        Capacity(cpus=2, memory=2**33, gpus=2, slots=2), runahead=True, queue_ahead=queue_ahead
    )
    return dispatcher, plan


def _entries(plan: Any, n: int) -> list[Any]:
    node = next(node for node in plan.nodes.values() if node.spec.name.startswith("tiny"))
    return [TaskEntry(f"{node.key}[{i}]", node, i) for i in range(n)]


def test_only_claimed_calls_go_ahead_and_no_more_than_the_executor_takes() -> None:
    dispatcher, plan = _claimed_dispatcher(queue_ahead=2)
    entries = _entries(plan, 5)
    for entry in entries[:3]:
        dispatcher.ready.append(entry)
    assert list(dispatcher.to_queue_ahead()) == []  # ready, not claimed: not ahead

    for entry in entries[3:]:
        dispatcher.claimed.append(entry)
    ahead = list(dispatcher.to_queue_ahead())
    assert ahead == entries[3:5]
    for entry in ahead:
        entry.bound = ((), ())
        call = dispatcher.start(
            entry, 1, run_id="r", secrets=None, store_url=None, owner=None, queued=True
        )
        assert call.gpu_ids == ()
    assert dispatcher.queued == 2
    assert dispatcher.pool.free == dispatcher.pool.total  # the pool lent nothing

    extra = _entries(plan, 6)[5]
    dispatcher.claimed.append(extra)
    assert list(dispatcher.to_queue_ahead()) == []  # the executor's queue is full

    call_id = next(iter(dispatcher.calls))
    assert dispatcher.settle(call_id) is not None
    assert dispatcher.queued == 1
    assert dispatcher.pool.free == dispatcher.pool.total
    assert list(dispatcher.to_queue_ahead()) == [extra]


def test_calls_asking_for_gpus_never_go_ahead() -> None:
    """GPU indices are handed out by the engine's pool: such a call waits for it."""
    dispatcher, plan = _claimed_dispatcher(queue_ahead=2, resources=Resources(gpus=1))
    for entry in _entries(plan, 3):
        dispatcher.claimed.append(entry)
    assert list(dispatcher.to_queue_ahead()) == []


# ---------------------------------------------------------------------------- the room


def test_the_room_holds_a_call_back_until_what_it_asks_for_is_free() -> None:
    room = Room(Capacity(cpus=2, memory=2**30, slots=2))
    room.take(("r", 1), Resources(cpus=2))
    started = threading.Event()

    def second() -> None:
        room.take(("r", 2), Resources(cpus=1))
        started.set()

    thread = threading.Thread(target=second)
    thread.start()
    assert not started.wait(0.2)
    room.give(("r", 1))
    assert started.wait(5)
    thread.join()
    room.give(("r", 1))  # given back twice (a call written off, then ended): no change
    room.take(("r", 3), Resources(cpus=1))  # the other CPU is free


def test_a_call_waiting_for_room_is_not_passed_by_smaller_ones() -> None:
    """Two CPUs, one held: a call asking for both waits, and a one-CPU call asking after it
    waits behind it, though one CPU is free."""
    room = Room(Capacity(cpus=2, memory=2**30, slots=3))
    room.take(("r", 1), Resources(cpus=1))
    order: list[str] = []

    def take(call_id: int, cpus: int, name: str) -> None:
        room.take(("r", call_id), Resources(cpus=cpus))
        order.append(name)
        room.give(("r", call_id))

    big = threading.Thread(target=take, args=(2, 2, "big"))
    big.start()
    time.sleep(0.2)  # the big call waits first
    small = threading.Thread(target=take, args=(3, 1, "small"))
    small.start()
    time.sleep(0.2)
    assert order == []  # one CPU is free, but the big call is first in line
    room.give(("r", 1))
    big.join(5)
    small.join(5)
    assert order == ["big", "small"]
