"""The driver's timers: a heap of due times, on the run's monotonic clock.

Two kinds: the scheduler's (a retry's wait is over, a call ran past its timeout), which
mean the run can still progress while nothing runs, and the pulse (``None``) that streams
captured output and beats the heart of a durable run.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator

from legato.engine.scheduler import Timer

__all__ = ["Timers"]


class Timers:
    """Timers in due order; ties keep the order they were set in."""

    __slots__ = ("_heap", "_live", "_seq")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Timer | None]] = []
        self._seq = itertools.count()
        self._live = 0

    @property
    def live(self) -> int:
        """How many scheduler timers are set (the pulse does not count)."""
        return self._live

    def add(self, due: float, timer: Timer | None) -> None:
        """Set ``timer`` (``None``: the pulse) for monotonic time ``due``."""
        if timer is not None:
            self._live += 1
        heapq.heappush(self._heap, (due, next(self._seq), timer))

    def timeout(self, now: float) -> float | None:
        """Seconds until the next timer is due (None: no timer is set)."""
        if not self._heap:
            return None
        return max(0.0, self._heap[0][0] - now)

    def due(self, now: float) -> Iterator[Timer | None]:
        """The timers due at ``now``, removed as they are taken."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            timer = heapq.heappop(heap)[2]
            if timer is not None:
                self._live -= 1
            yield timer
