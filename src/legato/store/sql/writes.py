"""What an append writes, statement by statement, on a DB-API cursor inside a transaction.

Without SQLAlchemy: the statements come compiled (:class:`Statements`, whose members are
:class:`~legato.store.sql.prepared.Prepared`), so the same code writes in the orchestrator
(:mod:`legato.store.sql.append`, which owns the transaction) and in the append process
(:mod:`legato.store.sql.offload_child`), which must start without importing SQLAlchemy.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, cast

from legato.errors import FencedError, StoreError, UnknownRunError
from legato.model.events import MapExpanded, RunStarted
from legato.model.items import each_item_key
from legato.model.states import TaskState
from legato.store import metric_summary
from legato.store.refusals import fenced_message, unknown_run_message
from legato.store.sql.batch import Batch, ChangeShape
from legato.store.sql.prepared import Prepared

__all__ = ["STATEMENTS", "BatchWriter", "Statements"]

STATEMENTS = (
    "fence",
    "touch",
    "owner",
    "events",
    "tasks",
    "task_name",
    "expand",
    "artifacts",
    "cache",
    "metrics",
    "values",
    "summaries_of",
    "series",
    "summaries",
    "run_value_of",
    "run_values",
    "run_state",
)
"""The statements of :class:`Statements` by name (besides the projection's changes): what
the append process is sent."""

ITEM_ROWS_AT_ONCE = 4096
"""A map's item rows are made and inserted this many at a time: an expansion of a million
items then holds a few thousand row dicts at once, not a million (about 600 bytes each,
whose pages the allocator keeps for the rest of the run)."""


class Statements(Protocol):
    """The compiled statements an append runs (see
    :class:`~legato.store.sql.statements.AppendStatements`)."""

    fence: Prepared
    touch: Prepared
    owner: Prepared
    events: Prepared
    tasks: Prepared
    task_name: Prepared
    expand: Prepared
    artifacts: Prepared
    cache: Prepared
    metrics: Prepared
    values: Prepared
    summaries_of: Prepared
    series: Prepared
    summaries: Prepared
    run_value_of: Prepared
    run_values: Prepared
    run_state: Prepared

    def change(self, shape: ChangeShape) -> Prepared:
        """The conditional upsert of projection changes of ``shape``."""
        ...


class BatchWriter:
    """Writes batches with ``sql`` on cursors of one database (``postgres``: PostgreSQL,
    else SQLite); ``where`` names the store in errors."""

    def __init__(
        self, sql: Statements, *, postgres: bool, where: str, summary_names: Sequence[str]
    ) -> None:
        self.sql = sql
        self.postgres = postgres
        self.where = where
        self.summary_names = list(summary_names)
        """The columns :attr:`Statements.summaries_of` reads, in order."""

    def tracked_only(self, cursor: Any, batch: Batch, owner: str) -> None:
        """Write the tracked values of a batch without events, fenced by ``owner``."""
        self.sql.touch.execute(cursor, {"b_run_id": batch.run_id, "b_owner": owner})
        if cursor.rowcount != 1:
            self.refuse(cursor, batch.run_id, owner, None)
        self.tracked(cursor, batch)

    def check_owner(self, cursor: Any, run_id: str, owner: str) -> None:
        self.sql.owner.execute(cursor, {"b_run_id": run_id})
        row = cursor.fetchone()
        if row is None or row[0] != owner:
            self.refuse(cursor, run_id, owner, None)

    def write(self, cursor: Any, batch: Batch, owner: str) -> None:
        """Write ``batch``, fenced by ``owner`` (raises, writing nothing, when the run is not
        ``owner``'s or the batch does not continue its log)."""
        sql = self.sql
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
            self.refuse(cursor, run_id, owner, batch.first_seq)
        with self._pipeline(cursor):
            self._rows(cursor, batch)

    def _pipeline(self, cursor: Any) -> contextlib.AbstractContextManager[Any]:
        """On PostgreSQL, send the statements after the fence without waiting for each
        one's answer: one round trip to the server instead of one per statement."""
        if self.postgres:
            return cast(contextlib.AbstractContextManager[Any], cursor.connection.pipeline())
        return contextlib.nullcontext()

    def _rows(self, cursor: Any, batch: Batch) -> None:
        sql = self.sql
        run_id = batch.run_id
        sql.events.executemany(cursor, batch.events)
        for kind, step in batch.steps:
            if kind == "changes":
                for by_shape in step:
                    for shape, rows in by_shape.items():
                        sql.change(shape).executemany(cursor, rows)
            elif kind == "tasks":
                for rows in _planned(run_id, step):
                    sql.tasks.executemany(cursor, rows)
            else:
                for rows in self._items(cursor, run_id, step):
                    sql.tasks.executemany(cursor, rows)
        if batch.artifacts:
            sql.artifacts.executemany(cursor, batch.artifacts)
        if batch.cache:
            sql.cache.executemany(cursor, batch.cache)
        self.tracked(cursor, batch)
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

    def tracked(self, cursor: Any, batch: Batch) -> None:
        if batch.metrics:
            self.sql.metrics.executemany(cursor, batch.metrics)
            summaries, values = self._summaries(cursor, batch.run_id, batch.metrics)
            self.sql.summaries.executemany(cursor, summaries)
            self.sql.run_values.executemany(cursor, values)
        if batch.values:
            self.sql.values.executemany(cursor, batch.values)

    def _summaries(
        self, cursor: Any, run_id: str, metrics: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The rows of ``metric_summaries`` and ``run_metric_values`` that the (already
        written) ``metrics`` change (:mod:`legato.store.metric_summary`)."""
        sql = self.sql
        series: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
        ranked: dict[str, dict[tuple[int, int, str], dict[str, Any]]] = {}
        for row in metrics:
            series.setdefault((row["key"], row["attempt"], row["name"]), []).append(row)
            ranked.setdefault(row["name"], {})[(row["attempt"], row["step"], row["key"])] = row
        known: dict[tuple[str, int, str], dict[str, Any]] = {}
        names = self.summary_names
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

    def _items(
        self, cursor: Any, run_id: str, expanded: MapExpanded
    ) -> Iterator[list[dict[str, Any]]]:
        """Mark a mapped task expanded; the rows of its items, a slice at a time
        (:data:`ITEM_ROWS_AT_ONCE`)."""
        sql = self.sql
        sql.task_name.execute(cursor, {"b_run_id": run_id, "b_key": expanded.key})
        found = cursor.fetchone()
        name = found[0] if found is not None else expanded.key
        sql.expand.execute(
            cursor, {"b_run_id": run_id, "b_key": expanded.key, "b_items": expanded.count}
        )
        keys = each_item_key(expanded.key, expanded.count, expanded.keys)
        return _new_rows(
            run_id,
            expanded.seq,
            TaskState.READY,
            ((key, name, i, expanded.key, False) for i, key in enumerate(keys)),
        )

    def refuse(self, cursor: Any, run_id: str, owner: str, first_seq: int | None) -> None:
        """Raise the reason a fenced write changed nothing."""
        self.sql.owner.execute(cursor, {"b_run_id": run_id})
        row = cursor.fetchone()
        if row is None:
            raise UnknownRunError(unknown_run_message(run_id, self.where))
        current, epoch, last_seq = row
        if current != owner:
            raise FencedError(fenced_message(run_id, current, epoch))
        raise StoreError(
            f"event seq {first_seq} does not continue the log of run {run_id!r} "
            f"(expected {last_seq + 1}); nothing of this batch was written"
        )


def _planned(run_id: str, started: RunStarted) -> Iterator[list[dict[str, Any]]]:
    """The rows of a plan's tasks (``pending``, in plan order), a slice at a time."""
    tasks = ((t.key, t.name, None, None, t.mapped) for t in started.tasks)
    return _new_rows(run_id, started.seq, TaskState.PENDING, tasks)


def _new_rows(
    run_id: str,
    seq: int,
    state: TaskState,
    tasks: Iterator[tuple[str, str, int | None, str | None, bool]],
) -> Iterator[list[dict[str, Any]]]:
    """The rows an event (number ``seq``) adds for ``tasks`` (key, name, map index, parent,
    whether mapped), in their order, :data:`ITEM_ROWS_AT_ONCE` at a time: a plan or a map
    of a million is never a million row dicts at once."""
    numbered, value = enumerate(tasks), state.value
    while chunk := list(itertools.islice(numbered, ITEM_ROWS_AT_ONCE)):
        yield [
            {
                "run_id": run_id,
                "key": key,
                "name": name,
                "state": value,
                "attempt": 1,
                "map_index": index,
                "parent": parent,
                "mapped": mapped,
                "reason": "",
                "ord_seq": seq,
                "ord_idx": i,
            }
            for i, (key, name, index, parent, mapped) in chunk
        ]
