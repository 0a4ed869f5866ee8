"""How many tasks a pipeline or a run has: one definition for every place that says so.

The count is of *planned tasks, each map counted as its items*: a plain task is one task, a
map over four models is four (its group is bookkeeping, not work). So ``legato graph``, the
line a run starts with, the summary it ends with, ``RunResult`` and the README all say
``17 tasks (8 map items)`` of the same pipeline. A map whose lists are known only at run time
has no count yet: it is said apart (``5 tasks + 1 map sized at run time``), never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from legato.model.records import RunRecord

__all__ = ["TaskCount"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskCount:
    """A count of tasks; ``str()`` is how legato says it everywhere."""

    tasks: int
    """Plain tasks plus the items of maps whose size is known."""
    items: int = 0
    """How many of ``tasks`` are map items."""
    maps: int = 0
    """Maps whose size is known (their items are counted)."""
    unsized: int = 0
    """Maps whose size is not known (yet): not in ``tasks``."""

    @classmethod
    def of(cls, planned: Iterable[tuple[bool, int | None]]) -> TaskCount:
        """The count of planned tasks given as ``(mapped, items)``: ``items`` is a map's
        size, None while it is not known (and for a plain task)."""
        tasks = items = maps = unsized = 0
        for mapped, size in planned:
            if not mapped:
                tasks += 1
            elif size is None:
                unsized += 1
            else:
                maps += 1
                items += size
                tasks += size
        return cls(tasks=tasks, items=items, maps=maps, unsized=unsized)

    @classmethod
    def of_run(cls, record: RunRecord) -> TaskCount:
        """The count of a run: a map counts as the items it expanded to, or, before it
        expanded, as many as the plan said when the run started (when it knew)."""
        return cls.of(
            (
                task.mapped,
                task.items if task.items is not None else record.sizes.get(task.key),
            )
            for task in record.tasks.values()
            if task.parent is None
        )

    def expanded(self, planned: int | None, count: int) -> TaskCount:
        """This count once a map it counted as ``planned`` items (None: not known) expanded
        to ``count`` items."""
        if planned is None:
            return TaskCount(
                tasks=self.tasks + count,
                items=self.items + count,
                maps=self.maps + 1,
                unsized=max(0, self.unsized - 1),
            )
        return TaskCount(
            tasks=self.tasks - planned + count,
            items=self.items - planned + count,
            maps=self.maps,
            unsized=self.unsized,
        )

    def __str__(self) -> str:
        text = f"{self.tasks} task{_s(self.tasks)}"
        if self.maps:
            text += f" ({self.items} map item{_s(self.items)})"
        if self.unsized:
            text += f" + {self.unsized} map{_s(self.unsized)} sized at run time"
        return text


def _s(n: int) -> str:
    return "" if n == 1 else "s"
