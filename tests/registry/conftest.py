"""Registries on real stores: a SQLite file and a local artifact folder per test, and the
session's PostgreSQL schema where one answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from legato.registry import Registry, open_registry
from store.conftest import (  # noqa: F401 (fixtures shared with the store tests)
    postgres_run_store,
    postgres_schema,
    postgres_server,
    postgres_url,
)


@pytest.fixture
def state_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'state' / 'legato.db'}"


@pytest.fixture
def artifacts_url(tmp_path: Path) -> str:
    return str(tmp_path / "artifacts")


@pytest.fixture(params=["sqlite", "postgres"])
def registry(
    request: pytest.FixtureRequest, state_url: str, artifacts_url: str
) -> Iterator[Registry]:
    if request.param == "sqlite":
        with open_registry(store=state_url, artifacts=artifacts_url) as opened:
            yield opened
        return
    store = request.getfixturevalue("postgres_run_store")
    from legato.store.sql.schema import metadata

    with store.engine.begin() as c:
        for table in reversed(metadata.sorted_tables):
            c.execute(sa.delete(table))
    yield open_registry(store=store, artifacts=artifacts_url)
