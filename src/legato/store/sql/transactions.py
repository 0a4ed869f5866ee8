"""How a SQL store's calls meet the database: each call is its own transaction on a pooled
connection (writes on the engine's write options: on SQLite, ``BEGIN IMMEDIATE``), and a
database error becomes a :class:`~legato.errors.StoreError` that says what was being done
and in which store. The run, model and schedule stores share one engine and this one
boundary."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import sqlalchemy as sa

from legato.errors import StoreError
from legato.store.sql.connect import WRITE

__all__ = ["Transactions"]

_T = TypeVar("_T")


class Transactions:
    """Transactions on ``engine`` for the store named ``place`` (``"the run store at
    sqlite:///..."``: the URL with its password hidden)."""

    def __init__(self, engine: sa.Engine, place: str) -> None:
        self.engine = engine
        self.place = place
        self._writes = engine.execution_options(**{WRITE: True})
        dbapi = engine.dialect.loaded_dbapi
        self.errors: tuple[type[BaseException], ...] = (dbapi.Error, sa.exc.SQLAlchemyError)
        """What a database call raises when it fails: the driver's errors and SQLAlchemy's."""

    @contextmanager
    def write(self, what: str) -> Iterator[sa.Connection]:
        """A write transaction, committed when the block ends; ``what`` names the work in
        the error raised if it fails."""
        try:
            with self._writes.begin() as connection:
                yield connection
        except self.errors as exc:
            raise StoreError(f"{what} failed in {self.place}: {exc}") from exc

    def read(self, what: str, work: Callable[[sa.Connection], _T]) -> _T:
        """``work`` on a connection of its own; ``what`` names it in the error raised if
        it fails."""
        try:
            with self.engine.connect() as connection:
                return work(connection)
        except self.errors as exc:
            raise StoreError(f"{what} failed in {self.place}: {exc}") from exc
