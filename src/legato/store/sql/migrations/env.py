"""Alembic's entry point for legato's run store, configured from code (no ``alembic.ini``).

:func:`legato.store.sql.migrate.upgrade` hands over a connection that is already inside a
write transaction holding the database's migration lock; everything runs in it.
"""

from __future__ import annotations

from alembic import context

from legato.store.sql.schema import VERSION_TABLE, metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    # SQLite cannot ALTER most things in place; batch mode copies the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
