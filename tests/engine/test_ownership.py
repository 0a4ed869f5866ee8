"""One owner per run under every race: ownership is a lease, taken over by compare-and-set.

- Two resumes at once of a run whose orchestrator died: one takes it over, the other gets
  ``RunBusyError`` before it runs anything (50 rounds on SQLite and PostgreSQL, and once for
  real with two processes started together).
- A live orchestrator keeps its run: it renews its lease while a task runs longer than the
  lease, and on this host a live orchestrator is never taken over whatever its heartbeat.
- An orchestrator that cannot renew its lease (the database is locked) starts nothing once
  less than half of the lease is sure to be left.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import legato
from legato.engine.resume import prepare_resume
from legato.engine.scheduler import dispatch
from legato.errors import RunBusyError
from legato.store.artifacts import FsspecArtifactStore
from legato.store.base import RunStore, Storage
from legato.store.open import open_run_store

from .test_crash_recovery import run_script
from .test_write_ahead import CHAIN

pytestmark = pytest.mark.timeout(180)

DEAD = f"{socket.gethostname()}:999999999:gone"
"""An owner token naming a process of this host that does not exist."""


@legato.task
def _inc(x: int) -> int:
    return x + 1


def _stores() -> list[str]:
    urls = ["sqlite"]
    if os.environ.get("LEGATO_TEST_POSTGRES_URL"):
        urls.append("postgres")
    return urls


@pytest.fixture(params=_stores())
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "sqlite":
        runs: RunStore = open_run_store(str(tmp_path / "legato.db"))
    else:
        runs = open_run_store(os.environ["LEGATO_TEST_POSTGRES_URL"])
    try:
        yield Storage(runs=runs, artifacts=FsspecArtifactStore(tmp_path / "artifacts"))
    finally:
        runs.close()


_FAIL = {"now": True}


@legato.task
def _flaky(x: int) -> int:
    if _FAIL["now"]:
        raise RuntimeError("fails in the first run")
    return x


@legato.pipeline
def _failing() -> int:
    return _flaky(_inc(0))


def _failed_run(storage: Storage) -> str:
    """A run that failed, owned by an orchestrator of this host that is gone."""
    result = legato.run(_failing, store=storage, executor="inline")
    assert not result.ok
    storage.runs.take_over(result.run_id, DEAD, lease=0.0)
    return result.run_id


def wait_for_lines(path: Path, lines: int, child: subprocess.Popen[bytes]) -> None:
    """Wait until the ledger at ``path`` holds ``lines`` lines (the child must still run)."""
    deadline = time.monotonic() + 60
    while not path.exists() or path.read_bytes().count(b"\n") < lines:
        assert child.poll() is None, "the run ended first"
        assert time.monotonic() < deadline, f"the ledger never held {lines} lines"
        time.sleep(0.001)


def test_of_two_resumes_at_once_one_wins(storage: Storage) -> None:
    """50 rounds: two threads resume the run at the same moment, each after reading the
    dead owner; exactly one gets the run, the other ``RunBusyError`` before any work."""
    run_id = _failed_run(storage)
    for _ in range(50):
        storage.runs.take_over(run_id, DEAD, lease=0.0)  # the dead owner, again
        barrier = threading.Barrier(2)
        outcomes: list[object] = []

        def resume(barrier: threading.Barrier, outcomes: list[object]) -> None:
            barrier.wait()
            try:
                driver = prepare_resume(run_id, pipeline=_failing, store=storage)
            except RunBusyError as exc:
                outcomes.append(exc)
            else:
                outcomes.append(driver.journal.owner)

        threads = [threading.Thread(target=resume, args=(barrier, outcomes)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        owners = [o for o in outcomes if isinstance(o, str)]
        refused = [o for o in outcomes if isinstance(o, RunBusyError)]
        assert len(owners) == 1, outcomes
        assert len(refused) == 1, outcomes
        assert storage.runs.get_run(run_id).owner == owners[0]


def test_a_live_orchestrator_renews_its_lease_through_a_long_task(storage: Storage) -> None:
    """A lease of 2 s and a task of 3 s: a taker that judges only by the lease (as one on
    another host does) is refused all along, as the owner renews while the task runs."""

    @legato.task
    def slow() -> int:
        time.sleep(3.0)
        return 1

    @legato.pipeline
    def long_task() -> int:
        return slow()

    os.environ["LEGATO_STALE_AFTER"] = "2"
    try:
        handle = legato.start(long_task, store=storage, executor="threads", cache=False)
    finally:
        del os.environ["LEGATO_STALE_AFTER"]
    refusals = 0
    while not handle.done:
        time.sleep(0.2)
        try:
            storage.runs.take_over(handle.run_id, "intruder", lease=2.0)
        except RunBusyError:
            refusals += 1
        else:
            if handle.done:
                break  # the run ended between the check and the take-over: fair
            raise AssertionError("a live orchestrator's run was taken over")
    assert refusals >= 10
    assert handle.wait().ok


def test_a_live_orchestrator_of_this_host_is_not_taken_over(tmp_path: Path) -> None:
    """With a lease shorter than a task, a resume from another process is refused while
    the orchestrator lives, whatever its heartbeat says; it succeeds once it is gone."""
    env = dict(os.environ)
    env.update(
        LEGATO_HOME=str(tmp_path / "home"),
        LEGATO_TEST_LEDGER=str(tmp_path / "ledger.txt"),
        LEGATO_TEST_EXECUTOR="threads",
        LEGATO_TEST_PACE="0.01",
        LEGATO_TEST_HOLD="3",
        LEGATO_STALE_AFTER="2",
    )
    child = subprocess.Popen([sys.executable, str(CHAIN), "run"], env=env, start_new_session=True)
    try:
        wait_for_lines(tmp_path / "ledger.txt", 4, child)
        time.sleep(2.5)  # past the lease: only liveness can keep the run
        store = open_run_store(str(tmp_path / "home" / "legato.db"))
        try:
            (run,) = store.list_runs()
        finally:
            store.close()
        refused = run_script(env, "resume", run.run_id, script=CHAIN)
        assert refused.returncode != 0
        assert "still driven by process" in refused.stderr, refused.stderr
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    env.pop("LEGATO_TEST_HOLD")
    resumed = run_script(env, "resume", run.run_id, script=CHAIN)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.split()[1:] == ["succeeded", "40"]


def test_two_resume_processes_started_together(tmp_path: Path) -> None:
    """The race for real: a chain killed mid-run, then two `resume` processes released at
    the same instant. One continues the run to its end; the other is refused before it
    runs anything: no task appears in the ledger of both."""
    env = dict(os.environ)
    env.update(
        LEGATO_HOME=str(tmp_path / "home"),
        LEGATO_TEST_LEDGER=str(tmp_path / "ledger.txt"),
        LEGATO_TEST_EXECUTOR="threads",
        LEGATO_TEST_PACE="0.01",
        LEGATO_TEST_HOLD="5",
    )
    child = subprocess.Popen([sys.executable, str(CHAIN), "run"], env=env, start_new_session=True)
    wait_for_lines(tmp_path / "ledger.txt", 6, child)
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    env.pop("LEGATO_TEST_HOLD")
    store = open_run_store(str(tmp_path / "home" / "legato.db"))
    try:
        (run,) = store.list_runs()
    finally:
        store.close()
    gate = tmp_path / "gate"
    # Everything slow (imports, opening the store) before the gate: the two resumes read
    # the run and take it over within a millisecond of each other.
    waiter = (
        "import os, sys, time, runpy\n"
        "from legato.config import load_settings\n"
        "from legato.engine.storage import open_storage\n"
        f"chain = runpy.run_path({str(CHAIN)!r}, run_name='paced_chain')\n"
        "open_storage(load_settings())\n"
        "open(os.environ['LEGATO_TEST_LEDGER'] + '.ready', 'w').close()\n"
        f"while not os.path.exists({str(gate)!r}): pass\n"
        f"sys.exit(chain['main']([{str(CHAIN)!r}, 'resume', {run.run_id!r}]))\n"
    )
    ledgers = [tmp_path / f"ledger-{i}.txt" for i in range(2)]
    resumers = [
        subprocess.Popen(
            [sys.executable, "-c", waiter],
            env={**env, "LEGATO_TEST_LEDGER": str(ledger)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for ledger in ledgers
    ]
    # Both imported and waiting at the gate (however long a loaded machine takes).
    deadline = time.monotonic() + 120
    while not all(Path(f"{ledger}.ready").exists() for ledger in ledgers):
        assert all(r.poll() is None for r in resumers), [r.communicate() for r in resumers]
        assert time.monotonic() < deadline, "the resumes never reached the gate"
        time.sleep(0.05)
    gate.touch()
    results = [r.communicate(timeout=120) for r in resumers]
    codes = sorted(r.returncode for r in resumers)
    assert codes[0] == 0, results
    assert codes[1] != 0, results
    loser = results[[r.returncode for r in resumers].index(codes[1])]
    assert "RunBusyError" in loser[1], loser[1]
    ran = [set(p.read_text().split()) if p.exists() else set() for p in ledgers]
    assert not (ran[0] & ran[1]), f"tasks run by both resumes: {sorted(ran[0] & ran[1])}"


def test_an_owner_that_cannot_renew_starts_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another connection holds SQLite's write lock for longer than the lease, while a
    fan-out of tiny tasks runs with thousands of claims committed ahead (claims may run
    seconds ahead here, not the usual milliseconds, so that only the lease can stop the
    orchestrator): once less than half of its lease is sure to be left, it starts no task
    until it has renewed it."""
    monkeypatch.setattr(dispatch, "RUNAHEAD_BUDGET_S", 10.0)
    starts: list[float] = []

    @legato.task
    def source() -> list[int]:
        return list(range(6000))

    @legato.task
    def item(x: int) -> int:
        starts.append(time.monotonic())
        time.sleep(0.001)
        return x

    @legato.pipeline
    def fan_out() -> list[int]:
        return item.map(source())

    db = tmp_path / "legato.db"
    runs = open_run_store(str(db))
    storage = Storage(runs=runs, artifacts=FsspecArtifactStore(tmp_path / "artifacts"))
    os.environ["LEGATO_STALE_AFTER"] = "2"
    try:
        handle = legato.start(fan_out, store=storage, executor="threads", cache=False)
    finally:
        del os.environ["LEGATO_STALE_AFTER"]
    while len(starts) < 200:  # claims run ahead by now
        assert not handle.done
        time.sleep(0.001)
    locker = sqlite3.connect(db, isolation_level=None, timeout=60)
    locker.execute("BEGIN IMMEDIATE")
    locked_at = time.monotonic()
    time.sleep(3.0)
    released_at = time.monotonic()
    locker.execute("ROLLBACK")
    locker.close()
    result = handle.wait(120)
    runs.close()
    assert result.ok
    late = [t for t in starts if locked_at + 1.1 < t < released_at]
    assert not late, f"{len(late)} tasks started while the lease could not be renewed"
    assert any(t > released_at for t in starts)  # and it went on once it could
