"""The scheduler never starts more than the executor's capacity allows, rejects tasks that can
never fit before the run exists, and hands out distinct GPUs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ledger_notes import notes
from resource_tasks import cpu_hold, gpu_hold, greedy, on_gpu, two_cpus, visible_gpus
from runchecks import describe, most_at_once

import legato
from legato import (
    Capacity,
    Executor,
    ProcessesExecutor,
    Resources,
    RunState,
    ThreadsExecutor,
    pipeline,
)
from legato.executors.capacity import detect_gpus, machine_capacity

pytestmark = pytest.mark.timeout(30)

one_cpu = two_cpus.with_options(name="one_cpu", resources=Resources(cpus=1))


@pipeline
def heavy() -> list[int]:
    return [two_cpus(i) for i in range(4)]


@pipeline
def light() -> list[int]:
    return [one_cpu(i) for i in range(4)]


@pipeline
def too_big() -> tuple[int, int]:
    return two_cpus(1), greedy()


@pipeline
def gpu_work() -> list[tuple[int, ...]]:
    return [on_gpu(i) for i in range(3)]


def _capacity(gpus: int = 0) -> Capacity:
    return Capacity(cpus=2, memory=8 * 1024**3, gpus=gpus, slots=4)


def _intervals(ledger: Path) -> list[tuple[float, float, str, str]]:
    """(start, end, gpu ids, CUDA_VISIBLE_DEVICES) of each task, by start."""
    return sorted((float(s), float(e), g, v) for _, _, s, e, g, v in notes(ledger, "held"))


def _executor(name: str, capacity: Capacity) -> Executor:
    if name == "threads":
        return ThreadsExecutor(capacity=capacity)
    return ProcessesExecutor(capacity=capacity, kill_grace=0.5)


@pytest.mark.parametrize("name", ["threads", "processes"])
def test_tasks_needing_all_cpus_never_overlap(name: str, ledger: Path) -> None:
    result = legato.run(heavy, executor=_executor(name, _capacity()))

    assert result.state is RunState.SUCCEEDED, describe(result)
    intervals = _intervals(ledger)
    assert len(intervals) == 4
    assert most_at_once(intervals) == 1, intervals


def test_small_tasks_do_overlap(ledger: Path) -> None:
    # The check above can fail: with one CPU each, four slots run four at once... as far as
    # two CPUs allow.
    result = legato.run(light, executor=ThreadsExecutor(capacity=_capacity()))

    assert result.ok
    assert most_at_once(_intervals(ledger)) == 2


def test_a_task_that_can_never_fit_is_rejected_before_the_run(executor: str, ledger: Path) -> None:
    with pytest.raises(legato.PlanError, match="greedy") as caught:
        legato.run(too_big, executor=executor)

    assert caught.value.task == "greedy"
    assert "64 CPUs" in str(caught.value)
    assert notes(ledger) == []  # nothing ran, not even the task that fits


def test_a_task_that_can_never_fit_is_rejected_by_start(ledger: Path) -> None:
    with pytest.raises(legato.PlanError, match="greedy"):
        legato.start(too_big, executor=ThreadsExecutor(capacity=_capacity()))


@pytest.mark.parametrize("name", ["threads", "processes"])
def test_gpus_are_handed_out_distinctly(
    name: str, ledger: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5,7")  # the machine's GPUs, as seen by legato
    result = legato.run(gpu_work, executor=_executor(name, _capacity(gpus=2)))

    assert result.state is RunState.SUCCEEDED, describe(result)
    intervals = _intervals(ledger)
    assert most_at_once(intervals) == 2  # two GPUs, three tasks: never three at once
    for i, (start, end, gpus, visible) in enumerate(intervals):
        assert gpus in ("0", "1")
        if name == "processes":
            # A worker process sees only its GPU, under its physical number.
            assert visible == {"0": "5", "1": "7"}[gpus]
        for other_start, other_end, other_gpus, _ in intervals[i + 1 :]:
            if other_start < end and start < other_end:
                assert gpus != other_gpus, intervals
    assert sorted(ids for ids in result.output) == sorted((int(g),) for _, _, g, _ in intervals)


@pipeline
def gpu_then_cpu() -> tuple[tuple[int, ...], str | None]:
    gpus = on_gpu(0, 0.0)
    return gpus, visible_gpus(gpus)


def test_a_worker_does_not_pass_its_last_gpus_on_to_the_next_task(
    ledger: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5,7")
    capacity = Capacity(cpus=1, memory=1024**3, gpus=2, slots=1)  # one worker runs both
    result = legato.run(gpu_then_cpu, executor=ProcessesExecutor(capacity=capacity))

    assert result.output == ((0,), "5,7")
    (_, _, _, _, _, visible) = notes(ledger, "held")[0]
    assert visible == "5"


@pipeline
def gpu_workers_meet_other_gpus() -> tuple[list[int], int, int]:
    # Worker A runs on GPU 0 and worker B on GPU 1. Then a CPU task takes A, and a GPU task
    # is given GPU 0 while only B (bound to GPU 1 by CUDA) is idle.
    first = [gpu_hold(0.2), gpu_hold(0.2)]
    return first, cpu_hold(0.4, first), gpu_hold(0.05, first)


def test_a_worker_process_stays_on_the_gpus_it_first_used(ledger: Path) -> None:
    capacity = Capacity(cpus=2, memory=1024**3, gpus=2, slots=2)
    result = legato.run(gpu_workers_meet_other_gpus, executor=ProcessesExecutor(capacity=capacity))

    assert result.ok, describe(result)
    gpus_by_pid: dict[str, set[str]] = {}
    for _, pid, gpus in notes(ledger, "gpu-pid"):
        gpus_by_pid.setdefault(pid, set()).add(gpus)
    assert len(notes(ledger, "gpu-pid")) == 3
    assert all(len(gpus) == 1 for gpus in gpus_by_pid.values()), gpus_by_pid


def _real_gpus() -> int:
    if "CUDA_VISIBLE_DEVICES" in os.environ:
        return 0  # only the nvidia-smi path is of interest here
    return detect_gpus()


@pipeline
def one_gpu_task() -> tuple[int, ...]:
    return on_gpu(0, 0.0)


@pytest.mark.skipif(_real_gpus() == 0, reason="needs an NVIDIA GPU (nvidia-smi -L)")
def test_the_machines_gpus_are_detected_and_handed_out(ledger: Path) -> None:
    gpus = _real_gpus()
    assert machine_capacity(2).gpus == gpus
    result = legato.run(one_gpu_task, executor=ProcessesExecutor(max_workers=2))

    assert result.output == (0,), describe(result)
    (_, _, _, _, given, visible) = notes(ledger, "held")[0]
    assert (given, visible) == ("0", "0")
    too_many = on_gpu.with_options(resources=Resources(gpus=gpus + 1))

    @pipeline
    def greedy_for_gpus() -> tuple[int, ...]:
        return too_many(0, 0.0)

    with pytest.raises(legato.PlanError, match=f"{gpus + 1} GPUs"):
        legato.run(greedy_for_gpus, executor="processes")
