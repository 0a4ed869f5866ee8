"""The SQL run store (SQLAlchemy 2 Core): SQLite by default, PostgreSQL with the same code.

Importing this package imports SQLAlchemy and Alembic; ``import legato`` never does.
"""

from legato.store.sql.store import SqlRunStore

__all__ = ["SqlRunStore"]
