"""The append hot path: one transaction on a DBAPI connection the store keeps.

Every statement is SQLAlchemy-compiled SQL (:mod:`legato.store.sql.statements`); only the
execution skips ``Connection.execute``. On SQLite the transaction starts with ``BEGIN
IMMEDIATE`` like every other write of the store; on PostgreSQL the driver opens it.

Each transaction borrows one of the few connections the store keeps for its appends
(:mod:`legato.store.sql.kept`): a checkout from the engine's pool per append would cost a
pool round (and on PostgreSQL a ping and a rollback, two round trips to the server) for every
turn of the loop. A connection found broken is dropped and the append tried once more on a
fresh one from the pool; if the first try did commit after all, the retry is refused by the
sequence check, so nothing is written twice.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any, cast

import sqlalchemy as sa

from legato.errors import FencedError, StoreError, UnknownRunError
from legato.model.events import MapExpanded
from legato.model.items import item_keys
from legato.model.runs import RunInfo
from legato.model.states import TaskState
from legato.store import metric_summary
from legato.store.memory import fenced_message, unknown_run_message
from legato.store.sql.batch import Batch
from legato.store.sql.kept import KeptConnections
from legato.store.sql.statements import SUMMARY_COLUMNS, AppendStatements

__all__ = ["Appender"]


class Appender:
    """Writes :class:`~legato.store.sql.batch.Batch` es; safe to share between threads."""

    def __init__(self, engine: sa.Engine, where: str) -> None:
        self._engine = engine
        self._where = where
        self._sql = AppendStatements(engine.dialect)
        self._begin = "BEGIN IMMEDIATE" if engine.dialect.name == "sqlite" else None
        self._read_begin = "BEGIN" if engine.dialect.name == "sqlite" else None
        self._errors: tuple[type[Exception], ...] = (engine.dialect.loaded_dbapi.Error,)
        self._kept = KeptConnections(engine, where)

    def check_owner(self, run_id: str, owner: str) -> None:
        """Raise unless ``owner`` owns the run (an append of no events)."""
        self._transaction(
            f"checking the owner of run {run_id!r}",
            lambda cursor: self._check_owner(cursor, run_id, owner),
        )

    def append(self, batch: Batch, owner: str) -> None:
        """Write ``batch`` in one transaction, fenced by ``owner``."""
        what = f"appending events {batch.first_seq}-{batch.last_seq} to run {batch.run_id!r}"
        self._transaction(what, lambda cursor: self._write(cursor, batch, owner))

    def append_tracked(self, batch: Batch, owner: str) -> None:
        """Write the tracked values of a batch without events, fenced by ``owner``."""

        def work(cursor: Any) -> None:
            self._sql.touch.execute(cursor, {"b_run_id": batch.run_id, "b_owner": owner})
            if cursor.rowcount != 1:
                self._refuse(cursor, batch.run_id, owner, None)
            self._tracked(cursor, batch)

        self._transaction(f"storing tracked values of run {batch.run_id!r}", work)

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

    def _check_owner(self, cursor: Any, run_id: str, owner: str) -> None:
        self._sql.owner.execute(cursor, {"b_run_id": run_id})
        row = cursor.fetchone()
        if row is None or row[0] != owner:
            self._refuse(cursor, run_id, owner, None)

    def _write(self, cursor: Any, batch: Batch, owner: str) -> None:
        sql = self._sql
        run_id = batch.run_id
        sql.fence.execute(
            cursor,
            {
                "b_last": batch.last_seq,
                "b_run_id": run_id,
                "b_owner": owner,
                "b_prev": batch.first_seq - 1,
            },
        )
        if cursor.rowcount != 1:
            self._refuse(cursor, run_id, owner, batch.first_seq)
        with self._pipeline(cursor):
            self._rows(cursor, batch)

    def _pipeline(self, cursor: Any) -> contextlib.AbstractContextManager[Any]:
        """On PostgreSQL, send the statements after the fence without waiting for each
        one's answer: one round trip to the server instead of one per statement."""
        if self._begin is None:
            return cast(contextlib.AbstractContextManager[Any], cursor.connection.pipeline())
        return contextlib.nullcontext()

    def _rows(self, cursor: Any, batch: Batch) -> None:
        sql = self._sql
        run_id = batch.run_id
        sql.events.executemany(cursor, batch.events)
        for kind, step in batch.steps:
            if kind == "changes":
                for by_shape in step:
                    for shape, rows in by_shape.items():
                        sql.change(shape).executemany(cursor, rows)
            elif kind == "tasks":
                sql.tasks.executemany(cursor, step)
            else:
                sql.tasks.executemany(cursor, self._items(cursor, run_id, step))
        if batch.artifacts:
            sql.artifacts.executemany(cursor, batch.artifacts)
        if batch.cache:
            sql.cache.executemany(cursor, batch.cache)
        self._tracked(cursor, batch)
        state = batch.run_state
        if state is not None:
            sql.run_state.execute(
                cursor,
                {
                    "b_run_id": run_id,
                    "b_state": state["state"],
                    "b_reason": state["reason"],
                    "b_ended_at": state["ended_at"],
                },
            )

    def _tracked(self, cursor: Any, batch: Batch) -> None:
        if batch.metrics:
            self._sql.metrics.executemany(cursor, batch.metrics)
            summaries, values = self._summaries(cursor, batch.run_id, batch.metrics)
            self._sql.summaries.executemany(cursor, summaries)
            self._sql.run_values.executemany(cursor, values)
        if batch.values:
            self._sql.values.executemany(cursor, batch.values)

    def _summaries(
        self, cursor: Any, run_id: str, metrics: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The rows of ``metric_summaries`` and ``run_metric_values`` that the (already
        written) ``metrics`` change (:mod:`legato.store.metric_summary`)."""
        sql = self._sql
        series: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
        ranked: dict[str, dict[tuple[int, int, str], dict[str, Any]]] = {}
        for row in metrics:
            series.setdefault((row["key"], row["attempt"], row["name"]), []).append(row)
            ranked.setdefault(row["name"], {})[(row["attempt"], row["step"], row["key"])] = row
        known: dict[tuple[str, int, str], dict[str, Any]] = {}
        names = [c.name for c in SUMMARY_COLUMNS]
        for key in {k for k, _, _ in series}:
            sql.summaries_of.execute(cursor, {"b_run_id": run_id, "b_key": key})
            for found in cursor.fetchall():
                summary = dict(zip(names, found, strict=True))
                known[(key, summary["attempt"], summary["name"])] = summary
        summaries: list[dict[str, Any]] = []
        for (key, attempt, name), rows in series.items():
            old = known.get((key, attempt, name))
            if metric_summary.may_replace(old, (r["step"] for r in rows)):
                binds = {"b_run_id": run_id, "b_key": key, "b_attempt": attempt, "b_name": name}
                sql.series.execute(cursor, binds)
                summary = metric_summary.fold(None, cursor.fetchall())
            else:
                points = ((r["step"], r["value"], r["at"], r["map_index"]) for r in rows)
                summary = metric_summary.fold(old, points)
            summaries.append(
                {**summary, "run_id": run_id, "key": key, "attempt": attempt, "name": name}
            )
        values: list[dict[str, Any]] = []
        for name, candidates in ranked.items():
            sql.run_value_of.execute(cursor, {"b_run_id": run_id, "b_name": name})
            found = cursor.fetchone()
            best = metric_summary.run_value(None if found is None else tuple(found), candidates)
            if best in candidates:
                attempt, step, key = best
                value = candidates[best]["value"]
                values.append(
                    {
                        "run_id": run_id,
                        "name": name,
                        "attempt": attempt,
                        "step": step,
                        "key": key,
                        "value": value,
                    }
                )
        return summaries, values

    def _items(self, cursor: Any, run_id: str, expanded: MapExpanded) -> list[dict[str, Any]]:
        """Mark a mapped task expanded; the rows of its items."""
        sql = self._sql
        sql.task_name.execute(cursor, {"b_run_id": run_id, "b_key": expanded.key})
        found = cursor.fetchone()
        name = found[0] if found is not None else expanded.key
        sql.expand.execute(
            cursor, {"b_run_id": run_id, "b_key": expanded.key, "b_items": expanded.count}
        )
        return [
            {
                "run_id": run_id,
                "key": key,
                "name": name,
                "state": TaskState.READY.value,
                "attempt": 1,
                "map_index": i,
                "parent": expanded.key,
                "mapped": False,
                "reason": "",
                "ord_seq": expanded.seq,
                "ord_idx": i,
            }
            for i, key in enumerate(item_keys(expanded.key, expanded.count, expanded.keys))
        ]

    def _refuse(self, cursor: Any, run_id: str, owner: str, first_seq: int | None) -> None:
        """Raise the reason a fenced write changed nothing."""
        self._sql.owner.execute(cursor, {"b_run_id": run_id})
        row = cursor.fetchone()
        if row is None:
            raise UnknownRunError(unknown_run_message(run_id, self._where))
        current, epoch, last_seq = row
        if current != owner:
            info = RunInfo(run_id=run_id, pipeline="", owner=current, epoch=epoch)
            raise FencedError(fenced_message(run_id, info))
        raise StoreError(
            f"event seq {first_seq} does not continue the log of run {run_id!r} "
            f"(expected {last_seq + 1}); nothing of this batch was written"
        )
