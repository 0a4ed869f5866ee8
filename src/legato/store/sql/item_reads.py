"""A page of a mapped task's items, in SQL: what the run page's list of a 100,000-item map
shows as it is scrolled, each page a count and a query of at most ``limit`` rows, both on
``ix_task_runs_items`` (migration 0007: the run's items of one map by map index), not a
sort of every task of the run."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from legato.model.states import TaskState
from legato.store.base import ItemPage
from legato.store.sql.reads import task_record
from legato.store.sql.run_tables import artifacts, task_runs

__all__ = ["map_items", "page_of"]

_T = task_runs.c


def map_items(
    run_id: str,
    parent: str,
    c: sa.Connection,
    *,
    state: TaskState | None = None,
    offset: int = 0,
    limit: int = 100,
) -> ItemPage:
    """The items of mapped task ``parent`` of run ``run_id`` (in ``state``, when given), by
    map index: how many, and ``limit`` of them from the ``offset``-th."""
    where = [_T.run_id == run_id, _T.parent == parent, _T.mapped == sa.false()]
    if state is not None:
        where.append(_T.state == state.value)
    return page_of(run_id, where, (_T.map_index, _T.key), c, offset=offset, limit=limit)


def page_of(
    run_id: str,
    where: list[sa.ColumnElement[bool]],
    order: tuple[sa.ColumnElement[Any], ...],
    c: sa.Connection,
    *,
    offset: int,
    limit: int,
) -> ItemPage:
    """The run's task rows that match ``where`` in ``order``: how many, and ``limit`` of them
    from the ``offset``-th. The page's keys are chosen first (from an index that holds the
    key, where one serves ``where`` and ``order``: an offset of 50,000 then skips index
    entries, not 50,000 rows read and joined), then only those rows are read with their
    artifacts."""
    total = c.execute(sa.select(sa.func.count()).select_from(task_runs).where(*where)).scalar()
    keys = sa.select(_T.key).where(*where).order_by(*order).offset(offset).limit(limit)
    query = (
        sa.select(task_runs, artifacts.c.inline)
        .select_from(task_runs.outerjoin(artifacts, artifacts.c.checksum == _T.output_checksum))
        .where(_T.run_id == run_id, _T.key.in_(keys.scalar_subquery()))
        .order_by(*order)
    )
    return ItemPage(total=total or 0, items=[task_record(row) for row in c.execute(query)])
