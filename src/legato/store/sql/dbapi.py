"""A run store's DB-API connections, without SQLAlchemy.

How legato configures a SQLite connection (:func:`configure_sqlite`) is written here once:
the engine's pool (:mod:`legato.store.sql.connect`) applies it to every connection it opens,
and the append process (:mod:`legato.store.sql.offload_child`), which must start without
importing SQLAlchemy, opens its one connection with :func:`connect` from a :data:`Recipe`
the store made (:func:`legato.store.sql.connect.recipe`).
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

__all__ = ["BUSY_TIMEOUT", "Recipe", "configure_sqlite", "connect", "driver_errors"]

BUSY_TIMEOUT = 60.0
"""Seconds a SQLite connection waits for another process's write lock before failing."""

_CACHE_KIB = 32 * 1024  # page cache per connection (SQLite's default is 2 MiB)
_WAL_PAGES = 16384
"""Pages the write-ahead log grows to before a commit copies them into the database file
(SQLite's default is 1,000, about 4 MiB). A run's appends touch the same index pages again
and again (the cache's and the artifacts' keys are hashes, spread over the whole index):
a larger log writes each such page back once per checkpoint rather than once per 4 MiB of
commits. Appending 300,000 W2 tasks: 58-68 -> 47-57 us of CPU per task, wall 72-93 ->
50-62 us (``benchmarks/findings.md``)."""
_WAL_LIMIT = _WAL_PAGES * 4096
"""Bytes the log file is cut back to after a checkpoint (it is otherwise left at its
largest)."""

Recipe = dict[str, Any]
"""How to open a connection: ``{"dialect": "sqlite", "database": path}`` or
``{"dialect": "postgresql", "args": [...], "kwargs": {...}}`` (psycopg's ``connect``)."""


def configure_sqlite(connection: sqlite3.Connection) -> None:
    """legato's settings on a new SQLite connection: no implicit transactions (the store
    emits ``BEGIN`` itself), WAL checkpointed every :data:`_WAL_PAGES` pages,
    ``synchronous=NORMAL``, foreign keys, the busy timeout and a larger page cache."""
    connection.isolation_level = None
    cursor = connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
        _set_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
        cursor.execute(f"PRAGMA wal_autocheckpoint = {_WAL_PAGES}")
        cursor.execute(f"PRAGMA journal_size_limit = {_WAL_LIMIT}")
    finally:
        cursor.close()


def _set_wal(cursor: sqlite3.Cursor) -> None:
    # Switching a fresh file to WAL needs a moment of exclusive access; when several processes
    # open it at once SQLite may answer "locked" without consulting the busy timeout.
    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def connect(recipe: Recipe) -> Any:
    """A new DB-API connection as ``recipe`` says, configured as the store's pool would."""
    if recipe["dialect"] == "sqlite":
        connection = sqlite3.connect(
            recipe["database"], timeout=BUSY_TIMEOUT, check_same_thread=False
        )
        configure_sqlite(connection)
        return connection
    import psycopg

    return psycopg.connect(*recipe["args"], **recipe["kwargs"])


def driver_errors(recipe: Recipe) -> tuple[type[Exception], ...]:
    """The driver's error classes (DB-API ``Error``) for connections of ``recipe``."""
    if recipe["dialect"] == "sqlite":
        return (sqlite3.Error,)
    import psycopg

    return (psycopg.Error,)
