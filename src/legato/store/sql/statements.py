"""The statements an append runs, built with SQLAlchemy Core and compiled once per dialect.

An append runs them on the DBAPI connection itself: the SQL is SQLAlchemy's, for SQLite and
PostgreSQL alike, but the overhead of ``Connection.execute`` — tens of microseconds a call,
more than the database's own work for a one-task turn — is not paid on the hot path. Rows are
dicts; a :class:`Prepared` statement binds them positionally with one ``itemgetter`` (binding
by name costs the sqlite3 module a string allocation per value).

Statements that write many rows differ in one respect between the two databases: where the
rows come from. On SQLite it is ``VALUES (?, ...)`` run with ``executemany``, one step of one
prepared statement per row, as fast as SQLite goes. On PostgreSQL it is
``SELECT ... FROM unnest(%s::TEXT[], ...)``: one statement whose parameters are one array per
column, because psycopg's ``executemany`` spends some twenty microseconds of Python per row.
Callers never put one key twice in such a statement (PostgreSQL refuses to upsert a row twice
in one statement).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from legato.model.fold import FINAL_FOR_ATTEMPT
from legato.model.states import TaskState
from legato.store.sql.batch import ERROR_CLEARED, ERROR_KEPT, ChangeShape
from legato.store.sql.connect import db_now, dialect_insert, postgresql_array
from legato.store.sql.prepared import Prepared
from legato.store.sql.run_tables import artifacts, cache_entries, events, runs, task_runs
from legato.store.sql.tracking_tables import (
    metric_summaries,
    run_metric_values,
    tracked_metrics,
    tracked_values,
)

__all__ = ["SUMMARY_COLUMNS", "AppendStatements", "Prepared"]

SUMMARY_COLUMNS = tuple(c for c in metric_summaries.columns if c.name not in ("run_id", "key"))
"""The columns of a series summary that :attr:`AppendStatements.summaries_of` reads."""


def _bind(table: sa.Table, name: str) -> sa.BindParameter[Any]:
    return sa.bindparam(name, type_=table.c[name].type)


def _binds(table: sa.Table, names: Sequence[str]) -> dict[str, Any]:
    return {name: _bind(table, name) for name in names}


def _prepared(compiled: sa.Compiled, arrays: sa.Compiled | None = None) -> Prepared:
    """A compiled statement (and its one-array-per-column form) as plain data."""
    return Prepared(
        compiled.string,
        _names(compiled),
        arrays.string if arrays is not None else None,
        _names(arrays) if arrays is not None else (),
    )


def _names(compiled: sa.Compiled) -> list[str]:
    return list(getattr(compiled, "positiontup", None) or ())


class AppendStatements:
    """Each statement of an append, compiled for one dialect with positional parameters."""

    def __init__(self, dialect: sa.Dialect) -> None:
        self._postgres = dialect.name == "postgresql"
        dialect_class: Any = type(dialect)
        self._dialect: sa.Dialect = dialect_class(
            paramstyle="format" if self._postgres else "qmark"
        )
        self._insert = dialect_insert(dialect.name)
        self._changes: dict[ChangeShape, Prepared] = {}
        self._lookups: dict[int, str] = {}
        self._lock = threading.Lock()
        t = task_runs.c
        run_id = sa.bindparam("b_run_id", type_=sa.Text)
        now = db_now(dialect.name)

        self.fence = self._one(
            sa.update(runs)
            .where(
                runs.c.run_id == run_id,
                runs.c.owner == sa.bindparam("b_owner", type_=sa.Text),
                runs.c.last_seq == sa.bindparam("b_prev", type_=sa.Integer),
            )
            .values(heartbeat_at=now, last_seq=sa.bindparam("b_last", type_=sa.Integer))
        )
        """Heartbeat (the database's clock: it renews the owner's lease) and ``last_seq``
        moved on if the caller owns the run and continues its log (one row changed);
        otherwise nothing changes."""
        self.touch = self._one(
            sa.update(runs)
            .where(runs.c.run_id == run_id, runs.c.owner == sa.bindparam("b_owner", type_=sa.Text))
            .values(heartbeat_at=now)
        )
        """The heartbeat, if the caller owns the run (one row changed; on PostgreSQL the row
        stays locked to the end of the transaction, so no take-over slips in)."""
        self.owner = self._one(
            sa.select(runs.c.owner, runs.c.epoch, runs.c.last_seq).where(runs.c.run_id == run_id)
        )
        """Owner, epoch and last seq of a run (to say why a fenced write changed nothing)."""
        event_values = _binds(events, [c.name for c in events.columns])
        self.events = self._many(lambda arrays: self._rows(events, event_values, arrays))
        task_values = _binds(
            task_runs,
            [
                "run_id",
                "key",
                "name",
                "state",
                "attempt",
                "map_index",
                "parent",
                "mapped",
                "reason",
                "ord_seq",
                "ord_idx",
            ],
        )
        self.tasks = self._many(
            lambda arrays: self._rows(task_runs, task_values, arrays).on_conflict_do_nothing(
                index_elements=["run_id", "key"]
            )
        )
        """New projection rows (planned tasks, map items); existing ones are left alone."""
        where_task = (t.run_id == run_id, t.key == sa.bindparam("b_key", type_=sa.Text))
        self.task_name = self._one(sa.select(t.name).where(*where_task))
        self.expand = self._one(
            sa.update(task_runs)
            .where(*where_task)
            .values(mapped=sa.true(), items=sa.bindparam("b_items", type_=sa.Integer))
        )
        artifact_values = _binds(artifacts, [c.name for c in artifacts.columns])
        self.artifacts = self._many(
            lambda arrays: self._rows(artifacts, artifact_values, arrays).on_conflict_do_nothing(
                index_elements=["checksum"]
            )
        )
        self.cache = self._many(self._cache_entries)
        self.metrics = self._many(lambda arrays: self._tracked(tracked_metrics, arrays))
        self.values = self._many(lambda arrays: self._tracked(tracked_values, arrays))
        ms, rv, tm = metric_summaries.c, run_metric_values.c, tracked_metrics.c
        key = sa.bindparam("b_key", type_=sa.Text)
        name = sa.bindparam("b_name", type_=sa.Text)
        self.summaries_of = self._one(
            sa.select(*SUMMARY_COLUMNS).where(ms.run_id == run_id, ms.key == key)
        )
        """The series summaries of one task key of a run (:data:`SUMMARY_COLUMNS`)."""
        self.series = self._one(
            sa.select(tm.step, tm.value, tm.at, tm.map_index).where(
                tm.run_id == run_id,
                tm.key == key,
                tm.attempt == sa.bindparam("b_attempt", type_=sa.Integer),
                tm.name == name,
            )
        )
        """A series' points, to recompute its summary when a step was logged again."""
        self.summaries = self._many(lambda arrays: self._tracked(metric_summaries, arrays))
        self.run_value_of = self._one(
            sa.select(rv.attempt, rv.step, rv.key).where(rv.run_id == run_id, rv.name == name)
        )
        """Where a run's value of a metric comes from: ``(attempt, step, task key)``."""
        self.run_values = self._many(lambda arrays: self._tracked(run_metric_values, arrays))
        self.run_state = self._one(
            sa.update(runs)
            .where(runs.c.run_id == run_id)
            .values(
                state=sa.bindparam("b_state", type_=sa.Text),
                reason=sa.func.coalesce(sa.bindparam("b_reason", type_=sa.Text), runs.c.reason),
                ended_at=sa.bindparam("b_ended_at", type_=sa.Float),
            )
        )

    def _one(self, statement: sa.ClauseElement) -> Prepared:
        return _prepared(statement.compile(dialect=self._dialect))

    def _many(self, build: Callable[[bool], sa.ClauseElement]) -> Prepared:
        """A many-rows statement; ``build(arrays)`` makes it with rows from ``VALUES`` or,
        on PostgreSQL, from one array per column."""
        rows = build(False).compile(dialect=self._dialect)
        arrays = build(True).compile(dialect=self._dialect) if self._postgres else None
        return _prepared(rows, arrays)

    def _source(self, table: sa.Table, names: Sequence[str]) -> Any:
        """The rows' values on PostgreSQL: a derived table over one array per column."""
        arrays = [sa.bindparam(n, type_=postgresql_array(table.c[n].type)) for n in names]
        return sa.func.unnest(*arrays).table_valued(*names).render_derived(name="u")

    def _rows(self, table: sa.Table, values: dict[str, Any], arrays: bool) -> Any:
        """``INSERT INTO table`` of rows given as ``values`` (bound parameters or constant
        expressions, by column)."""
        if not arrays:
            return self._insert(table).values(values)
        bound = [n for n, v in values.items() if isinstance(v, sa.BindParameter)]
        source = self._source(table, bound)
        columns = [source.c[n] if n in bound else v for n, v in values.items()]
        return self._insert(table).from_select(list(values), sa.select(*columns))

    def _tracked(self, table: sa.Table, arrays: bool) -> Any:
        """Upsert tracked values: logging again under the same key replaces the value."""
        names = [c.name for c in table.columns]
        upsert = self._rows(table, _binds(table, names), arrays)
        keys = [c.name for c in table.primary_key.columns]
        return upsert.on_conflict_do_update(
            index_elements=keys,
            set_={n: upsert.excluded[n] for n in names if n not in keys},
        )

    def _cache_entries(self, arrays: bool) -> Any:
        # The entry carries the task's name (for clear_cache(task=...)), read from the
        # projection row this same append has just written.
        names = ["key", "checksum", "output", "run_id", "task_key", "created_at"]
        t = task_runs.c
        if arrays:
            source = self._source(cache_entries, names)
            values = [source.c[n] for n in names]
            run_id, task_key = source.c.run_id, source.c.task_key
        else:
            binds = _binds(cache_entries, names)
            values = list(binds.values())
            run_id, task_key = binds["run_id"], binds["task_key"]
        select = sa.select(*values, t.name).where(t.run_id == run_id, t.key == task_key)
        return sa.insert(cache_entries).from_select([*names, "task_name"], select)

    def cache_lookup(self, count: int) -> str:
        """The query of the cache entries of ``count`` keys (positional parameters), newest
        first within each key, with the inline bytes of their artifacts."""
        sql = self._lookups.get(count)
        if sql is None:
            marks = ", ".join(["%s" if self._postgres else "?"] * count)
            sql = (
                "SELECT c.key, c.output, c.run_id, c.task_key, c.created_at, a.inline "
                "FROM cache_entries AS c JOIN artifacts AS a ON a.checksum = c.checksum "
                f"WHERE c.key IN ({marks}) "
                "ORDER BY c.key, c.created_at DESC, c.id DESC"
            )
            self._lookups[count] = sql
        return sql

    def change(self, shape: ChangeShape) -> Prepared:
        """The conditional upsert of projection changes of this shape (compiled on first
        use; see :mod:`legato.store.sql.batch`)."""
        prepared = self._changes.get(shape)
        if prepared is None:
            with self._lock:
                prepared = self._many(lambda arrays: self._change(shape, arrays))
                self._changes[shape] = prepared
        return prepared

    def _change(self, shape: ChangeShape, arrays: bool) -> sa.ClauseElement:
        started, ended, first, error, output, cache_key, cache_hit, cache_parts = shape
        t = task_runs.c
        null = sa.null()

        def value(name: str, present: bool) -> Any:
            return _bind(task_runs, name) if present else null

        upsert = self._rows(
            task_runs,
            arrays=arrays,
            values={
                **_binds(task_runs, ["run_id", "key", "name", "state", "attempt", "reason"]),
                "ord_seq": _bind(task_runs, "ord_seq"),
                "ord_idx": sa.literal_column("0"),
                "mapped": sa.false(),
                "started_at": value("started_at", started),
                "ended_at": value("ended_at", ended),
                "ran_for": value("ran_for", ended),
                "first_started_at": value("first_started_at", first),
                "error_type": value("error_type", error > ERROR_CLEARED),
                "error_message": value("error_message", error > ERROR_CLEARED),
                "error_traceback": value("error_traceback", error > ERROR_CLEARED),
                "error_detail": value("error_detail", error > ERROR_CLEARED),
                "output": value("output", output),
                "output_checksum": value("output_checksum", output),
                "cache_key": value("cache_key", cache_key),
                "cache_hit": value("cache_hit", cache_hit),
                "cache_parts": value("cache_parts", cache_parts),
            },
        )
        new = upsert.excluded
        changed = ["state", "attempt", "reason", "output", "output_checksum", "cache_hit"]
        if started:
            changed.append("started_at")
        if ended:
            changed += ["ended_at", "ran_for"]
        if error != ERROR_KEPT:
            changed += ["error_type", "error_message", "error_traceback", "error_detail"]
        if cache_key:
            changed.append("cache_key")
        if cache_parts:
            changed.append("cache_parts")
        set_: dict[str, Any] = {name: new[name] for name in changed}
        if first:
            set_["first_started_at"] = sa.func.coalesce(t.first_started_at, new.first_started_at)
        return upsert.on_conflict_do_update(  # type: ignore[no-any-return]
            index_elements=["run_id", "key"],
            set_=set_,
            # legato.model.fold.admits, in SQL: an older attempt is stale; a terminal row is
            # final for its attempt (a resume's newer attempt replaces it).
            where=sa.or_(
                t.attempt < new.attempt,
                sa.and_(t.attempt == new.attempt, t.state.not_in(_texts(FINAL_FOR_ATTEMPT))),
            ),
        )


def _texts(states: frozenset[TaskState]) -> list[sa.ColumnElement[Any]]:
    """States as SQL constants (not bound: the statement is compiled once per shape)."""
    return [sa.literal_column(f"'{s.value}'") for s in sorted(states)]
