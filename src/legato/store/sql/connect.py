"""Engines for the run store: SQLite settings, write transactions, schema upgrades.

SQLite gets, on every connection: WAL (readers never block the writer), ``synchronous=NORMAL``
(a commit is durable against a process crash; a power cut may lose the last commits but never
corrupts), foreign keys, and a 60 s busy timeout. The sqlite3 module's own transaction handling
is switched off and the store emits ``BEGIN`` itself (SQLAlchemy's documented recipe): reads
``BEGIN`` (deferred), writes ``BEGIN IMMEDIATE``. A deferred transaction that turns into a
write cannot wait for the lock (its snapshot may be stale) and fails at once with "database is
locked" whatever the busy timeout; an immediate one takes the write lock up front and waits for
it, so concurrent writers queue instead of failing.

PostgreSQL (``postgresql+psycopg://``) needs none of this. Schema upgrades take a lock there
too (an advisory lock), so processes opening a fresh database at once do not race.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from legato.errors import StoreError
from legato.store.sql.dbapi import BUSY_TIMEOUT, Recipe, configure_sqlite
from legato.store.sql.schema import HEAD, VERSION_TABLE, for_postgresql, metadata

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "BUSY_TIMEOUT",
    "WRITE",
    "alembic_config",
    "begin",
    "current_revision",
    "db_now",
    "dialect_insert",
    "make_engine",
    "postgresql_array",
    "postgresql_jsonb",
    "recipe",
    "sqlite_path",
    "unknown_revision",
    "upgrade",
    "version_table",
]

WRITE = "legato_write"
"""Execution option that marks an engine's transactions as writes (``BEGIN IMMEDIATE``)."""

_MIGRATIONS = Path(__file__).with_name("migrations")
_PG_MIGRATION_LOCK = 0x1E6A70  # any constant: the advisory lock all legato migrators share


def make_engine(url: str) -> sa.Engine:
    """An engine for ``url`` with legato's connection settings (see the module docstring)."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise StoreError(f"not a database URL: {url!r} ({exc})") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed)
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        for_postgresql()
        return sa.create_engine(parsed, pool_pre_ping=True)
    raise StoreError(
        f"legato's run store supports sqlite:/// and postgresql+psycopg:// URLs, not {url!r}"
    )


def sqlite_path(url: sa.URL) -> Path:
    """The file a ``sqlite:///`` URL names (``StoreError`` for an in-memory database or a
    ``file:`` URI, which a store shared by processes cannot be)."""
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        raise StoreError(
            f"{url.render_as_string()!r} is not a file: give the run store a path "
            "(sqlite:///path/to/legato.db), or use memory:// for a store that keeps nothing"
        )
    return Path(database).expanduser().absolute()


def begin(connection: sa.Connection) -> None:
    """Begin a SQLite transaction (the engine's ``begin`` event): ``BEGIN IMMEDIATE`` for
    writes, a deferred ``BEGIN`` for reads (see the module docstring)."""
    write = connection.get_execution_options().get(WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _sqlite_engine(url: sa.URL) -> sa.Engine:
    sqlite_path(url).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url,
        connect_args={"timeout": BUSY_TIMEOUT, "check_same_thread": False},
    )

    @sa.event.listens_for(engine, "connect")
    def _configure(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        configure_sqlite(dbapi_connection)

    sa.event.listen(engine, "begin", begin)
    return engine


def recipe(engine: sa.Engine) -> Recipe:
    """How to open a connection like the engine's without SQLAlchemy
    (:func:`legato.store.sql.dbapi.connect`): what the append process is sent."""
    if engine.dialect.name == "sqlite":
        return {"dialect": "sqlite", "database": str(sqlite_path(engine.url))}
    args, kwargs = engine.dialect.create_connect_args(engine.url)
    # Only the connection's settings travel: SQLAlchemy also hands psycopg its own type
    # adapters, which an append's plain values (text, numbers, bytes, their arrays) need not.
    plain = {k: v for k, v in kwargs.items() if isinstance(v, str | int | float | bool | None)}
    return {"dialect": "postgresql", "args": list(args), "kwargs": plain}


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """Alembic configured from code (no ``alembic.ini``) to migrate through ``connection``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def current_revision(connection: sa.Connection) -> str | None:
    """The schema revision the database is at (None: no legato tables yet). Read with plain
    SQL: Alembic (~0.1 s to import) is loaded only when a schema must change."""
    if not sa.inspect(connection).has_table(VERSION_TABLE):
        return None
    table = sa.table(VERSION_TABLE, sa.column("version_num", sa.Text))
    found = connection.execute(sa.select(table.c.version_num)).scalars().all()
    if len(found) > 1:
        raise StoreError(
            f"the run store's {VERSION_TABLE} table holds {len(found)} revisions ({found}); "
            "it should hold one: restore the database from a backup"
        )
    return found[0] if found else None


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (the newest by default), once, whoever else is
    opening the same database at the same moment."""
    if revision == "head":
        with engine.connect() as connection:
            if current_revision(connection) == HEAD:
                return
    with engine.execution_options(**{WRITE: True}).begin() as connection:
        # Hold the write lock while checking and migrating: a second opener waits here and
        # then finds the schema current.
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})"))
        found = current_revision(connection)
        if found is None and revision in ("head", HEAD):
            _create_at_head(connection)
            return
        from alembic.command import upgrade as alembic_upgrade

        config = alembic_config(connection)
        if found is not None and unknown_revision(found):
            raise StoreError(
                f"the run store's schema is at revision {found!r}, which this version of "
                "legato does not know: it was written by a newer legato; upgrade legato"
            )
        alembic_upgrade(config, revision)


def unknown_revision(found: str) -> bool:
    """Whether schema revision ``found`` is none of this legato's migrations (a newer
    legato wrote it). Loads Alembic."""
    from alembic.script import ScriptDirectory

    try:
        ScriptDirectory.from_config(alembic_config()).get_revision(found)
    except Exception:
        return True
    return False


def version_table() -> sa.Table:
    """Alembic's bookkeeping table, as its migrations create it."""
    return sa.Table(
        VERSION_TABLE,
        sa.MetaData(),
        sa.Column("version_num", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("version_num", name=f"{VERSION_TABLE}_pkc"),
    )


def _create_at_head(connection: sa.Connection) -> None:
    """A new database gets the newest schema in one step, stamped with its revision, as the
    migrations would leave it (a test compares the two) but without loading Alembic."""
    metadata.create_all(connection)
    version = version_table()
    version.create(connection, checkfirst=True)
    connection.execute(version.insert().values(version_num=HEAD))


def db_now(dialect: str) -> Any:
    """The database's own clock, in seconds since the epoch, as a SQL expression: leases are
    stamped and judged on it, so that orchestrators on hosts whose clocks disagree still
    agree on when a lease expires."""
    if dialect == "postgresql":
        return sa.literal_column("extract(epoch from clock_timestamp())::float8", sa.Float)
    return sa.literal_column("((julianday('now') - 2440587.5) * 86400.0)", sa.Float)


def dialect_insert(dialect: str) -> Any:
    """The ``insert`` of ``dialect`` (``on_conflict_do_...`` included), imported on first use:
    SQLAlchemy's PostgreSQL dialect costs a SQLite store (and every CLI command) ~20 ms."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def postgresql_jsonb() -> Any:
    """PostgreSQL's ``JSONB`` type (the dialect imported on first use)."""
    from sqlalchemy.dialects.postgresql import JSONB

    return JSONB


def postgresql_array(item_type: Any) -> Any:
    """A PostgreSQL ``ARRAY`` of ``item_type`` (the dialect imported on first use)."""
    from sqlalchemy.dialects.postgresql import ARRAY

    return ARRAY(item_type)
