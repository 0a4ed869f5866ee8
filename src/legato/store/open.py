"""Open a run store from a URL."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from legato.store.base import RunStore

__all__ = ["open_run_store", "store_file"]


def open_run_store(url: str, *, read_only: bool = False) -> RunStore:
    """The run store at ``url``: ``memory://`` for :class:`~legato.store.memory.MemoryRunStore`,
    a SQLAlchemy URL (``sqlite:///path/to/legato.db``, ``postgresql+psycopg://...``) or a plain
    file path (a SQLite file) for :class:`~legato.store.sql.SqlRunStore`, whose schema is
    brought up to date on opening, unless ``read_only``: then nothing is created or upgraded
    and the database refuses writes (what commands that only read open). SQLAlchemy is
    imported only for the SQL stores."""
    if url == "memory://":
        from legato.store.memory import MemoryRunStore  # noqa: PLC0415

        return MemoryRunStore()
    from legato.store.sql import SqlRunStore  # noqa: PLC0415 (SQLAlchemy only when needed)

    if "://" not in url:
        url = f"sqlite:///{url}"
    return SqlRunStore(url, read_only=read_only)


def store_file(url: str) -> Path | None:
    """The file of the SQLite run store at ``url`` (a URL or a plain path, as
    :func:`open_run_store` takes it), whether it exists or not; None for a store that is not
    a file (PostgreSQL, ``memory://``). Opening nothing, it tells a store not made yet from
    an empty one, which a read-only store reads alike."""
    if url == "memory://":
        return None
    if "://" not in url:
        return Path(url).expanduser().absolute()
    import sqlalchemy as sa  # noqa: PLC0415 (SQLAlchemy only when needed)

    from legato.store.sql.connect import sqlite_path  # noqa: PLC0415

    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        return None  # not a URL: opening the store says so
    return sqlite_path(parsed) if parsed.get_backend_name() == "sqlite" else None
