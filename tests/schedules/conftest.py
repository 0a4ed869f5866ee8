"""Schedule stores on real databases: a SQLite file per test, and the session's PostgreSQL
schema (emptied per test) where one answers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from legato.store.sql import SqlRunStore
from legato.store.sql.schedules import SqlScheduleStore
from store.conftest import (  # noqa: F401 (fixtures shared with the store tests)
    postgres_run_store,
    postgres_schema,
    postgres_server,
    postgres_url,
    s3_options,
)


@dataclass
class Stores:
    """A run store and the schedule store in its database."""

    url: str
    runs: SqlRunStore
    schedules: SqlScheduleStore


def empty(store: SqlRunStore) -> None:
    """Delete every row of every legato table."""
    from legato.store.sql.schema import metadata

    with store.engine.begin() as c:
        for table in reversed(metadata.sorted_tables):
            c.execute(sa.delete(table))


@pytest.fixture
def sqlite_stores(tmp_path: Path) -> Iterator[Stores]:
    url = f"sqlite:///{tmp_path / 'state' / 'legato.db'}"
    runs = SqlRunStore(url)
    yield Stores(url, runs, SqlScheduleStore(runs.engine))
    runs.close()


@pytest.fixture
def postgres_stores(request: pytest.FixtureRequest) -> Stores:
    store: SqlRunStore = request.getfixturevalue("postgres_run_store")
    empty(store)
    return Stores(request.getfixturevalue("postgres_url"), store, SqlScheduleStore(store.engine))


@pytest.fixture(params=["sqlite", "postgres"])
def stores(request: pytest.FixtureRequest) -> Stores:
    """Each test once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_stores")  # type: ignore[no-any-return]
