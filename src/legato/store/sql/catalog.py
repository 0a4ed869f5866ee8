"""The one ``MetaData`` the SQL run store's tables are defined on, and what their
definitions share.

Each table module (:mod:`~legato.store.sql.run_tables`,
:mod:`~legato.store.sql.tracking_tables`, :mod:`~legato.store.sql.registry_tables`,
:mod:`~legato.store.sql.schedule_tables`) defines its tables on :data:`metadata`, so that the
whole schema is one object that creates a new database, is compared with the migrations, and
gives its partial indexes their PostgreSQL clause. What needs every table takes ``metadata``
from :mod:`legato.store.sql.schema`, which imports all the table modules.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "SERIAL",
    "metadata",
    "partial_index",
]

metadata = sa.MetaData()

SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
"""An autoincrementing 64-bit key that is still SQLite's rowid alias (only INTEGER is)."""


def partial_index(name: str, *columns: str, where: str) -> sa.Index:
    """An index of the rows where ``where`` holds, on SQLite and on PostgreSQL.

    Only the SQLite clause is set here; :func:`~legato.store.sql.schema.for_postgresql` adds
    the PostgreSQL one when a PostgreSQL store is opened. A dialect's keyword
    (``postgresql_where``) loads that dialect as the index is made, and SQLAlchemy's
    PostgreSQL dialect (with the asyncio its drivers import) would cost every SQLite store, so
    every ``legato`` command, tens of milliseconds.
    """
    return sa.Index(name, *columns, sqlite_where=sa.text(where))
