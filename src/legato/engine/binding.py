"""Outputs known so far, and how calls bind them: inputs of a task, items of a map.

Pure bookkeeping over values the scheduler already holds: no I/O, nothing unpickled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from legato.engine.plan import PlanNode
from legato.model.artifacts import ArtifactRef
from legato.model.values import (
    Arg,
    Dict,
    Gathered,
    Given,
    Lit,
    Param,
    Ref,
    Seq,
    Stored,
    Value,
    select,
)

__all__ = ["Inputs", "MapError"]


class MapError(Exception):
    """A map cannot expand: nothing to map over, or lists of different lengths."""


class Inputs:
    """The outputs of finished tasks (by key) and the facts maps need about them."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.params = params
        self.outputs: dict[str, Value] = {}
        self.failures: dict[str, Any] = {}
        """For inputs that did not succeed, the FailedInput a task with a trigger rule is
        handed in their place (bound as a literal, whatever the index path)."""
        self.lengths: dict[str, tuple[int | None, tuple[int | None, ...] | None]] = {}
        self.released: set[str] = set()
        """Keys whose output every task that reads it has used (:meth:`release`)."""
        self.recorded: Callable[[str], ArtifactRef | None] = lambda key: None
        """The output on record for a key: what a released output is read back from."""

    def keep(
        self,
        key: str,
        value: Value,
        length: int | None = None,
        item_lengths: tuple[int | None, ...] | None = None,
    ) -> None:
        """Record the output of ``key``."""
        self.outputs[key] = value
        if length is not None or item_lengths is not None:
            # Most outputs are not lists: nothing to keep (a million items, a million tuples).
            self.lengths[key] = (length, item_lengths)
        else:
            self.lengths.pop(key, None)

    def drop(self, key: str) -> None:
        """Forget the output of ``key``."""
        self.outputs.pop(key, None)
        self.lengths.pop(key, None)
        self.released.discard(key)

    def release(self, key: str) -> None:
        """Stop holding the output of ``key``, which every task that reads it has used:
        a large run would otherwise hold every output it made (and, on threads, every
        object) to its end. Only a plain stored output is released, as its record holds
        its reference; should a task read it again (one that runs again because its own
        output was found damaged), :meth:`value` reads that reference back."""
        if type(self.outputs.get(key)) is Stored:
            del self.outputs[key]
            self.released.add(key)

    def value(self, key: str) -> Value | None:
        """The output of ``key``, if it has one (released ones included)."""
        value = self.outputs.get(key)
        if value is None and key in self.released:
            ref = self.recorded(key)
            if ref is not None:
                return Stored(ref)
        return value

    # ------------------------------------------------------------------ maps

    def map_length(self, node: PlanNode) -> tuple[int, frozenset[int], frozenset[str]]:
        """How many items a map has, and which of its arguments are mapped over (those
        whose value is a list); raises :class:`MapError`."""
        assert node.mapped is not None
        if node.mapped.length is not None:
            return (
                node.mapped.length,
                frozenset(node.mapped.positions),
                frozenset(node.mapped.names),
            )
        lengths: dict[int, list[str]] = {}
        kwargs = dict(node.kwargs)
        positions, names = set(), set()
        for i in node.mapped.positions:
            length = self._length_of(node.args[i])
            if length is not None:
                positions.add(i)
                lengths.setdefault(length, []).append(f"argument {i + 1}")
        for name in node.mapped.names:
            length = self._length_of(kwargs[name])
            if length is not None:
                names.add(name)
                lengths.setdefault(length, []).append(f"{name}=")
        if not lengths:
            raise MapError(
                f"{node.key}.map(...) has nothing to map over: none of its arguments is a list "
                "at run time (tuples and other values go whole to every item); return a list "
                "from the task that produces the items"
            )
        if len(lengths) > 1:
            shown = ", ".join(f"{' and '.join(a)}: {n}" for n, a in sorted(lengths.items()))
            raise MapError(
                f"{node.key}.map(...) got lists of different lengths ({shown}); items are "
                "paired by position, so the lists must be equally long (wrap an argument in "
                "unmapped(...) to give it whole to every item)"
            )
        return next(iter(lengths)), frozenset(positions), frozenset(names)

    def _length_of(self, arg: Arg) -> int | None:
        """The length of a mapped candidate when its value is a list, else None."""
        if isinstance(arg, Lit):
            value = arg.value
        elif isinstance(arg, Seq):
            return None if arg.as_tuple else len(arg.items)
        elif isinstance(arg, Param):
            value = self.params[arg.name]
        elif isinstance(arg, Ref):
            length, items = self.lengths.get(arg.node, (None, None))
            if not arg.path:
                return length
            return self._length_at_path(arg, items)
        else:
            return None
        return len(value) if isinstance(value, list | range) else None

    def _length_at_path(self, ref: Ref, items: tuple[int | None, ...] | None) -> int | None:
        value = self.value(ref.node)
        for step in ref.path:
            value = select(value, step) if value is not None else None
        if value is not None:
            if isinstance(value, Gathered):
                return len(value.items)
            obj = getattr(value, "obj", getattr(value, "live", None))
            if isinstance(obj, list):
                return len(obj)
        if items is not None and len(ref.path) == 1 and isinstance(ref.path[0], int):
            index = ref.path[0]
            if -len(items) <= index < len(items):
                return items[index]
        return None

    # ------------------------------------------------------------------ binding

    def bind(self, arg: Arg) -> Arg:
        """``arg`` with references to outputs and parameters replaced by their values."""
        if isinstance(arg, Lit):
            return arg
        if isinstance(arg, Ref):
            value = self.value(arg.node)
            if value is None:
                return Lit(self.failures[arg.node])
            path = arg.path
            while path:
                item = select(value, path[0])
                if item is None:
                    break
                value, path = item, path[1:]
            return Given(value, path, arg.node)
        if isinstance(arg, Param):
            return Lit(self.params[arg.name])
        if isinstance(arg, Seq):
            return Seq(tuple(self.bind(a) for a in arg.items), arg.as_tuple)
        if isinstance(arg, Dict):
            return Dict(tuple((k, self.bind(a)) for k, a in arg.items))
        raise TypeError(f"cannot bind {arg!r}")

    def bind_call(self, node: PlanNode) -> tuple[tuple[Arg, ...], tuple[tuple[str, Arg], ...]]:
        """The bound arguments of a plain (unmapped) task."""
        return (
            tuple(self.bind(a) for a in node.args),
            tuple((k, self.bind(a)) for k, a in node.kwargs),
        )

    def bind_item(
        self, node: PlanNode, positions: frozenset[int], names: frozenset[str], index: int
    ) -> tuple[tuple[Arg, ...], tuple[tuple[str, Arg], ...]]:
        """The bound arguments of item ``index`` of a map."""
        args = tuple(
            self._item(a, index) if i in positions else self.bind(a)
            for i, a in enumerate(node.args)
        )
        kwargs = tuple(
            (k, self._item(a, index) if k in names else self.bind(a)) for k, a in node.kwargs
        )
        return args, kwargs

    def _item(self, arg: Arg, index: int) -> Arg:
        if isinstance(arg, Lit):
            return Lit(arg.value[index])
        if isinstance(arg, Seq):
            return self.bind(arg.items[index])
        if isinstance(arg, Param):
            return Lit(self.params[arg.name][index])
        bound = self.bind(arg)
        if isinstance(bound, Lit):  # a FailedInput: every item is handed it whole
            return bound
        assert isinstance(bound, Given)
        if not bound.path:
            item = select(bound.value, index)
            if item is not None:
                return Given(item, (), bound.source)
        return Given(bound.value, (*bound.path, index), bound.source)
