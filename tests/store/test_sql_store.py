"""What the SQL run store does beyond the conformance suite: migrations, SQLite's settings and
transactions, URLs, and staying out of ``import legato``."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.command import downgrade
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from legato.errors import StoreError
from legato.model.events import RunTransitioned
from legato.model.runs import RunInfo
from legato.model.states import RunState
from legato.store.memory import MemoryRunStore
from legato.store.open import open_run_store
from legato.store.sql import SqlRunStore
from legato.store.sql.connect import (
    BUSY_TIMEOUT,
    alembic_config,
    current_revision,
    make_engine,
    upgrade,
)
from legato.store.sql.schema import HEAD, VERSION_TABLE, metadata

TABLES_0001 = {
    "pipelines",
    "pipeline_versions",
    "runs",
    "events",
    "task_runs",
    "artifacts",
    "cache_entries",
    "logs",
}
TABLES = TABLES_0001 | {
    "tracked_metrics",
    "tracked_values",
    "models",
    "model_versions",
    "model_aliases",
    "alias_changes",
    "schedules",
    "schedule_ticks",
    "schedule_backfills",
    "schedule_files",
    "scheduler_leases",
    "metric_summaries",
    "run_metric_values",
}


@pytest.fixture
def store(sqlite_url: str) -> Iterator[SqlRunStore]:
    store = SqlRunStore(sqlite_url)
    yield store
    store.close()


def tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {VERSION_TABLE}


# -- migrations ------------------------------------------------------------------------------


def test_head_is_the_newest_migration() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert script.get_current_head() == HEAD
    assert [r.revision for r in script.walk_revisions()][-1] == "0001"


def test_first_revision_then_head_then_down_again(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine, "0001")
    with engine.connect() as c:
        assert current_revision(c) == "0001"
    assert tables(engine) == TABLES_0001
    upgrade(engine)
    with engine.connect() as c:
        assert current_revision(c) == HEAD
    with engine.begin() as c:
        downgrade(alembic_config(c), "base")
    assert tables(engine) == set()
    with engine.connect() as c:
        assert current_revision(c) is None
    upgrade(engine)  # and up again
    assert tables(engine) == TABLES
    engine.dispose()


def test_migrations_create_exactly_the_tables_the_code_uses(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine, "0001")  # a new database is created at head directly: migrate instead
    upgrade(engine)
    with engine.connect() as c:
        context = MigrationContext.configure(c, opts={"version_table": VERSION_TABLE})
        assert compare_metadata(context, metadata) == []
        clustered = c.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%WITHOUT ROWID%'"
        )
        assert set(clustered.scalars()) == {
            t.name for t in metadata.tables.values() if t.kwargs.get("sqlite_with_rowid") is False
        }
    engine.dispose()


def schema_of(engine: sa.Engine) -> set[tuple[str, str, str]]:
    """Every table and index of a SQLite database, with its DDL in one spacing."""
    with engine.connect() as c:
        rows = c.exec_driver_sql("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL")
        return {(kind, name, " ".join(sql.replace("(", " ( ").split())) for kind, name, sql in rows}


def test_a_new_database_is_created_at_head_as_the_migrations_would_leave_it(
    tmp_path: Path,
) -> None:
    migrated = make_engine(f"sqlite:///{tmp_path / 'migrated.db'}")
    upgrade(migrated, "0001")
    upgrade(migrated)
    created = make_engine(f"sqlite:///{tmp_path / 'created.db'}")
    upgrade(created)
    with created.connect() as c:
        assert current_revision(c) == HEAD
    assert schema_of(created) == schema_of(migrated)
    created.dispose()
    migrated.dispose()


def test_migrations_on_postgres(postgres_server: str) -> None:
    import psycopg

    from .conftest import _libpq, with_schema

    schema = f"legato_migrate_{time.time_ns()}"
    with psycopg.connect(_libpq(postgres_server), autocommit=True) as c:
        c.execute(f'CREATE SCHEMA "{schema}"')
    engine = make_engine(with_schema(postgres_server, schema))
    try:
        upgrade(engine, "0001")
        assert tables(engine) == TABLES_0001
        upgrade(engine)
        assert tables(engine) == TABLES
        with engine.connect() as c:
            context = MigrationContext.configure(c, opts={"version_table": VERSION_TABLE})
            assert compare_metadata(context, metadata) == []
        with engine.begin() as c:
            downgrade(alembic_config(c), "base")
        assert tables(engine) == set()
        upgrade(engine)
        assert tables(engine) == TABLES
    finally:
        engine.dispose()
        with psycopg.connect(_libpq(postgres_server), autocommit=True) as c:
            c.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_opening_brings_an_old_schema_up_to_date(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    upgrade(engine, "0001")
    engine.dispose()
    store = SqlRunStore(url)
    with store.engine.connect() as c:
        assert current_revision(c) == HEAD
    store.close()


def test_a_file_written_at_0001_keeps_its_data_through_the_upgrade(tmp_path: Path) -> None:
    from legato.model.events import PlannedTask, RunStarted, TaskTransitioned
    from legato.model.runs import LogEntry, RunInfo
    from legato.model.states import TaskState
    from legato.model.tracking import Tracked, TrackKind

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    upgrade(engine, "0001")
    engine.dispose()
    old = SqlRunStore(url, upgrade_schema=False)  # writes only what 0001 has
    info = RunInfo(run_id="r1", pipeline="p", owner="o", params={"n": 3}, created_at=5.0)
    old.create_run(info)
    events = [
        RunStarted(
            run_id="r1", seq=1, at=6.0, pipeline="p", tasks=(PlannedTask(key="t", name="t"),)
        ),
        TaskTransitioned(run_id="r1", seq=2, at=7.0, key="t", state=TaskState.RUNNING, attempt=1),
    ]
    old.append("r1", "o", events)
    with old.engine.begin() as c:  # log rows as 0001 has them (no end_byte: 0004 adds it)
        for text, at in (("hi\n", 7.5), ("é!\n", 7.6)):
            c.execute(
                sa.text(
                    "INSERT INTO logs (run_id, key, attempt, stream, text, at)"
                    " VALUES ('r1', 't', 1, 'stdout', :text, :at)"
                ),
                {"text": text, "at": at},
            )
    with old.engine.connect() as c:  # the run's row as 0001 has it (get_run reads newer columns)
        run_row = c.execute(sa.text("SELECT * FROM runs WHERE run_id = 'r1'")).mappings().one()
    before = (old.read_events("r1"), old.task_records("r1"), old.read_logs("r1"))
    old.close()

    store = SqlRunStore(url)
    with store.engine.connect() as c:
        assert current_revision(c) == HEAD
        upgraded = c.execute(sa.text("SELECT * FROM runs WHERE run_id = 'r1'")).mappings().one()
    assert {k: upgraded[k] for k in run_row} == dict(run_row)
    after = (store.read_events("r1"), store.task_records("r1"), store.read_logs("r1"))
    assert after == before
    run = store.get_run("r1")
    assert (run.params, run.owner, run.created_at) == ({"n": 3}, "o", 5.0)
    assert (run.cancel_requested_at, run.cancel_reason) == (None, "")  # added by 0003
    # 0004 numbered the old log rows' bytes: windows of them read as the whole text does
    assert store.log_size("r1", "t", 1) == len("hi\né!\n".encode()) == 7
    assert store.read_log_bytes("r1", "t", 1, 2, 7) == "\né!\n".encode()
    store.append_logs([LogEntry(run_id="r1", key="t", attempt=1, stream="stdout", text="x", at=8)])
    assert store.read_log_bytes("r1", "t", 1, 0, 8) == "hi\né!\nx".encode()
    # and the new tables work on the upgraded file
    metric = Tracked(run_id="r1", key="t", attempt=1, kind=TrackKind.METRIC, name="m", value=1.0)
    store.append("r1", "o", [], [metric])
    assert store.read_tracked("r1") == [metric]
    store.close()


def _store_at_0004(url: str) -> None:
    """A store at 0004 holding metrics, written as 0004 wrote them (no summaries)."""
    engine = make_engine(url)
    upgrade(engine, "0004")
    old = SqlRunStore(url, upgrade_schema=False)
    for run_id, created in (("a", 1.0), ("b", 2.0), ("c", 3.0)):
        old.create_run(RunInfo(run_id=run_id, pipeline="p", owner="o", created_at=created))
    rows = [  # run, task key, attempt, name, step, value (None: NaN)
        *(("a", "t", 1, "loss", s, v) for s, v in enumerate([5.0, 2.0, None, 9.0, 2.0, 4.0])),
        ("a", "t", 2, "loss", 0, 7.0),
        ("a", "u", 1, "acc", 0, None),
        ("b", "t", 1, "loss", 3, 1.0),
        ("b", "u", 1, "loss", 3, 6.0),  # same attempt and step: the last task key's counts
        ("c", "t", 1, "loss", 0, 3.0),
    ]
    with engine.begin() as c:
        for run_id, key, attempt, name, step, value in rows:
            c.execute(
                sa.text(
                    "INSERT INTO tracked_metrics"
                    " (run_id, key, attempt, name, step, map_index, value, at)"
                    " VALUES (:r, :k, :a, :n, :s, NULL, :v, :s + 0.5)"
                ),
                {"r": run_id, "k": key, "a": attempt, "n": name, "s": step, "v": value},
            )
    old.close()
    engine.dispose()


def _summaries_agree_with_the_values(store: SqlRunStore) -> None:
    """What 0006 filled in answers as the full values (and the in-memory store) do."""
    from legato.model.run_query import RunQuery
    from legato.store.tallies import extremes

    for run_id in ("a", "b", "c"):
        assert store.read_tracked(run_id, extremes=True) == extremes(store.read_tracked(run_id))
    kept = store.read_tracked("a", extremes=True)
    shown = [(t.attempt, t.step, t.value) for t in kept if t.key == "t"]
    assert shown == [(1, 1, 2.0), (1, 3, 9.0), (1, 5, 4.0), (2, 0, 7.0)]
    page = store.find_runs(RunQuery(order_by="loss", descending=False))
    assert [r.run_id for r in page.runs] == ["c", "b", "a"]  # 3.0, 6.0 (key u), 7.0


def test_metric_summaries_are_filled_from_a_store_at_0004(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _store_at_0004(url)
    store = SqlRunStore(url)
    try:
        _summaries_agree_with_the_values(store)
    finally:
        store.close()


def test_metric_summaries_are_filled_from_a_postgres_store_at_0004(postgres_server: str) -> None:
    import psycopg

    from .conftest import _libpq, with_schema

    schema = f"legato_0006_{time.time_ns()}"
    with psycopg.connect(_libpq(postgres_server), autocommit=True) as c:
        c.execute(f'CREATE SCHEMA "{schema}"')
    try:
        url = with_schema(postgres_server, schema)
        _store_at_0004(url)
        store = SqlRunStore(url)
        try:
            _summaries_agree_with_the_values(store)
        finally:
            store.close()
    finally:
        with psycopg.connect(_libpq(postgres_server), autocommit=True) as c:
            c.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_a_schema_from_a_newer_legato_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    SqlRunStore(url).close()
    with sqlite3.connect(tmp_path / "new.db") as c:
        c.execute(f"UPDATE {VERSION_TABLE} SET version_num = '9999'")
    with pytest.raises(StoreError, match=r"'9999'.*newer legato"):
        SqlRunStore(url)


# -- SQLite ----------------------------------------------------------------------------------


def test_sqlite_settings_on_every_connection(store: SqlRunStore) -> None:
    for _ in range(2):  # a pooled connection and a fresh one
        with store.engine.connect() as c:
            pragma = {
                name: c.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in (
                    "journal_mode",
                    "synchronous",
                    "foreign_keys",
                    "busy_timeout",
                    "wal_autocheckpoint",
                    "journal_size_limit",
                )
            }
        assert pragma == {
            "journal_mode": "wal",
            "synchronous": 1,  # NORMAL
            "foreign_keys": 1,
            "busy_timeout": int(BUSY_TIMEOUT * 1000),
            "wal_autocheckpoint": 16384,
            "journal_size_limit": 16384 * 4096,
        }
        store.engine.dispose()


def test_writes_begin_immediate_and_reads_begin_deferred(store: SqlRunStore) -> None:
    statements: list[str] = []

    @sa.event.listens_for(store.engine, "connect")
    def trace(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.set_trace_callback(statements.append)

    store.engine.dispose()
    store.create_run(RunInfo(run_id="r", pipeline="p", owner="o"))
    store.append("r", "o", [RunTransitioned(run_id="r", seq=1, at=1.0, state=RunState.RUNNING)])
    store.heartbeat("r", "o")
    store.get_run("r")
    begins = [s for s in statements if s.upper().startswith("BEGIN")]
    assert begins == ["BEGIN IMMEDIATE"] * 3 + ["BEGIN"], statements
    # Every statement ran inside a transaction the store began itself.
    inside = False
    for statement in statements:
        verb = statement.split()[0].upper()
        if verb == "BEGIN":
            inside = True
        elif verb in ("COMMIT", "ROLLBACK"):
            inside = False
        else:
            assert inside, f"{statement!r} ran outside a transaction: {statements}"


def test_a_writer_waits_for_another_process_lock(store: SqlRunStore, tmp_path: Path) -> None:
    store.create_run(RunInfo(run_id="r", pipeline="p", owner="o"))
    path = tmp_path / "state" / "legato.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    releaser = threading.Timer(0.5, lambda: other.execute("COMMIT"))
    releaser.start()
    started = time.monotonic()
    try:
        store.append("r", "o", [RunTransitioned(run_id="r", seq=1, at=1.0, state=RunState.RUNNING)])
    finally:
        releaser.join()
        other.close()
    assert time.monotonic() - started >= 0.4  # it waited for the lock instead of failing
    assert store.get_run("r").state is RunState.RUNNING


def test_the_folder_of_a_new_file_is_created(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "c" / "legato.db"
    SqlRunStore(f"sqlite:///{path}").close()
    assert path.is_file()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_sqlite_in_memory_is_refused_with_a_way_out(url: str) -> None:
    with pytest.raises(StoreError, match="memory://"):
        SqlRunStore(url)


def test_other_databases_are_refused() -> None:
    with pytest.raises(StoreError, match="sqlite:/// and postgresql"):
        SqlRunStore("mysql://user@host/db")
    with pytest.raises(StoreError, match="not a database URL"):
        SqlRunStore("::nonsense::")


def test_a_database_that_cannot_open_says_where(tmp_path: Path) -> None:
    folder = tmp_path / "a-folder.db"
    folder.mkdir()
    with pytest.raises(StoreError, match=r"a-folder\.db"):
        SqlRunStore(f"sqlite:///{folder}")


# -- opening by URL, and import cost ---------------------------------------------------------


def test_open_run_store_by_url(tmp_path: Path) -> None:
    assert isinstance(open_run_store("memory://"), MemoryRunStore)
    for url in (f"sqlite:///{tmp_path / 'a.db'}", str(tmp_path / "b.db")):
        store = open_run_store(url)
        assert isinstance(store, SqlRunStore)
        store.close()
    assert (tmp_path / "a.db").is_file()
    assert (tmp_path / "b.db").is_file()


def test_importing_legato_and_the_memory_store_loads_no_sqlalchemy() -> None:
    code = (
        "import sys, legato, legato.store.base, legato.store.memory, legato.store.open\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'alembic'))\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_sqlite_store_loads_no_postgresql_dialect(tmp_path: Path) -> None:
    # SQLAlchemy's PostgreSQL dialect (and the asyncio its drivers need) is tens of
    # milliseconds of every legato command on a SQLite store.
    code = (
        "import sys; from legato.store.sql import SqlRunStore; "
        f"SqlRunStore('sqlite:///{tmp_path / 's.db'}').close(); "
        "print(sorted(m for m in sys.modules if m.startswith('sqlalchemy.dialects.postgresql')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


def test_a_new_postgres_database_gets_the_partial_indexes(postgres_server: str) -> None:
    import psycopg

    from .conftest import _libpq, with_schema

    schema = f"legato_partial_{time.time_ns()}"
    with psycopg.connect(_libpq(postgres_server), autocommit=True) as c:
        c.execute(f'CREATE SCHEMA "{schema}"')
    engine = make_engine(with_schema(postgres_server, schema))
    try:
        upgrade(engine)  # created at head, from the metadata
        with engine.connect() as c:
            rows = c.execute(
                sa.text(
                    "SELECT indexname, indexdef FROM pg_indexes "
                    "WHERE schemaname = :s AND tablename = 'task_runs'"
                ),
                {"s": schema},
            ).all()
        where = {name: d.split(" WHERE ", 1)[1] for name, d in rows if " WHERE " in d}
        assert where == {
            "ix_task_runs_planned": "(parent IS NULL)",
            "ix_task_runs_cache_hits": "(cache_hit IS NOT NULL)",
            "ix_task_runs_items": "(parent IS NOT NULL)",
        }
    finally:
        engine.dispose()
        with psycopg.connect(_libpq(postgres_server), autocommit=True) as c:
            c.execute(f'DROP SCHEMA "{schema}" CASCADE')
