"""The append hot path: one transaction on a DBAPI connection the store keeps.

Every statement is SQLAlchemy-compiled SQL (:mod:`legato.store.sql.statements`); only the
execution skips ``Connection.execute``. What is written, statement by statement, is
:mod:`legato.store.sql.writes` (shared with the append process). On SQLite the transaction
starts with ``BEGIN IMMEDIATE`` like every other write of the store; on PostgreSQL the
driver opens it.

Each transaction borrows one of the few connections the store keeps for its appends
(:mod:`legato.store.sql.kept`): a checkout from the engine's pool per append would cost a
pool round (and on PostgreSQL a ping and a rollback, two round trips to the server) for every
turn of the loop. A connection found broken is dropped and the append tried once more on a
fresh one from the pool; if the first try did commit after all, the retry is refused by the
sequence check, so nothing is written twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import sqlalchemy as sa

from legato.errors import StoreError
from legato.store.sql.batch import Batch
from legato.store.sql.kept import KeptConnections
from legato.store.sql.statements import SUMMARY_COLUMNS, AppendStatements
from legato.store.sql.writes import BatchWriter

__all__ = ["Appender"]


class Appender:
    """Writes :class:`~legato.store.sql.batch.Batch` es; safe to share between threads."""

    def __init__(self, engine: sa.Engine, where: str) -> None:
        self._engine = engine
        self._where = where
        self._sql = AppendStatements(engine.dialect)
        self._writer = BatchWriter(
            self._sql,
            postgres=engine.dialect.name == "postgresql",
            where=where,
            summary_names=[c.name for c in SUMMARY_COLUMNS],
        )
        self._begin = "BEGIN IMMEDIATE" if engine.dialect.name == "sqlite" else None
        self._read_begin = "BEGIN" if engine.dialect.name == "sqlite" else None
        self._errors: tuple[type[Exception], ...] = (engine.dialect.loaded_dbapi.Error,)
        self._kept = KeptConnections(engine, where)

    def check_owner(self, run_id: str, owner: str) -> None:
        """Raise unless ``owner`` owns the run (an append of no events)."""
        self._transaction(
            f"checking the owner of run {run_id!r}",
            lambda cursor: self._writer.check_owner(cursor, run_id, owner),
        )

    def append(self, batch: Batch, owner: str) -> None:
        """Write ``batch`` in one transaction, fenced by ``owner``."""
        what = f"appending events {batch.first_seq}-{batch.last_seq} to run {batch.run_id!r}"
        self._transaction(what, lambda cursor: self._writer.write(cursor, batch, owner))

    def append_tracked(self, batch: Batch, owner: str) -> None:
        """Write the tracked values of a batch without events, fenced by ``owner``."""
        self._transaction(
            f"storing tracked values of run {batch.run_id!r}",
            lambda cursor: self._writer.tracked_only(cursor, batch, owner),
        )

    @property
    def statements(self) -> AppendStatements:
        """The statements appends run (what the append process is sent)."""
        return self._sql

    @property
    def kept(self) -> KeptConnections:
        """The connections kept for appends (how many: :data:`~legato.store.sql.kept.KEEP`)."""
        return self._kept

    def close(self) -> None:
        """Give the kept connections back to the pool (later appends take new ones)."""
        self._kept.close()

    def lookup_cache(self, keys: Sequence[str], chunk: int) -> list[tuple[Any, ...]]:
        """Rows ``(key, output, run_id, task_key, created_at, inline)`` of the cache entries
        of ``keys``, newest first within each key: a statement prepared once per list length,
        on this thread's connection (the loop asks for every few tasks that become ready)."""
        rows: list[tuple[Any, ...]] = []

        def work(cursor: Any) -> None:
            for start in range(0, len(keys), chunk):
                part = keys[start : start + chunk]
                cursor.execute(self._sql.cache_lookup(len(part)), part)
                rows.extend(cursor.fetchall())

        self._transaction("looking up the cache", work, read=True)
        return rows

    def _transaction(self, what: str, work: Callable[[Any], None], *, read: bool = False) -> None:
        opening = self._read_begin if read else self._begin
        for attempt in (1, 2):
            loan = self._kept.lend(fresh=attempt == 2)
            connection = loan.connection
            try:
                cursor = connection.cursor()
                try:
                    if opening is not None:
                        cursor.execute(opening)
                    work(cursor)
                finally:
                    cursor.close()
                connection.commit()
            except BaseException as exc:
                broken = isinstance(exc, self._errors) and self._engine.dialect.is_disconnect(
                    cast(Any, exc), connection.dbapi_connection, None
                )
                if not broken:
                    try:
                        connection.rollback()
                    except self._errors:
                        broken = True
                if broken:
                    self._kept.drop(loan)
                    if attempt == 1:
                        continue
                else:
                    self._kept.give_back(loan)
                if isinstance(exc, self._errors):
                    raise StoreError(
                        f"{what} failed in the run store at {self._where}: {exc}"
                    ) from exc
                raise
            self._kept.give_back(loan)
            return
