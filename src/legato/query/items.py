"""A page of a mapped task's items, each as a live view holds it (:class:`LiveTask`): the
run page's list of a map's items scrolled a page at a time, which at 100,000 items used to
replay the run's whole event stream to learn every item's state.
"""

from __future__ import annotations

from dataclasses import dataclass

from legato.errors import ParameterError
from legato.query.live import LiveTask, live_task
from legato.query.tasks import task_state
from legato.store.base import RunStore

__all__ = ["MAX_ITEMS", "ItemList", "item_list"]

MAX_ITEMS = 1000
"""The most items one page holds."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemList:
    """Items ``offset`` to ``offset + len(items)`` of a mapped task, by map index, of the
    ``total`` its filter matches."""

    run_id: str
    task: str
    state: str | None
    total: int
    offset: int
    items: tuple[LiveTask, ...]


def item_list(
    store: RunStore,
    run_id: str,
    task: str,
    *,
    state: str | None = None,
    offset: int = 0,
    limit: int = 100,
) -> ItemList:
    """Items of the mapped task ``task`` of run ``run_id`` (an id or a unique prefix), in
    ``state`` when given, ``limit`` (1 to :data:`MAX_ITEMS`) from the ``offset``-th.
    Raises ``ParameterError`` for a task that is not a mapped task of the run's plan or a
    state that is not a task state."""
    if not 1 <= limit <= MAX_ITEMS or offset < 0:
        raise ParameterError(f"a page is 1 to {MAX_ITEMS} items from offset 0 or more")
    wanted = task_state(state)
    info = store.get_run(run_id)
    planned = store.planned_tasks(info.run_id)
    if not any(r.key == task and r.mapped for r in planned):
        maps = ", ".join(r.key for r in planned if r.mapped) or "none"
        raise ParameterError(f"run {info.run_id} has no mapped task {task!r}; its maps: {maps}")
    page = store.map_items(info.run_id, task, state=wanted, offset=offset, limit=limit)
    return ItemList(
        run_id=info.run_id,
        task=task,
        state=state,
        total=page.total,
        offset=offset,
        items=tuple(live_task(r) for r in page.items),
    )
