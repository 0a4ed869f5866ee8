"""Task outputs as the control plane holds them, and input bindings as calls carry them.

An output is a :class:`Value`: a live object (inline and threads executors), pickled bytes
(processes executor; the control plane never unpickles them) or, later, a reference to data
kept elsewhere. Items of a list output are selectable without loading it where the form
allows, so a ``map`` over 10,000 items sends each worker only its item.

An input binding is a small tree: literals and parameters are :class:`Lit`, another task's
output is :class:`Ref` in a definition and :class:`Given` in a call, containers are
:class:`Seq` and :class:`Dict`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from legato.model.artifacts import ArtifactRef
from legato.model.slots import slot_init

__all__ = [
    "Arg",
    "Dict",
    "Gathered",
    "Given",
    "Inline",
    "Lit",
    "Param",
    "Pickled",
    "PickledItems",
    "Ref",
    "Seq",
    "Stored",
    "StoredItems",
    "Value",
    "select",
]


class Value:
    """Base of every output form."""

    __slots__ = ()


@slot_init
@dataclass(frozen=True, slots=True)
class Inline(Value):
    """A live Python object, produced in the orchestrator's own process."""

    obj: Any


@dataclass(frozen=True, slots=True)
class Pickled(Value):
    """A pickle made by a worker process; only workers load it."""

    data: bytes


@dataclass(frozen=True, slots=True)
class PickledItems(Value):
    """A list or tuple pickled item by item, so single items can be handed on unloaded."""

    items: tuple[bytes, ...]
    as_tuple: bool = False


_ABSENT: Any = object()


@slot_init
@dataclass(frozen=True, slots=True)
class Stored(Value):
    """An output kept as an artifact. ``live`` is the object itself while the run is in the
    process that made it (threads, inline), so in-process consumers skip loading it; it is
    never pickled or persisted."""

    ref: ArtifactRef
    live: Any = field(default=_ABSENT, compare=False, repr=False)

    @property
    def has_live(self) -> bool:
        return self.live is not _ABSENT

    def __reduce__(self) -> tuple[Any, ...]:
        return (Stored, (self.ref,))


@slot_init
@dataclass(frozen=True, slots=True)
class StoredItems(Value):
    """A list output stored item by item (a map consumes it), with ``manifest``: the
    artifact that lists the items' references, recorded as the task's output."""

    items: Sequence[ArtifactRef]
    """Held as an :class:`~legato.model.item_refs.ItemRefs` where made by legato."""
    manifest: ArtifactRef
    live: Any = field(default=_ABSENT, compare=False, repr=False)

    @property
    def has_live(self) -> bool:
        return self.live is not _ABSENT

    def __reduce__(self) -> tuple[Any, ...]:
        return (StoredItems, (self.items, self.manifest))


@dataclass(frozen=True, slots=True)
class Gathered(Value):
    """The outputs of a mapped task's items, in order; loads as a list."""

    items: tuple[Value, ...]


def select(value: Value, index: Any) -> Value | None:
    """Item ``index`` of a sequence output, or None when only a worker can take it."""
    if not isinstance(index, int):
        if isinstance(value, Inline) and isinstance(value.obj, dict) and index in value.obj:
            return Inline(value.obj[index])
        return None
    if isinstance(value, Gathered):
        if -len(value.items) <= index < len(value.items):
            return value.items[index]
        return None
    if isinstance(value, StoredItems):
        if -len(value.items) <= index < len(value.items):
            live = value.live[index] if value.has_live else _ABSENT
            return Stored(value.items[index], live)
        return None
    if isinstance(value, PickledItems):
        if -len(value.items) <= index < len(value.items):
            return Pickled(value.items[index])
        return None
    if isinstance(value, Inline):
        obj = value.obj
        if isinstance(obj, list | tuple) and -len(obj) <= index < len(obj):
            return Inline(obj[index])
    return None


# --------------------------------------------------------------------------- bindings


class Arg:
    """Base of input binding nodes."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Lit(Arg):
    """A value written in the pipeline body (or a run parameter once bound)."""

    value: Any


@dataclass(frozen=True, slots=True)
class Param(Arg):
    """A run parameter, bound when a run starts."""

    name: str


@slot_init
@dataclass(frozen=True, slots=True)
class Ref(Arg):
    """Another task's output, optionally indexed (``out[0]``, ``out["k"]``)."""

    node: str
    path: tuple[Any, ...] = ()


@slot_init
@dataclass(frozen=True, slots=True)
class Given(Arg):
    """An output handed to a call: the value plus the index path still to apply."""

    value: Value
    path: tuple[Any, ...] = ()
    source: str = ""
    """Key of the task that produced it, for error messages."""


@dataclass(frozen=True, slots=True)
class Seq(Arg):
    """A list or tuple literal whose items may be bindings."""

    items: tuple[Arg, ...]
    as_tuple: bool = False


@dataclass(frozen=True, slots=True)
class Dict(Arg):
    """A dict literal whose values may be bindings."""

    items: tuple[tuple[Any, Arg], ...]
