"""Resource accounting for the scheduler: what is in use, what a task needs, who waits.

Pure bookkeeping, no I/O. Every attempt also takes one *slot* (a worker thread or process).
"""

from __future__ import annotations

from collections.abc import Mapping

from legato.model.specs import Capacity

__all__ = ["ResourcePool", "exceeds"]

_EPS = 1e-9


def exceeds(amounts: Mapping[str, float], capacity: Capacity) -> tuple[str, float, float] | None:
    """The first amount a single attempt asks for that ``capacity`` can never offer, as
    ``(name, asked, offered)``; None when it fits an idle executor."""
    offered = capacity.amounts()
    for name, amount in amounts.items():
        have = offered.get(name, 0.0)
        if amount > have + _EPS:
            return name, amount, have
    return None


class ResourcePool:
    """Capacity minus what running attempts hold.

    :class:`Admission` takes a batch of requests in priority order and says which may start
    now. A request that does not fit blocks later ones from using what it is short of, and
    from taking the rest of what it will need, so a large task is never starved by a stream
    of small ones. Only the first request waiting for a resource reserves: those behind it
    cannot be next, so they hold nothing back from requests that need none of it.
    """

    def __init__(self, capacity: Capacity) -> None:
        self.capacity = capacity
        self.total = {**capacity.amounts(), "slots": float(capacity.slots)}
        self.free = dict(self.total)
        self._free_gpus = list(range(capacity.gpus))

    def fits(self, amounts: Mapping[str, float]) -> bool:
        """Whether ``amounts`` (plus a slot) fit in what is free now."""
        free = self.free
        if free["slots"] < 1 - _EPS:
            return False
        return all(free.get(name, 0.0) + _EPS >= amount for name, amount in amounts.items())

    def acquire(self, amounts: Mapping[str, float]) -> tuple[int, ...]:
        """Take ``amounts`` and a slot; returns the GPU indices handed out."""
        free = self.free
        free["slots"] -= 1
        for name, amount in amounts.items():
            free[name] = free.get(name, 0.0) - amount
        gpus = int(amounts.get("gpus", 0))
        if gpus:
            taken = tuple(self._free_gpus[:gpus])
            del self._free_gpus[:gpus]
            return taken
        return ()

    def release(self, amounts: Mapping[str, float], gpu_ids: tuple[int, ...] = ()) -> None:
        """Give back what :meth:`acquire` took."""
        free = self.free
        free["slots"] += 1
        for name, amount in amounts.items():
            free[name] = free.get(name, 0.0) + amount
        if gpu_ids:
            self._free_gpus.extend(gpu_ids)
            self._free_gpus.sort()

    @property
    def idle(self) -> bool:
        """Whether nothing is held."""
        return self.free["slots"] >= self.total["slots"] - _EPS


class Admission:
    """One pass over waiting requests in priority order (see :class:`ResourcePool`)."""

    __slots__ = ("_pool", "_refused", "_reserved", "_short")

    def __init__(self, pool: ResourcePool) -> None:
        self._pool = pool
        self._short: set[str] = set()
        self._reserved: dict[str, float] = {}
        self._refused: set[int] = set()
        """The amounts (by identity: a map's items share their node's) refused in this
        pass."""

    def admit(self, amounts: Mapping[str, float]) -> bool:
        """Whether a request may start now; if not, it reserves what it needs."""
        if id(amounts) in self._refused:
            return False
        pool = self._pool
        if "slots" in self._short or not self._fits_around_blocked(amounts):
            self._refuse(amounts)
            return False
        if not pool.fits(amounts):
            self._refuse(amounts)
            return False
        return True

    def _refuse(self, amounts: Mapping[str, float]) -> None:
        self._block(amounts)
        # A refused request leaves one of its amounts short (or no slot free), and what is
        # short stays short for the rest of the pass (nothing is given back in it): the
        # same amounts asked again are refused without reserving anything, so they need
        # no second look, and a pass over a map of a thousand waiting items stays cheap.
        self._refused.add(id(amounts))

    @property
    def exhausted(self) -> bool:
        """Whether no later request can start in this pass (no slot is free)."""
        return self._pool.free["slots"] < 1 - _EPS or "slots" in self._short

    def _fits_around_blocked(self, amounts: Mapping[str, float]) -> bool:
        if not self._short and not self._reserved:
            return True
        free = self._pool.free
        for name, amount in amounts.items():
            if name in self._short and amount > 0:
                return False
            if amount + self._reserved.get(name, 0.0) > free.get(name, 0.0) + _EPS:
                return False
        return True

    def _block(self, amounts: Mapping[str, float]) -> None:
        free = self._pool.free
        if free["slots"] < 1 - _EPS:
            self._short.add("slots")
        if any(name in self._short and amount > 0 for name, amount in amounts.items()):
            # It waits behind an earlier request for the same thing, so it cannot be next:
            # holding back the rest of what it needs would only idle it (three queued GPU
            # tasks would keep every CPU from CPU-only tasks while one GPU task runs).
            return
        for name, amount in amounts.items():
            if amount > free.get(name, 0.0) - self._reserved.get(name, 0.0) + _EPS:
                self._short.add(name)
            else:
                self._reserved[name] = self._reserved.get(name, 0.0) + amount
