"""The conformance suite on every run store: in memory, SQLite, PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from legato.model.tracking import Tracked, TrackKind
from legato.store.base import RunStore
from legato.store.memory import MemoryRunStore
from legato.store.sql import SqlRunStore
from legato.store.sql import reads as sql_reads
from legato.store.sql import store as sql_store
from legato.store.sql.schema import metadata

from .conformance import RunStoreContract, run_info
from .read_conformance import LightReadsContract
from .registry_conformance import TrackingAndRegistryContract
from .search_conformance import FindRunsContract


# One store (and one append process) per module for the offloaded classes; every test
# starts from emptied tables.
@pytest.fixture(scope="module")
def every_append_offloaded() -> Iterator[None]:
    """Appends of any size go to a ready append process (not only those of 16+ events)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sql_store, "OFFLOAD_MIN_EVENTS", 1)
        yield


@pytest.fixture(scope="module")
def offloaded_sqlite(
    tmp_path_factory: pytest.TempPathFactory, every_append_offloaded: None
) -> Iterator[SqlRunStore]:
    path = tmp_path_factory.mktemp("offloaded") / "legato.db"
    store = SqlRunStore(f"sqlite:///{path}", offload_from=0)
    assert store.start_offload(wait=True)
    yield store
    store.close()


@pytest.fixture(scope="module")
def offloaded_postgres(postgres_url: str, every_append_offloaded: None) -> Iterator[SqlRunStore]:
    store = SqlRunStore(postgres_url, offload_from=0)
    assert store.start_offload(wait=True)
    yield store
    store.close()


class TestMemoryRunStore(
    RunStoreContract, TrackingAndRegistryContract, FindRunsContract, LightReadsContract
):
    @pytest.fixture
    def store(self) -> RunStore:
        return MemoryRunStore()


class TestSqliteRunStore(
    RunStoreContract, TrackingAndRegistryContract, FindRunsContract, LightReadsContract
):
    @pytest.fixture
    def store(self, sqlite_url: str) -> Iterator[RunStore]:
        store = SqlRunStore(sqlite_url)
        yield store
        store.close()


class TestSqliteOffloadedRunStore(
    RunStoreContract, TrackingAndRegistryContract, FindRunsContract, LightReadsContract
):
    """Every append made by the store's append process (``legato.store.sql.offload``)."""

    @pytest.fixture
    def store(self, offloaded_sqlite: SqlRunStore) -> RunStore:
        return _emptied(offloaded_sqlite)


class TestPostgresRunStore(
    RunStoreContract, TrackingAndRegistryContract, FindRunsContract, LightReadsContract
):
    @pytest.fixture
    def store(self, postgres_run_store: SqlRunStore) -> RunStore:
        with postgres_run_store.engine.begin() as c:
            # DELETE: far quicker than TRUNCATE on tables this small.
            for table in reversed(metadata.sorted_tables):
                c.execute(sa.delete(table))
        return postgres_run_store


class TestPostgresOffloadedRunStore(
    RunStoreContract, TrackingAndRegistryContract, FindRunsContract
):
    """Every append made by the append process, on PostgreSQL."""

    @pytest.fixture
    def store(self, offloaded_postgres: SqlRunStore) -> RunStore:
        return _emptied(offloaded_postgres)


def _emptied(store: SqlRunStore) -> SqlRunStore:
    with store.engine.begin() as c:
        for table in reversed(metadata.sorted_tables):
            c.execute(sa.delete(table))
    return store


def test_read_runs_reads_more_runs_than_one_query_names(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs beyond one ``IN (...)``'s share are read by the next query, none lost or
    repeated."""
    monkeypatch.setattr(sql_reads, "CHUNK", 2)
    store = SqlRunStore(sqlite_url)
    ids = [f"run-{i}" for i in range(5)]
    for i, run_id in enumerate(ids):
        store.create_run(run_info(run_id))
        value = Tracked(
            run_id=run_id, key="t", attempt=1, kind=TrackKind.METRIC, name="m", value=i, step=0
        )
        store.append(run_id, "owner-1", [], [value])
    got = store.read_runs([*reversed(ids), "ghost", ids[0]], extremes=True)
    assert list(got) == list(reversed(ids))
    assert [got[r].tracked for r in ids] == [store.read_tracked(r) for r in ids]
    assert all(got[r].tracked[0].value == i for i, r in enumerate(ids))
    store.close()
