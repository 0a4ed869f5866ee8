"""The append process of a SQL run store: used once ready, same errors, and nothing lost or
written twice when it dies (the conformance suite also runs through it:
``test_run_store_backends.py``); each as a fresh interpreter and as a process forked from the
processes executor's template."""

from __future__ import annotations

import logging
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import legato
from conftest import alive
from legato import pipeline, task
from legato.errors import FencedError
from legato.executors import forked
from legato.executors.reaper import REAPS
from legato.model.events import Event, MapExpanded, PlannedTask, RunStarted, TaskTransitioned
from legato.model.runs import RunInfo
from legato.model.states import TaskState
from legato.model.tracking import Tracked, TrackKind
from legato.store.artifacts import FsspecArtifactStore
from legato.store.base import Storage
from legato.store.sql import SqlRunStore, offload
from legato.store.sql import store as sql_store
from legato.store.sql.offload import AppendProcess, OffloadLostError, fresh_command


@pytest.fixture(autouse=True)
def every_append_offloaded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Appends of any size go to a ready append process (not only those of 16+ events)."""
    monkeypatch.setattr(sql_store, "OFFLOAD_MIN_EVENTS", 1)


@pytest.fixture(params=["fresh", "forked"])
def start(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """How the append process starts: a fresh interpreter, or forked from the template."""
    if request.param == "fresh":
        monkeypatch.setattr(offload, "_launcher", None)
    else:
        if not REAPS:
            pytest.skip("workers are forked from a template on Linux only")
        forked.shared_template()
        monkeypatch.setattr(offload, "_launcher", forked.fork_append)
    return str(request.param)


def _parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


@pytest.fixture
def store(sqlite_url: str, start: str) -> Iterator[SqlRunStore]:
    store = SqlRunStore(sqlite_url, offload_from=0)
    assert store.start_offload(wait=True)
    yield store
    store.close()


def _child(store: SqlRunStore) -> AppendProcess:
    offload = store._offloading.process
    assert offload is not None
    assert offload.ready
    return offload


def _run(store: SqlRunStore, run_id: str, tasks: int) -> None:
    store.create_run(RunInfo(run_id=run_id, pipeline="p", owner="me"))
    planned = tuple(PlannedTask(key=f"t{i}", name="t") for i in range(tasks))
    store.append(
        run_id, "me", [RunStarted(run_id=run_id, seq=1, at=1.0, pipeline="p", tasks=planned)]
    )


def _running(run_id: str, first_seq: int, keys: list[str]) -> list[Event]:
    return [
        TaskTransitioned(
            run_id=run_id, seq=first_seq + i, at=2.0, key=k, state=TaskState.RUNNING, attempt=1
        )
        for i, k in enumerate(keys)
    ]


def test_appends_are_made_by_the_child_process(store: SqlRunStore) -> None:
    child = _child(store)
    calls: list[int] = []
    original = child.append

    def counted(*args: object, **kwargs: object) -> None:
        calls.append(1)
        original(*args, **kwargs)  # type: ignore[arg-type]

    child.append = counted  # type: ignore[method-assign]
    _run(store, "r1", 3)
    store.append("r1", "me", _running("r1", 2, ["t0", "t1", "t2"]))
    assert len(calls) == 2
    assert [t.state for t in store.task_records("r1")] == [TaskState.RUNNING] * 3
    assert [e.seq for e in store.read_events("r1")] == [1, 2, 3, 4]


def test_the_child_is_forked_from_the_template_when_one_runs(
    store: SqlRunStore, start: str
) -> None:
    parent = _parent_of(_child(store)._proc.pid)
    if start == "forked":
        # a template of this process: the one the fixture started, or one of another
        # thread count that an earlier processes executor started
        assert parent in {t._proc.pid for t in forked._shared.values() if t.alive}
    else:
        assert parent == os.getpid()


@pytest.mark.parametrize("template", ["gone", "refusing"])
def test_a_template_that_cannot_fork_leaves_a_fresh_interpreter(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, template: str
) -> None:
    if not REAPS:
        pytest.skip("workers are forked from a template on Linux only")
    unusable = forked.Template()
    if template == "gone":
        unusable.close()
    else:
        unusable.warm(["thread_at_import"])  # a module that starts a thread: no more forks
    monkeypatch.setattr(forked, "_shared", {None: unusable})
    monkeypatch.setattr(offload, "_launcher", forked.fork_append)
    store = SqlRunStore(sqlite_url, offload_from=0)
    try:
        assert store.start_offload(wait=True)
        child = _child(store)
        assert _parent_of(child._proc.pid) == os.getpid()
        _run(store, "r1", 2)
        store.append("r1", "me", _running("r1", 2, ["t0", "t1"]))
        assert [e.seq for e in store.read_events("r1")] == [1, 2, 3]
    finally:
        store.close()
        unusable.close()


def test_small_appends_stay_in_this_process(
    store: SqlRunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A synchronous commit of a few events (the inline executor) would only wait for the
    # round trip.
    monkeypatch.setattr(sql_store, "OFFLOAD_MIN_EVENTS", 3)
    child = _child(store)
    calls: list[int] = []
    original = child.append

    def counted(*args: object, **kwargs: object) -> None:
        calls.append(len(args[2]))  # type: ignore[arg-type]
        original(*args, **kwargs)  # type: ignore[arg-type]

    child.append = counted  # type: ignore[method-assign]
    _run(store, "r1", 5)
    store.append("r1", "me", _running("r1", 2, ["t0", "t1"]))
    store.append("r1", "me", _running("r1", 4, ["t2", "t3", "t4"]))
    assert calls == [3]
    assert [e.seq for e in store.read_events("r1")] == [1, 2, 3, 4, 5, 6]


def test_the_child_raises_the_stores_errors(store: SqlRunStore) -> None:
    _run(store, "r1", 2)
    with pytest.raises(FencedError, match="r1"):
        store.append("r1", "someone else", _running("r1", 2, ["t0"]))
    # Nothing of the refused batch was written; the owner goes on.
    store.append("r1", "me", _running("r1", 2, ["t0"]))
    assert [e.seq for e in store.read_events("r1")] == [1, 2]


def test_tracked_values_cross_exactly(store: SqlRunStore) -> None:
    _run(store, "r1", 1)
    values = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan, "tiny": 5e-324}
    tracked = [
        Tracked(run_id="r1", key="t0", attempt=1, kind=TrackKind.METRIC, name=n, value=v, at=1.5)
        for n, v in values.items()
    ]
    tracked.append(
        Tracked(
            run_id="r1",
            key="t0",
            attempt=1,
            kind=TrackKind.PARAM,
            name="big",
            value={"n": 2**80, "s": "é\u2028"},
        )
    )
    store.append("r1", "me", _running("r1", 2, ["t0"]), tracked)
    found = {t.name: t.value for t in store.read_tracked("r1")}
    assert found["inf"] == math.inf
    assert found["-inf"] == -math.inf
    assert math.isnan(found["nan"])
    assert found["tiny"] == 5e-324
    assert found["big"] == {"n": 2**80, "s": "é\u2028"}


def test_a_killed_child_is_replaced_by_this_process(
    store: SqlRunStore, caplog: pytest.LogCaptureFixture
) -> None:
    _run(store, "r1", 4)
    child = _child(store)
    os.kill(child._proc.pid, signal.SIGKILL)
    child._proc.wait(10)
    with caplog.at_level(logging.WARNING, logger="legato.store"):
        store.append("r1", "me", _running("r1", 2, ["t0", "t1"]))
    assert "is gone" in caplog.text
    store.append("r1", "me", _running("r1", 4, ["t2", "t3"]))
    assert [e.seq for e in store.read_events("r1")] == [1, 2, 3, 4, 5]
    assert all(t.state is TaskState.RUNNING for t in store.task_records("r1"))


def test_a_batch_the_child_committed_before_dying_is_not_written_again(
    store: SqlRunStore, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(store, "r1", 2)
    other = SqlRunStore(sqlite_url, offload_from=None)

    def commit_then_die(run_id: str, owner: str, events: list[Event], tracked: object) -> None:
        other.append(run_id, owner, events)  # what the child had done when it died
        raise OffloadLostError("killed")

    monkeypatch.setattr(_child(store), "append", commit_then_die)
    store.append("r1", "me", _running("r1", 2, ["t0", "t1"]))  # no "does not continue" error
    assert [e.seq for e in store.read_events("r1")] == [1, 2, 3]
    other.close()


def test_the_child_starts_once_a_store_has_seen_enough_tasks(sqlite_url: str) -> None:
    store = SqlRunStore(sqlite_url, offload_from=100)
    try:
        _run(store, "r1", 1)
        assert store._offloading.process is None  # a small run never starts it
        store.append("r1", "me", [MapExpanded(run_id="r1", seq=2, at=2.0, key="t0", count=100)])
        assert store._offloading.process is not None
        assert store._offloading.process.wait_ready(30)
    finally:
        store.close()
    assert store._offloading.process is None


@pytest.mark.parametrize("warm", [False, True])
def test_the_child_exits_when_its_orchestrator_is_killed(tmp_path: Path, warm: bool) -> None:
    if warm and not REAPS:
        pytest.skip("workers are forked from a template on Linux only")
    script = textwrap.dedent(
        f"""
        import sys, time
        from legato.executors.forked import shared_template
        from legato.store.sql import SqlRunStore
        if {warm}:
            shared_template()  # as a processes executor starts it: the child is forked
        store = SqlRunStore("sqlite:///{tmp_path / "legato.db"}", offload_from=0)
        assert store.start_offload(wait=True)
        print(store._offloading.process._proc.pid, flush=True)
        time.sleep(600)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert (_parent_of(child) != parent.pid) is warm  # forked by the template
        parent.kill()
        parent.wait(10)
        deadline = time.monotonic() + 20
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(child), "the append process outlived its orchestrator"
    finally:
        parent.kill()


def test_a_script_that_ends_while_the_child_starts_leaves_no_noise(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        from legato.store.sql import SqlRunStore
        store = SqlRunStore("sqlite:///{tmp_path / "legato.db"}", offload_from=0)
        store.start_offload()
        """
    )
    # The child keeps the inherited stderr open: this returns once it has exited too.
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0
    assert done.stderr == ""


@task
def _items(n: int) -> list[int]:
    return list(range(n))


@task
def _double(x: int) -> int:
    return 2 * x


@task
def _total(xs: list[int]) -> int:
    return sum(xs)


@pipeline
def _fan(n: int) -> int:
    return _total(_double.map(_items(n)))


@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_a_run_through_the_child_is_recorded_whole(
    store: SqlRunStore, tmp_path: Path, executor: str
) -> None:
    storage = Storage(runs=store, artifacts=FsspecArtifactStore(str(tmp_path / "artifacts")))
    result = legato.run(_fan, {"n": 300}, executor=executor, store=storage)
    assert result.output == 2 * sum(range(300))
    tasks = store.task_records(result.run_id)
    assert len(tasks) == 303
    assert all(t.state is TaskState.SUCCEEDED for t in tasks)
    again = legato.run(_fan, {"n": 300}, executor=executor, store=storage)
    assert again.output == result.output
    items = [t for t in store.task_records(again.run_id) if t.map_index is not None]
    assert len(items) == 300
    assert all(t.cache_hit == result.run_id for t in items)


def test_the_child_imports_neither_sqlalchemy_nor_what_starts_it() -> None:
    # What keeps its start short: SQLAlchemy alone takes longer to import than the child's
    # start, and the starting side's subprocess, threading and logging are not the child's;
    # nor are pathlib (a path is decoded only when an event holds one), traceback (only for
    # capturing an exception), base64, the run records and the rollback records (defining
    # frozen dataclasses is most of what legato's own modules cost the child's start).
    code = (
        "import sys, legato.store.sql.offload_child; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy', 'alembic', 'subprocess', 'threading', 'logging', 'pathlib', "
        "'traceback', 'base64') or m in ('legato.model.runs', 'legato.model.rollback')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


def test_a_fresh_child_skips_site_only_where_its_path_finds_legato(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = str(Path(legato.__file__).resolve().parent.parent)
    assert fresh_command()[:2] == [sys.executable, "-S"]
    monkeypatch.setattr(
        sys, "path", [p for p in sys.path if Path(p or ".").resolve() != Path(root)]
    )
    # legato found through something else (an import hook set up by a .pth file): site stays.
    assert fresh_command()[:2] == [sys.executable, "-c"]
