"""The loop, run deterministically: the inline executor and a fake clock."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest

import legato
from legato import RetryPolicy, RunState, TaskState, task
from legato.engine import resources
from legato.engine.run import prepare
from legato.model.events import Event, RunTransitioned, TaskTransitioned
from legato.testing import EventRecorder, FakeClock

pytestmark = pytest.mark.timeout(60)

S = TaskState


def run_inline(pipeline: legato.Pipeline[..., Any], **options: Any) -> tuple[Any, EventRecorder]:
    recorder = EventRecorder()
    result = legato.run(
        pipeline,
        executor="inline",
        clock=FakeClock(),
        listeners=[recorder],
        **options,
        store=False,
    )
    recorder.check(pipeline.graph)
    return result, recorder


def waits(recorder: EventRecorder, key: str) -> list[TaskTransitioned]:
    return [e for e in recorder.transitions(key) if e.state is S.RETRY_WAIT]


# --------------------------------------------------------------------------- retries


@task(retry=RetryPolicy(attempts=4, delay=2.0, backoff=3.0, max_delay=10.0, jitter=0.0))
def fails_three_times() -> str:
    ctx = legato.context()
    assert ctx is not None
    if ctx.attempt < 4:
        raise ConnectionError(f"attempt {ctx.attempt}")
    return "done"


@legato.pipeline
def retried() -> str:
    return fails_three_times()


def test_retry_delays_follow_the_policy() -> None:
    result, recorder = run_inline(retried)
    assert result.ok
    waiting = waits(recorder, "fails_three_times")
    assert [e.attempt for e in waiting] == [1, 2, 3]
    assert [e.retry_at - e.at for e in waiting if e.retry_at] == [2.0, 6.0, 10.0]  # capped
    # Each next attempt becomes ready exactly when its wait is over: the fake clock jumps.
    readies = [e for e in recorder.transitions("fails_three_times") if e.state is S.READY][1:]
    assert [e.at for e in readies] == [e.retry_at for e in waiting]
    assert [e.attempt for e in readies] == [2, 3, 4]
    assert result.duration == 18.0
    assert result.tasks["fails_three_times"].attempt == 4
    assert recorder.runs("fails_three_times") == 4


@task(retry=RetryPolicy(attempts=6, delay=1.0, backoff=2.0, jitter=0.5))
def jittery() -> str:
    ctx = legato.context()
    assert ctx is not None
    if ctx.attempt < 6:
        raise ConnectionError("again")
    return "done"


@legato.pipeline
def jittered() -> str:
    return jittery()


def test_jittered_delays_stay_within_bounds_and_follow_the_seed() -> None:
    delays = []
    for seed in (1, 1, 2):
        _, recorder = run_inline(jittered, seed=seed)
        delays.append([e.retry_at - e.at for e in waits(recorder, "jittery") if e.retry_at])
    for i, delay in enumerate(delays[0]):
        base = 2.0**i
        assert 0.5 * base <= delay <= 1.5 * base
    assert delays[0] == delays[1]
    assert delays[0] != delays[2]


@task(retry=RetryPolicy(attempts=2, delay=100.0, jitter=0.0))
def slow_to_retry() -> int:
    ctx = legato.context()
    assert ctx is not None
    if ctx.attempt == 1:
        raise ConnectionError("later")
    return 1


@task
def quick() -> int:
    return 2


@legato.pipeline
def waiting_and_working() -> tuple[int, int]:
    return slow_to_retry(), quick()


def test_a_waiting_retry_does_not_hold_up_other_tasks() -> None:
    result, recorder = run_inline(waiting_and_working)
    assert result.ok
    (wait,) = waits(recorder, "slow_to_retry")
    quick_done = recorder.transitions("quick")[-1]
    assert quick_done.state is S.SUCCEEDED
    assert wait.retry_at is not None
    assert quick_done.at < wait.retry_at
    assert quick_done.seq < recorder.transitions("slow_to_retry")[-1].seq


@task(timeout=0.05, retry=RetryPolicy(attempts=2, delay=1.0, jitter=0.0))
def dawdles() -> str:
    ctx = legato.context()
    assert ctx is not None
    if ctx.attempt == 1:
        time.sleep(0.1)
    return "late" if ctx.attempt == 1 else "in time"


@legato.pipeline
def dawdling() -> str:
    return dawdles()


def test_a_late_inline_result_is_a_timeout_and_retried() -> None:
    result, recorder = run_inline(dawdling)
    assert result.ok
    assert result.output == "in time"
    (wait,) = waits(recorder, "dawdles")
    assert wait.error is not None
    assert wait.error.kind.value == "timeout"
    assert "past its timeout" in wait.reason


# --------------------------------------------------------------------------- failures


@task
def first() -> int:
    raise ValueError("the head of the chain fails")


@task
def step(x: int) -> int:
    return x + 1


def chain_of(length: int) -> Any:
    @legato.pipeline
    def long_chain() -> int:
        x = first()
        for _ in range(length - 1):
            x = step(x)
        return x

    return long_chain


@pytest.mark.parametrize(
    "length",
    [5_000, pytest.param(100_000, marks=pytest.mark.exhaustive)],  # past the recursion limit
)
def test_a_failure_at_the_head_of_a_long_chain_needs_no_recursion(length: int) -> None:
    result = legato.run(chain_of(length), executor="inline", clock=FakeClock(), store=False)
    assert result.state is RunState.FAILED
    counts = Counter(t.state for t in result.tasks.values())
    assert counts == {S.FAILED: 1, S.UPSTREAM_FAILED: length - 1}
    assert result.tasks[f"step_{length - 1}"].reason == f"input 'step_{length - 2}' upstream_failed"


@task
def numbers() -> int:
    return 3  # not a list


@task
def half(x: int) -> float:
    return x / 2


@legato.pipeline
def map_over_a_number() -> list[float]:
    return step(half.map(numbers()))


def test_a_map_over_an_output_that_is_not_a_list_fails_its_group() -> None:
    result, recorder = run_inline(map_over_a_number)
    assert result.state is RunState.FAILED
    group = result.tasks["half"]
    assert group.state is S.FAILED
    assert group.error is not None
    assert group.error.kind.value == "input"
    assert "nothing to map over" in group.reason
    assert result.tasks["step"].state is S.UPSTREAM_FAILED
    assert recorder.runs("half") == 0


# --------------------------------------------------------------------------- cancel


class Gate:
    """Lets a test hold a task until it has acted."""

    entered = threading.Event()
    release = threading.Event()


@task
def held() -> int:
    Gate.entered.set()
    Gate.release.wait(10)
    return 1


@legato.pipeline
def held_then_more() -> tuple[int, int, int]:
    first_result = held()
    return step(step(first_result)), quick(), step.map([1, 2])[0]


def test_cancelling_a_started_run_leaves_nothing_open() -> None:
    Gate.entered.clear()
    Gate.release.clear()
    recorder = EventRecorder()
    handle = legato.start(
        held_then_more,
        executor=legato.ThreadsExecutor(max_workers=1),
        listeners=[recorder],
        store=False,
    )
    try:
        assert Gate.entered.wait(10)
        handle.cancel("enough")
        result = handle.wait(10)
    finally:
        Gate.release.set()
    assert result.state is RunState.CANCELLED
    assert result.record.reason == "enough"
    assert all(t.state.is_terminal for t in result.tasks.values())
    # What the cancel stopped ends cancelled; a cancel is nobody's upstream failure.
    assert result.tasks["held"].state is S.CANCELLED
    assert result.tasks["step"].state is S.CANCELLED
    assert result.tasks["step_2"].state is S.CANCELLED
    assert not [t for t in result.tasks.values() if t.state is S.UPSTREAM_FAILED]
    run_states = [e.state for e in recorder.events if isinstance(e, RunTransitioned)]
    assert run_states == [RunState.RUNNING, RunState.CANCELLING, RunState.CANCELLED]
    recorder.check(held_then_more.graph)


@task
def interrupted() -> int:
    raise KeyboardInterrupt


@legato.pipeline
def interrupted_inline() -> tuple[int, int]:
    return interrupted(), quick()


def test_ctrl_c_inside_an_inline_task_cancels_it_and_the_run() -> None:
    result, _ = run_inline(interrupted_inline)
    assert result.state is RunState.CANCELLED
    stopped = result.tasks["interrupted"]
    assert stopped.state is S.CANCELLED  # it was stopped, it did not fail
    assert stopped.error is not None
    assert stopped.error.kind.value == "cancelled"
    assert result.tasks["quick"].state is S.CANCELLED
    assert result.failures() == []


# --------------------------------------------------------------------------- the loop's promises


@legato.pipeline
def two_steps() -> int:
    return step(step(1))


def test_listeners_see_a_start_before_the_work_begins() -> None:
    recorder = EventRecorder()
    seen: list[list[str]] = []

    @task
    def look() -> int:
        ctx = legato.context()
        assert ctx is not None
        seen.append(recorder.states(ctx.key))
        return 1

    @legato.pipeline
    def p() -> int:
        return look()

    legato.run(p, executor="inline", clock=FakeClock(), listeners=[recorder], store=False)
    assert seen == [["ready", "running"]]


def test_a_failing_listener_is_dropped_and_the_run_goes_on() -> None:
    class Broken:
        calls = 0

        def on_events(self, events: Sequence[Event]) -> None:
            self.calls += 1
            raise RuntimeError("listener bug")

    broken = Broken()
    recorder = EventRecorder()
    result = legato.run(
        two_steps,
        executor="inline",
        clock=FakeClock(),
        listeners=[broken, recorder],
        store=False,
    )
    assert result.ok
    assert broken.calls == 1
    assert recorder.check(two_steps.graph).state is RunState.SUCCEEDED


def test_the_stuck_run_check_fires_only_when_progress_is_impossible(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Valid runs never trip it (every property test run shows that); here admission is
    # broken on purpose so that a ready task can never start.
    monkeypatch.setattr(resources.Admission, "admit", lambda self, amounts: False)
    loop = prepare(two_steps, executor="inline", clock=FakeClock())
    with pytest.raises(RuntimeError, match="cannot progress: step"):
        loop.execute()


@task(resources=legato.Resources(cpus=1))
def small(i: int) -> int:
    time.sleep(0.02)
    return i


@task(resources=legato.Resources(cpus=2))
def big() -> int:
    return 0


@legato.pipeline
def big_among_small() -> list[int]:
    return [small(0), big(), *[small(i) for i in range(1, 6)]]


def test_a_big_task_is_not_starved_by_a_stream_of_small_ones() -> None:
    capacity = legato.Capacity(cpus=2, memory=1024**3, slots=4)
    recorder = EventRecorder()
    result = legato.run(
        big_among_small,
        executor=legato.ThreadsExecutor(max_workers=4, capacity=capacity),
        listeners=[recorder],
        store=False,
    )
    assert result.ok
    starts = [e.key for e in recorder.transitions() if e.state is S.RUNNING]
    # 'small' holds one CPU; 'big' waits for both, and no later small task jumps the queue
    # although one CPU and three slots are free.
    assert starts[:2] == ["small", "big"]
    first_end = next(e.seq for e in recorder.transitions("small") if e.state.is_terminal)
    big_start = next(e.seq for e in recorder.transitions("big") if e.state is S.RUNNING)
    assert big_start > first_end
