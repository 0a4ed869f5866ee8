"""The storages a process keeps open: at most ``KEEP_OPEN``, and closing one that a run
still uses loses nothing.

Real SQLite files in real folders; descriptors are counted in ``/proc/self/fd``.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

import legato
from legato import pipeline, task
from legato.config import load_settings
from legato.engine import storage as storage_module
from legato.engine.storage import KEEP_OPEN, open_storage
from legato.model.states import RunState, TaskState
from legato.store.sql import SqlRunStore

pytestmark = pytest.mark.skipif(
    not os.path.isdir("/proc/self/fd"), reason="counts open descriptors in /proc/self/fd"
)


@task
def one() -> int:
    return 1


@pipeline(name="open_storage_one")
def single() -> int:
    return one()


def _descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def _open_in(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEGATO_HOME", str(home))
    open_storage(load_settings())


def test_runs_against_many_stores_in_turn_keep_a_bounded_number_of_descriptors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(KEEP_OPEN):  # the process's storages are all of this test's
        _open_in(tmp_path / f"warm{i}", monkeypatch)
    before = _descriptors()
    for i in range(3 * KEEP_OPEN):
        monkeypatch.setenv("LEGATO_HOME", str(tmp_path / f"home{i}"))
        assert legato.run(single, echo_logs=False).output == 1
    assert len(storage_module._opened) == KEEP_OPEN
    # Each run opened a store and its closed predecessor gave its files back.
    assert _descriptors() - before <= 2, os.listdir("/proc/self/fd")


def test_a_store_closed_while_its_run_waits_on_a_task_takes_the_run_to_its_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, go = threading.Event(), threading.Event()

    @task
    def waits() -> int:
        started.set()
        assert go.wait(30)
        return 2

    @task
    def after(x: int) -> int:
        return x + 1

    @pipeline(name="open_storage_waits")
    def waiting() -> int:
        return after(waits())

    home = tmp_path / "busy"
    monkeypatch.setenv("LEGATO_HOME", str(home))
    results: list[legato.RunResult] = []
    runner = threading.Thread(
        target=lambda: results.append(legato.run(waiting, executor="threads", echo_logs=False))
    )
    runner.start()
    try:
        assert started.wait(30)
        for i in range(KEEP_OPEN):  # pushes the running store out, and closes it
            _open_in(tmp_path / f"other{i}", monkeypatch)
        assert all(str(home) not in key[0] for key in storage_module._opened)
    finally:
        go.set()
        runner.join(60)
    (result,) = results
    assert result.state is RunState.SUCCEEDED
    assert result.output == 3
    monkeypatch.setenv("LEGATO_HOME", str(home))
    runs = open_storage(load_settings(), read_only=True).runs
    assert runs.get_run(result.run_id).state is RunState.SUCCEEDED
    assert {r.state for r in runs.task_records(result.run_id)} == {TaskState.SUCCEEDED}


def test_a_store_closed_while_its_append_process_writes_loses_no_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 6,000 items: the store starts its append process (at 5,000 tasks), and an item closes
    # the store under the run once that process is ready. The run's later appends are
    # written by the store itself.
    others = tmp_path / "others"
    items = 6_000
    closed = threading.Event()

    @task
    def item(i: int) -> int:
        if i == 5_500 and not closed.is_set():
            closed.set()
            # The store this run appends to (the process's one for these settings): its
            # append process is running, and is stopped by the close.
            runs = open_storage(load_settings()).runs
            assert isinstance(runs, SqlRunStore)
            assert runs.start_offload(wait=True)
            for k in range(KEEP_OPEN):
                os.environ["LEGATO_HOME"] = str(others / str(k))
                open_storage(load_settings())
        return i

    @task
    def source() -> list[int]:
        return list(range(items))

    @task
    def total(xs: list[int]) -> int:
        return sum(xs)

    @pipeline(name="open_storage_fan")
    def fan() -> int:
        return total(item.map(source()))

    home = tmp_path / "fan"
    monkeypatch.setenv("LEGATO_HOME", str(home))
    result = legato.run(fan, executor="threads", echo_logs=False)
    assert closed.is_set()
    assert result.state is RunState.SUCCEEDED
    assert result.output == sum(range(items))
    monkeypatch.setenv("LEGATO_HOME", str(home))
    runs = open_storage(load_settings(), read_only=True).runs
    assert runs.get_run(result.run_id).state is RunState.SUCCEEDED
    records = runs.task_records(result.run_id)
    succeeded = [r for r in records if not r.mapped and r.state is TaskState.SUCCEEDED]
    assert len(succeeded) == len([r for r in records if not r.mapped]) == items + 2
