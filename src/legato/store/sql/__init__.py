"""The SQL run store (SQLAlchemy 2 Core): SQLite by default, PostgreSQL with the same code.

Importing :class:`SqlRunStore` imports SQLAlchemy and Alembic (``import legato`` never
does); the package itself imports nothing, so that the append process
(:mod:`legato.store.sql.offload_child`) starts without SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from legato.store.sql.store import SqlRunStore

__all__ = ["SqlRunStore"]


def __getattr__(name: str) -> Any:
    if name == "SqlRunStore":
        from legato.store.sql.store import SqlRunStore

        return SqlRunStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
