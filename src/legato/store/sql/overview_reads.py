"""What a run of a million tasks is summed up from, in SQL: what ``legato runs show`` and the
API's run detail read instead of its million rows. ``step_counts`` is one grouped scan of
the run's rows (no record decoded); ``task_page`` a filtered scan and a count; ``run_output``
the output description of the run's ``RunStarted`` taken out of its payload by the database,
the plan beside it (a million tasks of it) never decoded."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa

from legato.model.codec import EVENT_KINDS
from legato.model.events import RunStarted
from legato.model.states import TaskState
from legato.store.base import ItemPage, StepCount
from legato.store.sql.item_reads import page_of
from legato.store.sql.run_tables import events, task_runs

__all__ = ["run_output", "step_counts", "task_page"]

_T = task_runs.c
_ORDER = sa.cast(_T.ord_seq, sa.BigInteger) * (2**32) + _T.ord_idx
"""A row's place in the order the run's tasks appeared, as one number (an event's index
within it is far below 2**32): the smallest of a name's rows is its first task."""


def step_counts(run_id: str, c: sa.Connection) -> list[StepCount]:
    """Tasks per name per state (group records of mapped tasks apart), names in the order
    their first tasks appeared."""
    query = (
        sa.select(_T.name, _T.mapped, _T.state, sa.func.count(), sa.func.min(_ORDER))
        .where(_T.run_id == run_id)
        .group_by(_T.name, _T.mapped, _T.state)
    )
    found: dict[str, StepCount] = {}
    first: dict[str, int] = {}
    for name, mapped, state, n, order in c.execute(query):
        step = found.get(name)
        if step is None:
            step = found[name] = StepCount(name=name, states={}, maps={})
        (step.maps if mapped else step.states)[state] = n
        first[name] = min(order, first.get(name, order))
    return sorted(found.values(), key=lambda s: first[s.name])


def task_page(
    run_id: str,
    c: sa.Connection,
    *,
    states: Collection[TaskState] | None = None,
    offset: int = 0,
    limit: int = 100,
    groups: bool = False,
) -> ItemPage:
    """The run's tasks and map items (and the group records of mapped tasks, with
    ``groups``) in one of ``states`` (when given), in the order they appeared: how many,
    and ``limit`` of them from the ``offset``-th."""
    where = [_T.run_id == run_id]
    if not groups:
        where.append(_T.mapped == sa.false())
    if states is not None:
        where.append(_T.state.in_(sorted(s.value for s in states)))
    # What is sorted is a key and two numbers a row, not whole rows joined with artifacts.
    return page_of(run_id, where, (_T.ord_seq, _T.ord_idx), c, offset=offset, limit=limit)


def run_output(run_id: str, c: sa.Connection) -> dict[str, Any] | None:
    """The ``output`` of the run's ``RunStarted`` payload (None: not recorded), extracted by
    SQLite's ``json_extract`` or PostgreSQL's ``json_extract_path_text``."""
    e = events.c
    if c.dialect.name == "postgresql":
        output = sa.func.json_extract_path_text(sa.cast(e.payload, sa.JSON), "output")
    else:
        output = sa.func.json_extract(e.payload, "$.output")
    query = (
        sa.select(output)
        .where(e.run_id == run_id, e.type == EVENT_KINDS[RunStarted])
        .order_by(e.seq)
        .limit(1)
    )
    found = c.execute(query).scalar()
    if found is None or found == "null":
        return None
    value = json.loads(found)
    return value if isinstance(value, dict) else None
