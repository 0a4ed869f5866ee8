"""A run store opened read-only (what commands that only read open): it reads what the store
holds, the database itself refuses its writes, and opening it creates, switches and
upgrades nothing.

Tests run as root, whom file modes do not stop, so what is checked here is what the store
asks of SQLite: a connection opened ``mode=ro`` refuses writes whoever the user is (even with
``query_only`` switched off again). ``tests/cli/test_read_only.py`` runs the commands on a
home the kernel refuses to write.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from legato.errors import StoreError, UnknownRunError
from legato.model.events import RunTransitioned
from legato.model.runs import RunInfo
from legato.model.states import RunState
from legato.store.open import open_run_store, store_file
from legato.store.sql import SqlRunStore
from legato.store.sql.connect import current_revision, make_engine, upgrade
from legato.store.sql.readonly import read_only_engine

from .test_sql_store import schema_of


def _recorded(url: str) -> None:
    store = SqlRunStore(url)
    store.create_run(RunInfo(run_id="r1", pipeline="p", owner="o", created_at=1.0))
    store.append("r1", "o", [RunTransitioned(run_id="r1", seq=1, at=2.0, state=RunState.RUNNING)])
    store.close()


def test_it_reads_and_the_database_refuses_its_writes(sqlite_url: str) -> None:
    _recorded(sqlite_url)
    store = open_run_store(sqlite_url, read_only=True)
    assert isinstance(store, SqlRunStore)
    assert store.read_only
    assert [r.run_id for r in store.list_runs()] == ["r1"]
    assert store.get_run("r1").state is RunState.RUNNING
    with pytest.raises(StoreError, match="readonly database"):
        store.create_run(RunInfo(run_id="r2", pipeline="p", owner="o"))
    with pytest.raises(StoreError, match="readonly database"):
        store.append(
            "r1", "o", [RunTransitioned(run_id="r1", seq=2, at=3.0, state=RunState.FAILED)]
        )
    with store.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA query_only").scalar() == 1
        c.exec_driver_sql("PRAGMA query_only = OFF")  # mode=ro still refuses
        with pytest.raises(sa.exc.OperationalError, match="readonly database"):
            c.exec_driver_sql("CREATE TABLE x (a)")
    store.close()
    assert [r.run_id for r in SqlRunStore(sqlite_url).list_runs()] == ["r1"]


def test_a_database_not_made_yet_reads_as_empty_and_is_not_made(tmp_path: Path) -> None:
    path = tmp_path / "state" / "legato.db"
    store = SqlRunStore(f"sqlite:///{path}", read_only=True)
    assert store.list_runs() == []
    with pytest.raises(UnknownRunError, match=str(path)):
        store.get_run("r1")
    assert not path.parent.exists()
    created = make_engine(f"sqlite:///{tmp_path / 'created.db'}")
    upgrade(created)
    assert schema_of(store.engine) == schema_of(created)  # the empty store has the schema
    created.dispose()
    store.close()


def test_a_store_opened_before_its_database_exists_sees_it_once_it_does(
    sqlite_url: str,
) -> None:
    store = SqlRunStore(sqlite_url, read_only=True)
    assert store.list_runs() == []
    _recorded(sqlite_url)
    assert [r.run_id for r in store.list_runs()] == ["r1"]
    store.close()


def test_opening_upgrades_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    upgrade(engine, "0001")
    engine.dispose()
    with pytest.raises(StoreError, match="older than this legato's"):
        SqlRunStore(url, read_only=True)
    engine = make_engine(url)
    with engine.connect() as c:
        assert current_revision(c) == "0001"
    engine.dispose()
    SqlRunStore(url).close()  # a store that writes upgrades it
    SqlRunStore(url, read_only=True).close()


def test_opening_switches_nothing(tmp_path: Path) -> None:
    path = tmp_path / "legato.db"
    _recorded(f"sqlite:///{path}")
    with sqlite3.connect(path) as c:
        assert c.execute("PRAGMA journal_mode = DELETE").fetchone() == ("delete",)
    c.close()
    store = SqlRunStore(f"sqlite:///{path}", read_only=True)
    assert [r.run_id for r in store.list_runs()] == ["r1"]
    store.close()
    with sqlite3.connect(path) as c:
        assert c.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # not made WAL
    c.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["legato.db"]


def test_a_database_without_legato_tables_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    path.write_bytes(b"")  # an empty file is an empty database
    with pytest.raises(StoreError, match="holds no legato tables"):
        SqlRunStore(f"sqlite:///{path}", read_only=True)


def test_not_a_database_url_is_refused() -> None:
    with pytest.raises(StoreError, match="supports sqlite"):
        read_only_engine("mysql://h/db")
    with pytest.raises(StoreError, match="is not a file"):
        read_only_engine("sqlite://")


def test_postgres_read_only_sessions_refuse_writes(postgres_url: str) -> None:
    writer = SqlRunStore(postgres_url)
    writer.close()  # the schema is there
    store = SqlRunStore(postgres_url, read_only=True)
    try:
        assert store.read_only
        store.list_runs()
        with pytest.raises(StoreError, match="read-only transaction"):
            store.create_run(RunInfo(run_id="ro-1", pipeline="p", owner="o"))
    finally:
        store.close()


def test_store_file_tells_a_store_not_made_yet_without_opening_it(tmp_path: Path) -> None:
    path = tmp_path / "state" / "legato.db"
    assert store_file(f"sqlite:///{path}") == path
    assert store_file(f"sqlite+pysqlite:///{path}?timeout=5") == path
    assert store_file(str(path)) == path  # a plain path is a SQLite file
    assert store_file("postgresql+psycopg://u:p@localhost/db") is None
    assert store_file("memory://") is None
    assert not path.parent.exists()
