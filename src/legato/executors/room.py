"""What the calls running on an executor's workers hold, kept within its capacity.

The engine's resource pool admits calls to an executor within its capacity; an executor that
also takes calls handed over ahead of a free worker (``Executor.queue_ahead``) has more calls
than that, and must start each only when what it asks for is free. :class:`Room` is that
check, on the worker's side: a worker takes a call's amounts before running it (waiting while
they are not free) and gives them back when it ends, or when the call is written off.
Calls take room in the order their workers asked: a call waiting for two CPUs is not passed
by a stream of one-CPU calls, as the engine's pool reserves for it too.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Mapping

from legato.model.specs import Capacity, Resources

__all__ = ["Room"]

_EPS = 1e-9


class Room:
    """The amounts of ``capacity`` not held by running calls, by call (its run and call id:
    an executor serves run after run, and a stuck call written off in one may end in the
    next)."""

    def __init__(self, capacity: Capacity) -> None:
        self._free = capacity.amounts()
        self._held: dict[tuple[str, int], Mapping[str, float]] = {}
        self._amounts: dict[Resources, Mapping[str, float]] = {}
        self._cond = threading.Condition(threading.Lock())
        self._tickets = itertools.count()
        self._waiting: deque[int] = deque()
        """The tickets of the calls waiting for room, in the order they asked."""

    def take(self, call: tuple[str, int], resources: Resources) -> None:
        """Hold what ``call`` asks for, once it is free (a call never asks for more than the
        capacity: the plan refuses such a task)."""
        amounts = self._amounts.get(resources)
        if amounts is None:
            amounts = self._amounts[resources] = resources.amounts()
        with self._cond:
            free, waiting = self._free, self._waiting
            if waiting or not _fits(free, amounts):
                ticket = next(self._tickets)
                waiting.append(ticket)
                while waiting[0] != ticket or not _fits(free, amounts):
                    self._cond.wait()
                waiting.popleft()
                self._cond.notify_all()  # the next in line may fit too
            for name, n in amounts.items():
                free[name] = free.get(name, 0.0) - n
            self._held[call] = amounts

    def give(self, call: tuple[str, int]) -> None:
        """Give back what ``call`` holds (nothing if it holds nothing any more)."""
        with self._cond:
            amounts = self._held.pop(call, None)
            if amounts is None:
                return
            free = self._free
            for name, n in amounts.items():
                free[name] = free.get(name, 0.0) + n
            self._cond.notify_all()


def _fits(free: Mapping[str, float], amounts: Mapping[str, float]) -> bool:
    return all(free.get(name, 0.0) + _EPS >= n for name, n in amounts.items())
