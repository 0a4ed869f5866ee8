"""A run's capacity: what the executor offers, the machine's amounts overridden by the
profile's ``capacity`` and then by the run's (``legato run --capacity gpus=1,db=2``).

The machine has no amount of a custom resource (``db``, ``licence``): a task asking for one
is refused before the run exists until the profile or the run gives it one. An executor
object handed to a run keeps the :class:`~legato.Capacity` it was built with, so giving it
a capacity as well is refused rather than ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from legato.errors import DefinitionError, ParameterError
from legato.executors.base import Executor
from legato.model.specs import Capacity

__all__ = ["AMOUNTS", "with_amounts"]

AMOUNTS = ("cpus", "memory", "gpus", "slots")
"""The names of a :class:`~legato.Capacity`'s own fields; any other name is custom."""


def with_amounts(capacity: Capacity, amounts: Mapping[str, float | str]) -> Capacity:
    """``capacity`` with ``amounts`` set by name; raises
    :class:`~legato.errors.ParameterError` for an amount a capacity cannot hold."""
    own = {name: amounts[name] for name in AMOUNTS if name in amounts}
    custom = {**capacity.custom, **{k: v for k, v in amounts.items() if k not in AMOUNTS}}
    try:
        return replace(capacity, **own, custom=custom)  # type: ignore[arg-type]
    except DefinitionError as exc:
        raise ParameterError(f"capacity {dict(amounts)}: {exc.problem} ({exc.fix})") from None


def check_given(executor: object, amounts: Mapping[str, float | str]) -> None:
    """Refuse a capacity beside an executor object, which keeps its own."""
    if amounts and isinstance(executor, Executor):
        raise ParameterError(
            f"capacity {dict(amounts)} was given with an executor object, which keeps the "
            f"Capacity it was built with: build it with capacity=Capacity(...), or name the "
            f"executor (executor={executor.name!r})"
        )
