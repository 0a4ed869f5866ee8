"""Run-store fixtures: a SQLite file per test, and one PostgreSQL schema per test session;
and a real S3 API (moto's standalone server on 127.0.0.1) for the stores and triggers that
read object storage.

PostgreSQL tests need ``LEGATO_TEST_POSTGRES_URL`` (``postgresql+psycopg://user@host/db``);
without it, or with nothing answering there, they skip and say why. Each session works in a
schema of its own (``search_path`` in the URL), dropped at the end, so runs never see each
other's data and a crashed session leaves nothing the next one trips over.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from legato.store.memory import MemoryRunStore

if TYPE_CHECKING:
    from legato.store.sql import SqlRunStore

POSTGRES_ENV = "LEGATO_TEST_POSTGRES_URL"


def _libpq(url: str) -> str:
    import sqlalchemy as sa

    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def with_schema(url: str, schema: str) -> str:
    """``url`` with ``schema`` first on the search path."""
    import sqlalchemy as sa

    parsed = sa.make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return parsed.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The URL of a PostgreSQL server that answers (skips the test otherwise)."""
    url = os.environ.get(POSTGRES_ENV, "")
    if not url:
        pytest.skip(
            f"PostgreSQL tests skipped: {POSTGRES_ENV} is not set "
            f"(e.g. {POSTGRES_ENV}=postgresql+psycopg://postgres@127.0.0.1:5432/test)"
        )
    try:
        import psycopg
    except ImportError:
        pytest.skip("PostgreSQL tests skipped: psycopg is not installed (legato[postgres])")
    try:
        psycopg.connect(_libpq(url), connect_timeout=5).close()
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        pytest.skip(f"PostgreSQL tests skipped: nothing answers at {POSTGRES_ENV}={url}: {first}")
    return url


@pytest.fixture(scope="session")
def postgres_schema(postgres_server: str) -> Iterator[tuple[str, str]]:
    """A fresh schema for this session: (its name, a URL that works in it)."""
    import psycopg

    schema = f"legato_test_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(_libpq(postgres_server), autocommit=True) as c:
        c.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema, with_schema(postgres_server, schema)
    finally:
        with psycopg.connect(_libpq(postgres_server), autocommit=True) as c:
            c.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="session")
def postgres_url(postgres_schema: tuple[str, str]) -> str:
    """A PostgreSQL URL whose schema has legato's tables (they are emptied per test by
    :func:`postgres_store`)."""
    return postgres_schema[1]


@pytest.fixture(scope="session")
def postgres_run_store(postgres_url: str) -> Iterator[SqlRunStore]:
    """One PostgreSQL run store for the session (tests empty its tables as they need)."""
    from legato.store.sql import SqlRunStore

    store = SqlRunStore(postgres_url)
    yield store
    store.close()


@pytest.fixture
def memory_store() -> MemoryRunStore:
    """An empty in-memory run store."""
    return MemoryRunStore()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite URL in a folder that does not exist yet."""
    return f"sqlite:///{tmp_path / 'state' / 'legato.db'}"


@pytest.fixture(scope="module")
def s3_options() -> Iterator[dict[str, Any]]:
    """A real S3 API: moto's server on a free port of 127.0.0.1, with one bucket."""
    server_module = pytest.importorskip(
        "moto.server", reason="moto[server] is not installed: the S3 tests need it"
    )
    pytest.importorskip("s3fs", reason="s3fs (legato[s3]) is not installed")
    import fsspec

    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    options = {
        "key": "testing",
        "secret": "testing",
        "endpoint_url": f"http://{host}:{port}",
        "client_kwargs": {"region_name": "eu-west-1"},
    }
    # moto keeps its buckets in this process's memory: the server of a later test module
    # finds the bucket an earlier one made.
    fsspec.filesystem("s3", **options).makedirs("legato-test", exist_ok=True)
    try:
        yield options
    finally:
        server.stop()
