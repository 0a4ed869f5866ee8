"""The statements that search runs (``SqlRunStore.find_runs``): one ``SELECT`` per page, the
same on SQLite and PostgreSQL but for how a JSON field is read.

The query (:mod:`legato.model.run_query`) becomes a filtered selection of ``runs`` with the
sort key beside each row (the creation time, or the run's value of a metric: a join of
``run_metric_values``, which the store keeps beside the values), then a keyset condition
on ``(sort key, run id)`` and ``LIMIT page + 1``: one row more than the page says whether
there is a next one without a ``COUNT``. The in-memory store answers the same queries
(:mod:`legato.store.memory_queries`) and the conformance suite holds both to the same pages.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from legato.model.run_query import RunCursor, RunQuery
from legato.model.tracking import TrackKind
from legato.store.sql.connect import postgresql_jsonb
from legato.store.sql.run_tables import runs
from legato.store.sql.tracking_tables import run_metric_values, tracked_values

__all__ = ["find_runs_statement", "next_cursor"]


def find_runs_statement(query: RunQuery, dialect: str, dumps: Any) -> sa.Select[Any]:
    """The statement selecting one page of ``query`` (and one row more), each row the
    run's columns and its ``sort_key``. ``dumps`` encodes JSON as the store writes it."""
    conditions = _conditions(query, dialect, dumps)
    if query.order_by is None:
        selected = sa.select(runs, runs.c.created_at.label("sort_key")).where(*conditions)
    else:
        # A join, not a subquery per run: the database walks the (name, value) index.
        rv = run_metric_values.alias("sorted_by")
        selected = (
            sa.select(runs, rv.c.value.label("sort_key"))
            .select_from(
                runs.join(rv, sa.and_(rv.c.run_id == runs.c.run_id, rv.c.name == query.order_by))
            )
            .where(*conditions)
        )
    page = selected.subquery("page")
    key, run_id = page.c.sort_key, page.c.run_id
    statement = sa.select(page).where(key.is_not(None))
    if query.after is not None:
        after = query.after
        if query.descending:
            statement = statement.where(
                sa.or_(key < after.key, sa.and_(key == after.key, run_id < after.run_id))
            )
        else:
            statement = statement.where(
                sa.or_(key > after.key, sa.and_(key == after.key, run_id > after.run_id))
            )
    order = (key.desc(), run_id.desc()) if query.descending else (key.asc(), run_id.asc())
    return statement.order_by(*order).limit(query.page_size + 1)


def next_cursor(rows: list[sa.Row[Any]], query: RunQuery) -> RunCursor | None:
    """The cursor after the page, when ``rows`` (the statement's answer) hold one more run
    than the page."""
    size = query.page_size
    if len(rows) <= size or size == 0:
        return None
    last = rows[size - 1]
    return RunCursor(key=float(last.sort_key), run_id=last.run_id)


def _conditions(query: RunQuery, dialect: str, dumps: Any) -> list[sa.ColumnElement[bool]]:
    c = runs.c
    found: list[sa.ColumnElement[bool]] = []
    if query.pipeline is not None:
        found.append(c.pipeline == query.pipeline)
    if query.states is not None:
        found.append(c.state.in_(sorted(s.value for s in query.states)))
    if query.silent_since is not None:
        found.append(c.heartbeat_at < query.silent_since)
    if query.beating_since is not None:
        found.append(c.heartbeat_at >= query.beating_since)
    if query.created_from is not None:
        found.append(c.created_at >= query.created_from)
    if query.created_before is not None:
        found.append(c.created_at < query.created_before)
    if query.param is not None:
        name, texts = query.param
        found.append(_param(name, dialect).in_(list(texts)))
    if query.tag is not None:
        name, value = query.tag
        v = tracked_values.c
        found.append(
            sa.exists().where(
                v.run_id == c.run_id,
                v.kind == TrackKind.TAG.value,
                v.name == name,
                v.value == dumps(value),
            )
        )
    if query.metric is not None:
        metric = _metric(query.metric.name)
        found.append(metric.is_not(None))
        if query.metric.low is not None:
            found.append(metric >= query.metric.low)
        if query.metric.high is not None:
            found.append(metric <= query.metric.high)
    return found


def _metric(name: str) -> sa.ScalarSelect[Any]:
    """The run's value of metric ``name`` (``run_metric_values``, which the store keeps as
    :func:`legato.model.run_query.metric_of` says; NULL when none, or NaN)."""
    rv = run_metric_values.alias("m")
    return (
        sa.select(rv.c.value)
        .where(rv.c.run_id == runs.c.run_id, rv.c.name == name)
        .correlate(runs)
        .scalar_subquery()
    )


def _param(name: str, dialect: str) -> sa.ColumnElement[Any]:
    """Run parameter ``name`` as JSON text (NULL when the run has none)."""
    if dialect == "postgresql":
        return sa.cast(sa.cast(runs.c.params, postgresql_jsonb()).op("->")(name), sa.Text)
    return runs.c.params.op("->")(sa.literal(_sqlite_path(name)))


def _sqlite_path(name: str) -> str:
    """A SQLite JSON path naming the key ``name`` (quoted: a name may hold dots)."""
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'$."{escaped}"'
