"""Each worker process's native libraries get its share of the CPUs
(``executors.native_threads``): the variables that size their pools, set for the template
that loads them and for the worker, unless the environment sets them already."""

from __future__ import annotations

import numpy as np  # imported by the orchestrator, so loaded in the template before a fork
import pytest
import warm_tasks

import legato
from legato import ProcessesExecutor
from legato.executors.capacity import detect_cpus
from legato.executors.native_threads import (
    NATIVE_THREAD_VARIABLES,
    NativeLimits,
    native_thread_env,
    threads_per_worker,
)
from legato.executors.reaper import REAPS

assert np  # the import is the point


@pytest.mark.parametrize(
    ("cpus", "workers", "threads"), [(2, 2, 1), (8, 2, 4), (8, 3, 2), (2, 4, 1), (1, 1, 1)]
)
def test_a_worker_gets_its_share_of_the_cpus_and_at_least_one_thread(
    cpus: int, workers: int, threads: int
) -> None:
    assert threads_per_worker(cpus, workers) == threads


def test_variables_the_environment_sets_are_kept() -> None:
    assert native_thread_env(2, {}) == dict.fromkeys(NATIVE_THREAD_VARIABLES, "2")
    env = native_thread_env(2, {"OMP_NUM_THREADS": "5"})
    assert "OMP_NUM_THREADS" not in env
    assert env["OPENBLAS_NUM_THREADS"] == "2"
    assert native_thread_env(None, {}) == {}
    with pytest.raises(ValueError, match="at least 1"):
        native_thread_env(0, {})


def test_native_threads_must_be_positive() -> None:
    with pytest.raises(ValueError, match="native_threads"):
        ProcessesExecutor(1, native_threads=0)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("warm_start", [True, False])
@pytest.mark.parametrize("threads", [1, 2])
def test_a_workers_libraries_use_the_threads_it_was_given(
    monkeypatch: pytest.MonkeyPatch, threads: int, warm_start: bool
) -> None:
    """Forked from the template (numpy loaded there) or a fresh interpreter, BLAS runs the
    threads given, not one per core."""
    pytest.importorskip("threadpoolctl")
    if warm_start and not REAPS:
        pytest.skip("workers are forked from a template on Linux only")
    for name in NATIVE_THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    executor = ProcessesExecutor(1, native_threads=threads, warm_start=warm_start)
    result = legato.run(warm_tasks.pools, executor=executor, store=False)
    assert result.ok, result.error
    assert result.output["OMP_NUM_THREADS"] == str(threads)
    assert result.output["blas threads"]
    assert set(result.output["blas threads"]) == {threads}


@pytest.mark.timeout(60)
def test_a_variable_set_by_the_user_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    result = legato.run(warm_tasks.pools, executor=ProcessesExecutor(2), store=False)
    assert result.ok, result.error
    assert result.output["OMP_NUM_THREADS"] == "3"
    assert result.output["OPENBLAS_NUM_THREADS"] == str(threads_per_worker(detect_cpus(), 2))


@legato.task
def _thread_pools() -> dict[str, list[int]]:
    """The native pools as the worker thread running it sees them."""
    from threadpoolctl import threadpool_info

    seen: dict[str, list[int]] = {"blas": [], "openmp": []}
    for pool in threadpool_info():
        seen.setdefault(pool["user_api"], []).append(pool["num_threads"])
    return seen


@legato.pipeline
def _pools_in_threads() -> dict[str, list[int]]:
    return _thread_pools()


def _blas_threads() -> set[int]:
    from threadpoolctl import threadpool_info

    return {p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"}


@pytest.mark.parametrize(("cpus", "workers"), [(2, 2), (4, 2)])
def test_the_threads_executor_holds_the_libraries_to_each_workers_share(
    monkeypatch: pytest.MonkeyPatch, cpus: int, workers: int
) -> None:
    """While a threads run runs, BLAS and OpenMP (in the worker thread) use each worker's
    share of the cores; after it, BLAS has its threads back."""
    pytest.importorskip("threadpoolctl")
    pytest.importorskip("sklearn")  # loads OpenMP (libgomp) beside numpy's BLAS
    for name in NATIVE_THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    before = _blas_threads()
    executor = legato.ThreadsExecutor(
        max_workers=workers, capacity=legato.Capacity(cpus=cpus, memory=2**30, slots=workers)
    )
    result = legato.run(_pools_in_threads, executor=executor, store=False)
    assert result.ok, result.error
    share = threads_per_worker(cpus, workers)
    assert result.output["blas"]
    assert set(result.output["blas"]) == {share}
    assert set(result.output["openmp"]) <= {share}
    assert _blas_threads() == before


def test_the_threads_executor_leaves_libraries_the_user_sized(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("threadpoolctl")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    before = _blas_threads()
    executor = legato.ThreadsExecutor(
        max_workers=2, capacity=legato.Capacity(cpus=8, memory=2**30, slots=2)
    )
    result = legato.run(_pools_in_threads, executor=executor, store=False)
    assert result.ok, result.error
    assert set(result.output["blas"]) == before


def test_executors_open_together_give_the_threads_back_when_the_last_closes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two threads executors of one process (a server's concurrent runs), closed in the
    order they opened: the libraries keep the limit until both have closed, then are as
    they were before the first."""
    pytest.importorskip("threadpoolctl")
    for name in NATIVE_THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    before = _blas_threads()
    first = NativeLimits.start(1)
    second = NativeLimits.start(2)
    assert first is not None
    assert second is not None
    first.restore()
    assert _blas_threads() == {1}
    first.restore()  # a second close changes nothing
    second.restore()
    assert _blas_threads() == before
