"""The task instances of one run and how they wait for each other.

A plan node is one instance (``train``); a mapped node is a *group* instance whose items
(``train[0]``, ``train[1]``..., or ``train[linear]``... for a keyed map) are added when its
list is known. The table counts, for each
instance, the inputs it still waits for and, for each group, the items still open, and says
what a terminal state sets free or blocks. It decides nothing about states: the flow
(:mod:`legato.engine.scheduler.flow`) does, through the ledger.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from legato.engine.caching import BoundArgs
from legato.engine.plan import Plan, PlanNode
from legato.model.records import TaskRecord
from legato.model.states import TaskState
from legato.model.triggers import Trigger

__all__ = ["Closed", "GroupEntry", "TaskEntry", "TaskTable"]

_FAILED = frozenset({TaskState.FAILED, TaskState.TIMED_OUT})
_NO_POSITIONS: frozenset[int] = frozenset()
_NO_NAMES: frozenset[str] = frozenset()
# Shared by every group until its map expands: an empty frozenset is a new 216-byte object
# each time it is made.


class TaskEntry:
    """Scheduler-private bookkeeping of one task instance (a node, or one item of a map).

    A map's group is a :class:`GroupEntry`, which adds what only a group needs: the items of
    a run of a million carry none of it."""

    __slots__ = (
        "bound",
        "cache_key",
        "cache_parts",
        "cache_reason",
        "claim_seq",
        "group",
        "index",
        "key",
        "node",
        "unmet",
        "waiting",
    )

    def __init__(self, key: str, node: PlanNode, index: int | None = None) -> None:
        self.key = key
        self.node = node
        self.index = index
        self.waiting = len(node.upstream) if index is None else 0
        self.unmet: dict[str, TaskState] | None = None
        """Inputs that ended without succeeding, and how (a task with a trigger rule waits
        for them; see :mod:`legato.engine.triggers`); None until one does (most never)."""
        self.group: GroupEntry | None = None
        """For an item of a map: its group."""
        # Set when the cache was consulted (or the task first started):
        self.bound: BoundArgs | None = None
        self.cache_key: str | None = None
        self.cache_parts: Mapping[str, str] | None = None
        self.cache_reason = ""
        self.claim_seq: int | None = None
        """Sequence number of the current attempt's claim, while it waits to start."""


class GroupEntry(TaskEntry):
    """The group instance of a mapped node: its items, and how many are open, failed or
    cancelled."""

    __slots__ = ("cancelled", "children", "failed", "map_names", "map_positions", "remaining")

    def __init__(self, key: str, node: PlanNode) -> None:
        super().__init__(key, node)
        self.children: list[str] = []
        """The keys of the group's items, in item order."""
        self.remaining = 0
        self.failed = 0
        self.cancelled = 0
        self.map_positions = _NO_POSITIONS
        self.map_names = _NO_NAMES


@dataclass(frozen=True, slots=True)
class Closed:
    """What an instance reaching a terminal state sets in motion."""

    ready: tuple[TaskEntry, ...] = ()
    """Dependents whose last input just ended (succeeded, or ended at all for a task with a
    trigger rule: its ``unmet`` says how the others ended)."""
    blocked: tuple[TaskEntry, ...] = ()
    """Dependents with the default trigger that can never run (their input failed, was
    skipped or cancelled)."""
    group: GroupEntry | None = None
    """The group whose last open item this was."""


_NOTHING = Closed()
_SHRINK_FROM = 4096
"""Fewer instances than this are never copied to a smaller dict (not worth it)."""


class TaskTable:
    """Every instance of a run by key, and those not yet terminal (``open``)."""

    __slots__ = ("_sized", "entries", "open")

    def __init__(self, plan: Plan) -> None:
        self.entries: dict[str, TaskEntry] = {
            k: TaskEntry(k, n) if n.mapped is None else GroupEntry(k, n)
            for k, n in plan.nodes.items()
        }
        self.open: dict[str, TaskEntry] = dict(self.entries)
        self._sized = len(self.entries)
        """The most instances the dicts have held since they were last copied."""

    def __getitem__(self, key: str) -> TaskEntry:
        return self.entries[key]

    def roots(self) -> Iterator[TaskEntry]:
        """Planned instances that wait for nothing, in plan order."""
        return (e for e in list(self.entries.values()) if e.waiting == 0 and e.index is None)

    def add_item(
        self,
        group: GroupEntry,
        index: int,
        *,
        open_: bool = True,
        keys: Mapping[str, TaskRecord] | None = None,
    ) -> TaskEntry:
        """Add item ``index`` of ``group`` (open unless it succeeded before a resume).
        ``keys``: the run's records, whose key string the entry then shares (one string per
        item rather than one per table)."""
        key = group.node.item_key(index)
        if keys is not None:
            key = keys[key].key
        item = TaskEntry(key, group.node, index)
        item.group = group
        group.children.append(key)
        self.entries[key] = item
        if open_:
            group.remaining += 1
            self.open[key] = item
        self._sized = max(self._sized, len(self.entries))
        return item

    def _shrink(self) -> None:
        """Copy the dicts once they hold less than a quarter of what they held: a dict
        keeps the table it grew to after its keys are deleted (about 40 bytes a key), and
        the items of a big map leave both as they end. Each copy costs what is left, so
        it adds at most a third to the deletions before it."""
        sized = self._sized
        if sized < _SHRINK_FROM or 4 * len(self.entries) > sized:
            return
        self.entries = dict(self.entries)
        self.open = dict(self.open)
        self._sized = len(self.entries)

    def close(self, entry: TaskEntry, state: TaskState) -> Closed:
        """Record that ``entry`` reached terminal ``state``. An instance that succeeded
        leaves the table: nothing asks for it again in this run (its record and its output
        say all there is, and a map's group lists its items' keys), and a run of a million
        tasks would otherwise keep an entry each (about 150 bytes) to its end. Those that
        did not succeed stay: the run's end names them."""
        key = entry.key
        self.open.pop(key, None)
        entry.bound = None
        group = entry.group
        if group is not None:
            group.remaining -= 1
            if state in _FAILED:
                group.failed += 1
            elif state is TaskState.SUCCEEDED:
                del self.entries[key]
            else:
                group.cancelled += 1
            self._shrink()
            return Closed(group=group) if group.remaining == 0 else _NOTHING
        succeeded = state is TaskState.SUCCEEDED
        downstream = [self.entries[k] for k in entry.node.downstream]
        if succeeded:
            del self.entries[key]
            self._shrink()
        if not downstream:
            return _NOTHING
        ready = []
        blocked = []
        for down in downstream:
            if not succeeded:
                # A task on a branch waits for every input too, so that its branch, not
                # whichever input ended first, says whether it is skipped.
                if down.node.trigger is Trigger.ALL_SUCCEEDED and not down.node.branches:
                    blocked.append(down)
                    continue
                if down.unmet is None:
                    down.unmet = {}
                down.unmet[entry.key] = state
            down.waiting -= 1
            if down.waiting == 0:
                ready.append(down)
        return Closed(ready=tuple(ready), blocked=tuple(blocked))
