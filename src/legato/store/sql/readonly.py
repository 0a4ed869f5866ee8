"""Engines that only read: what commands that only read the run store open (``legato runs``,
``runs show``, ``logs``, ``artifacts``, ``models list|show``, ``doctor``), so that they work
where the store cannot be written (a read-only mount, another user's files) and change
nothing where it can.

SQLite files are opened with ``mode=ro`` and ``PRAGMA query_only``: the database refuses any
write, and nothing is switched on opening (no WAL switch, no schema upgrade; the schema must
already be the one this legato reads, else a ``StoreError`` says what to run). A WAL database
is read by coordinating through its ``-shm`` file, which SQLite creates beside it when it is
missing; where it cannot (a read-only folder) the database is opened ``immutable`` instead,
provided there is no write-ahead log to read (a writer that closed cleanly folded it into the
database and removed it; one that has the database open keeps its log, and its ``-shm``,
beside it, so ``immutable`` is used only while nobody writes). A file that does not exist
yet reads as an empty store: each connection is an empty database in memory with the
schema, and nothing is made on disk. Such connections are not pooled, so a store opened
before the file existed sees it once it does; nor are those of a file in a folder that cannot
be written (each is opened ``immutable`` or not as the moment requires). Connections to a
file in a writable folder are pooled: each read begins its own transaction, so it sees what
was committed before it.

PostgreSQL sessions are made ``READ ONLY`` on connecting, and the schema is checked the same
way.
"""

from __future__ import annotations

import functools
import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.schema import CreateIndex, CreateTable

from legato.errors import StoreError
from legato.store.sql.connect import (
    BUSY_TIMEOUT,
    begin,
    current_revision,
    sqlite_path,
    unknown_revision,
    version_table,
)
from legato.store.sql.schema import HEAD, metadata

__all__ = ["check_schema", "read_only_engine"]

_CACHE_KIB = 8 * 1024


def read_only_engine(url: str) -> sa.Engine:
    """An engine for ``url`` that cannot write (see the module docstring)."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise StoreError(f"not a database URL: {url!r} ({exc})") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        path = sqlite_path(parsed)
        # Connections are kept (their page cache warm, no open and pragmas per read) only
        # where each is certain to be a plain read-only one: the file exists, and its
        # folder takes the -shm file (else a connection may be an empty in-memory one or an
        # immutable one, which must not outlive the moment it was opened in).
        pooled = path.exists() and os.access(path.parent, os.W_OK)
        engine = sa.create_engine(
            parsed,
            creator=lambda: _connect(path),
            poolclass=sa.pool.QueuePool if pooled else sa.pool.NullPool,
        )
        sa.event.listen(engine, "begin", begin)
        return engine
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = sa.create_engine(parsed, pool_pre_ping=True)
        sa.event.listen(engine, "connect", _postgresql_read_only)
        return engine
    raise StoreError(
        f"legato's run store supports sqlite:/// and postgresql+psycopg:// URLs, not {url!r}"
    )


def check_schema(engine: sa.Engine, where: str) -> None:
    """Refuse (``StoreError``) a database whose schema is not the one this legato reads: a
    store that only reads does not create or upgrade it."""
    with engine.connect() as connection:
        found = current_revision(connection)
    if found == HEAD:
        return
    if found is None:
        raise StoreError(
            f"the run store at {where} holds no legato tables: nothing was recorded there "
            "yet (the first run, or legato doctor --fix, creates them)"
        )
    if unknown_revision(found):
        raise StoreError(
            f"the run store at {where} has schema revision {found!r}, which this version of "
            "legato does not know: it was written by a newer legato; upgrade legato"
        )
    raise StoreError(
        f"the run store at {where} has schema revision {found!r}, older than this legato's "
        f"{HEAD!r}, and a command that only reads does not upgrade it: run one that writes "
        "(legato run, legato doctor --fix) with write access to it"
    )


def _connect(path: Path) -> sqlite3.Connection:
    if not path.exists():
        connection = sqlite3.connect(":memory:", check_same_thread=False)
        connection.executescript(_empty_schema())
    else:
        connection = _open(path, "mode=ro")
        try:
            connection.execute("PRAGMA schema_version").fetchall()  # reads the header
        except sqlite3.OperationalError as exc:
            connection.close()
            if "unable to open" not in str(exc):
                raise
            log = path.with_name(path.name + "-wal")
            if log.exists() and log.stat().st_size:
                raise StoreError(
                    f"the run store {path} cannot be read here: its folder is read-only and "
                    f"it has a write-ahead log ({log.name}) that SQLite can only read "
                    f"with {path.name}-shm beside it. Open it once where it can be written "
                    "(any legato command that writes folds the log into the database)"
                ) from exc
            connection = _open(path, "mode=ro&immutable=1")
    connection.isolation_level = None  # transactions are the engine's (connect.begin)
    connection.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
    connection.execute("PRAGMA query_only = ON")
    return connection


def _open(path: Path, options: str) -> sqlite3.Connection:
    return sqlite3.connect(
        f"file:{quote(str(path))}?{options}",
        uri=True,
        timeout=BUSY_TIMEOUT,
        check_same_thread=False,
    )


@functools.cache
def _empty_schema() -> str:
    """The schema at head as one SQLite script, stamped with its revision."""
    dialect = sqlite_dialect.dialect()
    statements = [str(CreateTable(version_table()).compile(dialect=dialect))]
    for table in metadata.sorted_tables:
        statements.append(str(CreateTable(table).compile(dialect=dialect)))
        statements += [str(CreateIndex(i).compile(dialect=dialect)) for i in table.indexes]
    version = version_table()
    statements.append(
        str(
            version.insert()
            .values(version_num=HEAD)
            .compile(dialect=dialect, compile_kwargs={"literal_binds": True})
        )
    )
    return ";\n".join(statements) + ";"


def _postgresql_read_only(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    try:
        cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    finally:
        cursor.close()
    dbapi_connection.commit()  # type: ignore[attr-defined]
