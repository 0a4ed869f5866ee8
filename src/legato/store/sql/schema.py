"""The SQL run store's schema as a whole: every table, on one ``MetaData``, and its revision.

The tables are defined by role, each module on the one ``metadata`` of
:mod:`~legato.store.sql.catalog`: :mod:`~legato.store.sql.run_tables` (runs, events, task
records, artifacts, the cache, captured output), :mod:`~legato.store.sql.tracking_tables`
(what tasks tracked and its summaries), :mod:`~legato.store.sql.registry_tables` (the model
registry) and :mod:`~legato.store.sql.schedule_tables` (schedules and backfills). This
module imports them all, so its ``metadata`` holds every table: what creates a new database
at head, checks a store's schema or runs the migrations takes it from here.

The migrations in ``migrations/versions`` create these tables; the table modules are what
the store's statements are built from. ``tests/store/test_sql_store.py`` compares the two,
so a change there without a migration (or the other way round) fails the tests.

JSON lives in text columns that the store encodes and decodes itself: one encoder for SQLite
and PostgreSQL, and no per-row type processing on the hot path. Times are seconds since the
epoch (floats), as everywhere in legato.
"""

from __future__ import annotations

# Imported for their tables: each module defines them on ``metadata``, which holds every
# table once this module is imported.
from legato.store.sql import (  # noqa: F401
    registry_tables,
    run_tables,
    schedule_tables,
    tracking_tables,
)
from legato.store.sql.catalog import metadata

__all__ = [
    "for_postgresql",
    "HEAD",
    "VERSION_TABLE",
    "metadata",
]

HEAD = "0007"
"""The newest migration; a store whose schema is at it needs no upgrade."""

VERSION_TABLE = "legato_alembic_version"
"""Alembic's bookkeeping table, named apart so that a database shared with an application that
uses Alembic itself keeps both histories."""


def for_postgresql() -> None:
    """Give every :func:`~legato.store.sql.catalog.partial_index` its PostgreSQL clause (the
    SQLite one, which is plain SQL); once, before the first PostgreSQL statement, and again
    does nothing."""
    for table in metadata.tables.values():
        for index in table.indexes:
            where = index.dialect_options["sqlite"]["where"]
            if where is not None:
                index.dialect_kwargs["postgresql_where"] = where
