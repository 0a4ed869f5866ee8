"""What a task needs and what an executor offers: :class:`Resources` and :class:`Capacity`,
with the amounts and memory sizes they share."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from legato.model.locations import invalid as _invalid

__all__ = ["Capacity", "Resources", "parse_memory"]


class _Amounts(Mapping[str, float]):
    """A read-only ``name -> amount`` mapping, so frozen specs stay frozen all the way down
    (a plain dict field could be changed in place under a shared, "frozen" task)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, float]) -> None:
        self._data = dict(data)

    def __getitem__(self, key: str) -> float:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(frozenset(self._data.items()))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self._data == dict(other.items())
        return NotImplemented

    def __repr__(self) -> str:
        return repr(self._data)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_Amounts, (self._data,))


def _amounts(custom: Any, fix: str) -> _Amounts:
    if not isinstance(custom, Mapping):
        raise _invalid(
            f"custom resources must be a mapping of names to amounts, not {custom!r}", fix
        )
    for key, amount in custom.items():
        if (
            not isinstance(key, str)
            or isinstance(amount, bool)
            or not isinstance(amount, int | float)
            or amount < 0
            or not math.isfinite(amount)
        ):
            raise _invalid(
                f"custom resources map names to amounts >= 0; got {key!r}: {amount!r}", fix
            )
    return custom if isinstance(custom, _Amounts) else _Amounts(custom)


_MEMORY_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "ki": 1024,
    "kib": 1024,
    "mi": 1024**2,
    "mib": 1024**2,
    "gi": 1024**3,
    "gib": 1024**3,
    "ti": 1024**4,
    "tib": 1024**4,
}
_MEMORY_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_memory(value: int | float | str) -> int:
    """Bytes from ``2048``, ``"512MiB"``, ``"4GB"`` or ``"1.5 GiB"``."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _invalid(
            f"memory must be a number of bytes or a size like '4GiB', not {value!r}",
            fix="pass resources=Resources(memory='4GiB')",
        )
    if isinstance(value, int | float):
        if value < 0 or not math.isfinite(value):
            raise _invalid(
                f"memory must be a non-negative size, not {value!r}",
                fix="pass a size such as Resources(memory='4GiB') or a number of bytes",
            )
        return int(value)
    match = _MEMORY_RE.match(value)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _MEMORY_UNITS:
        raise _invalid(
            f"cannot read memory size {value!r}",
            fix="write a number with an optional unit: '512MiB', '4GiB', '2GB' or 1073741824",
        )
    return int(float(match.group(1)) * _MEMORY_UNITS[unit])


@dataclass(frozen=True, slots=True, kw_only=True)
class Resources:
    """What one attempt of a task needs while it runs.

    The local executors never start tasks whose requests together exceed the machine's
    capacity; a task asking for more than the executor can ever offer is rejected before the
    run starts.
    """

    cpus: float = 1.0
    """CPU cores (fractions allowed: 0.5 lets two such tasks share a core)."""
    memory: int = 0
    """Bytes of memory; give a size such as ``"4GiB"`` and it is converted."""
    gpus: float = 0
    """Whole GPUs, or a fraction of one (``0.5``: two such tasks share a GPU) on an executor
    that shares GPUs between tasks (``ray``)."""
    custom: Mapping[str, float] = field(default_factory=dict)
    """Named amounts of anything else the executor's capacity declares (licences, DB slots)."""
    limit: bool = False
    """Hold the task to ``memory`` as a limit, not only a request: with the processes
    executor an allocation past it fails inside the task as a ``MemoryError`` the attempt
    reports (the worker lives on). Threads and inline share one process and cannot limit
    one task: there it stays a request."""

    def __post_init__(self) -> None:
        fix = "e.g. Resources(cpus=2, memory='4GiB', gpus=1, custom={'db': 1})"
        _check_amounts(self, fix)
        if not isinstance(self.limit, bool):
            raise _invalid(f"limit must be True or False, not {self.limit!r}", fix)
        if self.limit and not self.memory:
            raise _invalid(
                "Resources(limit=True) limits memory, but no memory was given",
                fix="pass the limit as memory: Resources(memory='2GiB', limit=True)",
            )

    def amounts(self) -> dict[str, float]:
        """Every non-zero amount by name: ``cpus``, ``memory``, ``gpus`` and custom names."""
        out: dict[str, float] = {}
        if self.cpus:
            out["cpus"] = float(self.cpus)
        if self.memory:
            out["memory"] = float(self.memory)
        if self.gpus:
            out["gpus"] = float(self.gpus)
        for key, amount in self.custom.items():
            if amount:
                out[key] = float(amount)
        return out


def _check_amounts(spec: Resources | Capacity, fix: str) -> None:
    """The validation :class:`Resources` and :class:`Capacity` share."""
    if isinstance(spec.cpus, bool) or not isinstance(spec.cpus, int | float):
        raise _invalid(f"cpus must be a number, not {spec.cpus!r}", fix)
    if spec.cpus < 0 or not math.isfinite(spec.cpus):
        raise _invalid(f"cpus must be >= 0, not {spec.cpus!r}", fix)
    object.__setattr__(spec, "memory", parse_memory(spec.memory))
    if isinstance(spec, Resources) and _is_fraction(spec.gpus):
        pass  # a share of one GPU (checked against the executor when the run is planned)
    elif isinstance(spec.gpus, bool) or not isinstance(spec.gpus, int) or spec.gpus < 0:
        what = "a whole number >= 0, or a fraction of one between 0 and 1"
        raise _invalid(
            f"gpus must be {what if isinstance(spec, Resources) else 'a whole number >= 0'}, "
            f"not {spec.gpus!r}",
            fix,
        )
    object.__setattr__(spec, "custom", _amounts(spec.custom, fix))


def _is_fraction(value: object) -> bool:
    return isinstance(value, float) and 0 < value < 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Capacity:
    """What an executor can run at once. Defaults are read from the machine by the
    executors; every field can be set by hand."""

    cpus: float
    """CPU cores tasks may use together."""
    memory: int
    """Bytes of memory tasks may use together; a size such as ``"16GiB"`` is converted."""
    gpus: int = 0
    """GPUs, handed out by index."""
    custom: Mapping[str, float] = field(default_factory=dict)
    """Amounts of user-named resources (``Resources.custom``)."""
    slots: int = 1
    """Attempts that may run at once (worker threads or processes)."""

    def __post_init__(self) -> None:
        fix = "e.g. Capacity(cpus=8, memory='16GiB', gpus=1, custom={'db': 2}, slots=8)"
        _check_amounts(self, fix)
        if isinstance(self.slots, bool) or not isinstance(self.slots, int) or self.slots < 1:
            raise _invalid(f"slots must be a whole number >= 1, not {self.slots!r}", fix)

    def amounts(self) -> dict[str, float]:
        """Every amount by name, as :meth:`Resources.amounts` names them."""
        out = {"cpus": float(self.cpus), "memory": float(self.memory), "gpus": float(self.gpus)}
        out.update({k: float(v) for k, v in self.custom.items()})
        return out
