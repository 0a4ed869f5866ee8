"""How one run uses the cache, as the run records it.

A module of its own, not one of :mod:`legato.model.runs`' records: the events name it, and
a process that only decodes events (the store's append process) starts without the run
records' classes (each frozen dataclass is about 4M instructions to define).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CacheOptions"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheOptions:
    """How one run uses the cache: ``legato.run(cache=..., refresh=...)``. They are part of
    the run (its ``RunStarted`` event records them), so a resume keeps refusing what the run
    refused: a run started with ``cache=False`` does not pick up a cached result when it is
    resumed."""

    lookups: bool = True
    """Whether a ready task may reuse a stored result (``cache=False``: none does; results
    are stored all the same)."""
    refresh: bool | frozenset[str] = False
    """Tasks that run again whatever the cache holds: all (True), none (False), or those
    with these names or keys."""
