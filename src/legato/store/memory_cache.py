"""The in-memory store's cache: the entries every run shares, and the outputs they point at.

A task's success with a cache key and an output of its own (not a cache hit) becomes an
entry; a lookup answers each key with its newest entry (by the time it was recorded, then by
the order entries were written in). Entries live apart from the runs that made them:
clearing the cache forgets them and keeps the runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from legato.model.artifacts import ArtifactRef
from legato.model.events import TaskTransitioned
from legato.model.runs import CacheHit
from legato.model.states import TaskState

__all__ = ["MemoryCache"]


@dataclass(frozen=True, slots=True)
class _CacheEntry:
    hit: CacheHit
    task_name: str
    order: int


class MemoryCache:
    """Cache entries and the outputs task events recorded; the store's lock guards them."""

    def __init__(self, numbers: Iterator[int]) -> None:
        self._numbers = numbers
        """The store's one sequence: it orders the entries, and numbers its log entries."""
        self._entries: list[_CacheEntry] = []
        self._outputs: dict[str, ArtifactRef] = {}
        """Every output a task event recorded, by checksum (the SQL store's artifacts)."""

    def keep(self, event: TaskTransitioned, name: str) -> None:
        """Keep what task event ``event`` of a task called ``name`` stored: its output, and a
        cache entry for a success that made its own output under a cache key."""
        if event.output is not None:
            self._outputs.setdefault(event.output.checksum, event.output)
        if (
            event.state is TaskState.SUCCEEDED
            and event.output is not None
            and event.cache_key is not None
            and event.cache_hit is None
        ):
            order = next(self._numbers)
            hit = CacheHit(
                key=event.cache_key,
                output=event.output,
                run_id=event.run_id,
                task=event.key,
                created_at=event.at,
            )
            self._entries.append(_CacheEntry(hit=hit, task_name=name, order=order))

    def lookup(self, keys: Sequence[str]) -> dict[str, CacheHit]:
        """The newest entry for each key that has one."""
        wanted = set(keys)
        best: dict[str, _CacheEntry] = {}
        for entry in self._entries:
            key = entry.hit.key
            if key not in wanted:
                continue
            current = best.get(key)
            if current is None or (entry.hit.created_at, entry.order) > (
                current.hit.created_at,
                current.order,
            ):
                best[key] = entry
        return {key: entry.hit for key, entry in best.items()}

    def clear(self, task: str | None) -> int:
        """Forget all entries, or those of one task (its name, or its key in a run); how
        many were forgotten."""
        keep = [
            e for e in self._entries if task is not None and task not in (e.task_name, e.hit.task)
        ]
        dropped = len(self._entries) - len(keep)
        self._entries = keep
        return dropped

    def task_names(self) -> set[str]:
        """The names of the tasks that made the entries."""
        return {e.task_name for e in self._entries}
