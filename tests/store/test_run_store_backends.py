"""The conformance suite on every run store: in memory, SQLite, PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from legato.store.base import RunStore
from legato.store.memory import MemoryRunStore
from legato.store.sql import SqlRunStore
from legato.store.sql.schema import metadata

from .conformance import RunStoreContract
from .registry_conformance import TrackingAndRegistryContract


class TestMemoryRunStore(RunStoreContract, TrackingAndRegistryContract):
    @pytest.fixture
    def store(self) -> RunStore:
        return MemoryRunStore()


class TestSqliteRunStore(RunStoreContract, TrackingAndRegistryContract):
    @pytest.fixture
    def store(self, sqlite_url: str) -> Iterator[RunStore]:
        store = SqlRunStore(sqlite_url)
        yield store
        store.close()


class TestPostgresRunStore(RunStoreContract, TrackingAndRegistryContract):
    @pytest.fixture
    def store(self, postgres_run_store: SqlRunStore) -> RunStore:
        with postgres_run_store.engine.begin() as c:
            # DELETE: far quicker than TRUNCATE on tables this small.
            for table in reversed(metadata.sorted_tables):
                c.execute(sa.delete(table))
        return postgres_run_store
