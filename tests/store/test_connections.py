"""How many database connections a SQL run store holds: a constant, whatever the number of
runs and threads over the process's life.

A process that runs many runs (a notebook, a server, a scheduler, a test suite) opens the
default store once and keeps it. Each run appends from threads of its own (the driver's,
when it runs on a ``legato.start`` thread, and its journal's writer), so connections kept
per thread would grow by one a run until the engine's pool is exhausted. The store keeps at
most :data:`~legato.store.sql.kept.KEEP` connections between appends, and an append takes
one of them without a pool checkout (the hot path).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from brief_runs import brief

import legato
from legato.config import load_settings
from legato.engine.storage import open_storage
from legato.model.events import PlannedTask, RunStarted
from legato.model.runs import RunInfo
from legato.store.sql import SqlRunStore
from legato.store.sql.kept import KEEP

RUNS = 1_000
PROCESS_RUNS = 20
"""Runs on the processes executor: each starts its worker processes (a quarter of a second
or more), so a thousand would take minutes. Twenty is past the fifteen connections the
engine's pool allows (where connections kept per thread blocked the sixteenth run for the
pool's 30 s timeout and then failed it), and the bound is checked after every run."""


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> str:
    """The URL of a run store (PostgreSQL skips without ``LEGATO_TEST_POSTGRES_URL``)."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return str(request.getfixturevalue("sqlite_url"))


@pytest.fixture
def store(database: str) -> Iterator[SqlRunStore]:
    store = SqlRunStore(database, offload_from=None)
    yield store
    store.close()


@pytest.fixture
def default_store(database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[SqlRunStore]:
    """The store ``legato.run`` opens once per process when given none, in ``database``."""
    monkeypatch.setenv("LEGATO_STATE_URL", database)
    runs = open_storage(load_settings()).runs
    assert isinstance(runs, SqlRunStore)
    yield runs
    runs.close()


def checkouts(store: SqlRunStore) -> list[int]:
    """A list that grows by one at each checkout from the store's pool."""
    counted: list[int] = []
    sa.event.listen(store.engine.pool, "checkout", lambda *_: counted.append(1))
    return counted


def new_run(store: SqlRunStore) -> str:
    run_id = uuid.uuid4().hex
    store.create_run(RunInfo(run_id=run_id, pipeline="p", owner="me"))
    started = RunStarted(
        run_id=run_id, seq=1, at=1.0, pipeline="p", tasks=(PlannedTask(key="t", name="t"),)
    )
    store.append(run_id, "me", [started])
    return run_id


def test_appends_from_many_threads_leave_a_bounded_number_of_connections(
    store: SqlRunStore,
) -> None:
    """A hundred threads, ten alive at once (a server's request threads) and ending in
    turn (each run's threads): the store holds no more connections for them than for one."""
    run_id = new_run(store)
    pool = store.engine.pool

    def append_and_stay(appended: threading.Barrier, release: threading.Event) -> None:
        store.append(run_id, "me", [])
        appended.wait()
        release.wait()

    for _ in range(10):
        appended, release = threading.Barrier(11), threading.Event()
        threads = [
            threading.Thread(target=append_and_stay, args=(appended, release)) for _ in range(10)
        ]
        for thread in threads:
            thread.start()
        appended.wait()
        assert pool.checkedout() <= KEEP
        release.set()
        for thread in threads:
            thread.join()
    assert pool.checkedout() <= KEEP


def test_appends_after_the_first_take_no_connection_from_the_pool(store: SqlRunStore) -> None:
    run_id = new_run(store)
    counted = checkouts(store)
    for _ in range(50):
        store.append(run_id, "me", [])
    assert counted == []


def test_two_threads_appending_at_once_take_no_more_than_kept(store: SqlRunStore) -> None:
    """The engine's driver and its journal's writer append at once: each finds a kept
    connection, and neither takes one from the pool once both are kept."""
    runs = [new_run(store), new_run(store)]
    counted = checkouts(store)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def appends(run_id: str) -> None:
        start.wait()
        try:
            for _ in range(200):
                store.append(run_id, "me", [])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=appends, args=(r,)) for r in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(counted) <= 1  # the second thread's first append, while new_run's is lent
    assert store.engine.pool.checkedout() <= KEEP


def test_more_appends_at_once_than_kept_give_the_rest_back_to_the_pool(
    store: SqlRunStore,
) -> None:
    kept = store._appender.kept
    loans = [kept.lend() for _ in range(KEEP + 3)]
    assert store.engine.pool.checkedout() == KEEP + 3
    for loan in loans:
        kept.give_back(loan)
    assert kept.idle == KEEP
    assert store.engine.pool.checkedout() == KEEP


def test_a_connection_lent_before_close_goes_back_to_the_pool(store: SqlRunStore) -> None:
    kept = store._appender.kept
    run_id = new_run(store)
    loan = kept.lend()
    store.close()
    kept.give_back(loan)
    assert kept.idle == 0
    assert loan.connection.dbapi_connection is None  # checked in, not kept
    store.append(run_id, "me", [])  # a closed store opens new connections
    assert kept.idle == 1


def test_appends_survive_the_server_dropping_every_connection(postgres_url: str) -> None:
    """A kept connection found broken is dropped and the append tried again on a fresh one,
    however many of the kept connections the server closed."""
    psycopg = pytest.importorskip("psycopg")
    name = f"legato_conns_{uuid.uuid4().hex[:8]}"
    url = sa.make_url(postgres_url).update_query_dict({"application_name": name})
    store = SqlRunStore(url.render_as_string(hide_password=False), offload_from=None)
    try:
        runs = [new_run(store), new_run(store)]
        hold = threading.Barrier(2)

        def append_while_the_other_does(run_id: str) -> None:
            loan = store._appender.kept.lend()
            hold.wait()  # both lent at once: two connections are kept afterwards
            store._appender.kept.give_back(loan)
            store.append(run_id, "me", [])

        threads = [threading.Thread(target=append_while_the_other_does, args=(r,)) for r in runs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert store._appender.kept.idle == KEEP
        admin_url = sa.make_url(postgres_url).set(drivername="postgresql")
        with psycopg.connect(
            admin_url.render_as_string(hide_password=False), autocommit=True
        ) as admin:
            killed = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = %s",
                (name,),
            ).fetchall()
        assert len(killed) >= KEEP  # the kept ones, and those idle in the pool
        for run_id in runs * 2:
            store.append(run_id, "me", [])
        assert store.engine.pool.checkedout() <= KEEP
    finally:
        store.close()


def run_once(i: int, executor: str, started: bool) -> Any:
    if started:
        return legato.start(brief, params={"i": i}, executor=executor).wait()
    return legato.run(brief, params={"i": i}, executor=executor)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("database", "executor"),
    [
        ("sqlite", "threads"),
        ("postgresql", "processes"),
        # The same bound, on the other pairs: minutes more.
        *(
            pytest.param(database, executor, marks=pytest.mark.exhaustive)
            for database, executor in [
                ("sqlite", "inline"),
                ("sqlite", "processes"),
                ("postgresql", "inline"),
                ("postgresql", "threads"),
            ]
        ),
    ],
    indirect=["database"],
)
def test_a_thousand_runs_hold_a_bounded_number_of_connections(
    default_store: SqlRunStore, executor: str
) -> None:
    """Every other run is ``legato.start(...).wait()``: its driver runs on a thread of its
    own; the others are ``legato.run`` on this thread, with the journal's writer thread
    committing beside it (see ``brief_runs``). Processes: :data:`PROCESS_RUNS` runs."""
    pool = default_store.engine.pool
    runs = PROCESS_RUNS if executor == "processes" else RUNS
    for i in range(runs):
        started = i % 2 == 1
        result = run_once(i, executor, started)
        assert result.output == 2 * i + 1
        assert pool.checkedout() <= KEEP, (
            f"after {i + 1} runs ({'started' if started else 'run'}), the store holds "
            f"{pool.checkedout()} connections"
        )
    assert default_store._appender.kept.idle <= KEEP
