"""How a call of ``task.map(...)`` maps: what it goes over, how many items it has when that is
known, and where their keys come from; and the markers a map's arguments take,
:func:`unmapped` and :func:`keyed`.

The markers are values around an argument rather than keywords of ``map()``: every keyword
of ``map()`` goes to the task, so a keyword of legato's own would shadow a task parameter of
the same name (``fetch.map(key=paths)``).

The tracer describes each argument as a :class:`MapArgument` (a literal value, a run
parameter or a task's output), so this module needs nothing of its placeholders.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from legato.define.graph import ItemKeys, MapSpec, Node
from legato.define.itemkeys import Inherited, make_item_keys
from legato.errors import DefinitionError
from legato.model.items import ItemKeyError
from legato.model.specs import user_location

__all__ = ["Keyed", "MapArgument", "MapSpecError", "Unmapped", "keyed", "map_spec", "unmapped"]


class Unmapped:
    """Marks an argument of ``task.map(...)`` that every item receives whole."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"unmapped({self.value!r})"


def unmapped(value: Any) -> Unmapped:
    """Pass ``value`` whole to every item of ``task.map(...)`` instead of mapping over it."""
    if isinstance(value, Keyed):
        raise DefinitionError(
            f"unmapped() was given {value!r}: a list that names the items is mapped over",
            fix="pass keyed(values) as it is, and unmapped(...) around another argument",
            location=user_location(),
        )
    return Unmapped(value)


class Keyed:
    """Marks an argument of ``task.map(...)`` whose items name the map's items."""

    __slots__ = ("by", "value")

    def __init__(self, value: Any, by: Callable[[Any], Any] | None) -> None:
        self.value = value
        self.by = by

    def __repr__(self) -> str:
        return f"keyed({self.value!r})" if self.by is None else f"keyed({self.value!r}, by=...)"


def keyed(values: Any, by: Callable[[Any], Any] | None = None) -> Keyed:
    """Map over ``values`` and name each item of the map by its value: the items of
    ``train.map(keyed(["linear", "forest"]), data)`` are ``train[linear]`` and
    ``train[forest]`` (not ``train[0]``, ``train[1]``) in records, logs, the CLI and run
    comparisons, and a resumed run or a reordered list finds each one by its key.

    ``values`` is a literal list, a list run parameter, or the whole output of another keyed
    map (whose item keys the items take). An item that is a ``str``, ``int`` or ``float`` is
    its own key; ``by`` makes a key of any other item (``by=lambda c: c["name"]``). Keys are
    unique within the map, at most 64 characters, without ``[``, ``]``, ``/`` or control
    characters; several keyed arguments give keys joined by ``,``.
    """
    if isinstance(values, Unmapped | Keyed):
        raise DefinitionError(
            f"keyed() was given {values!r}; it wraps the list the map goes over",
            fix="write keyed(values), and unmapped(...) around another argument",
            location=user_location(),
        )
    if by is not None and not callable(by):
        raise DefinitionError(
            f"by= of keyed() must be a function of one item, not {by!r}",
            fix="pass by=lambda item: item['name'] (or leave it out for str and int items)",
            location=user_location(),
        )
    return Keyed(values, by)


class MapSpecError(Exception):
    """A map call that cannot work; the tracer adds the task, pipeline and line."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.fix = fix


@dataclass(frozen=True, slots=True, kw_only=True)
class MapArgument:
    """One argument of a ``task.map(...)`` call, as the map needs to know it."""

    where: int | str
    """Its position, or its keyword."""
    kind: Literal["value", "param", "output"]
    """A value written in the body, a run parameter or a task's output."""
    value: Any = None
    """The value, for a value written in the body."""
    node: str | None = None
    """The task whose output it is."""
    path: tuple[Any, ...] = ()
    """The index path into that output (``out[0]``)."""
    text: str = ""
    """What a placeholder stands for, for messages: ``the output of task 'load'``."""
    unmapped: bool = False
    keyed: Keyed | None = None

    @property
    def named(self) -> str:
        """``argument 2`` or ``model=``."""
        return f"argument {self.where + 1}" if isinstance(self.where, int) else f"{self.where}="


def map_spec(task: str, arguments: Sequence[MapArgument], nodes: Mapping[str, Node]) -> MapSpec:
    """The map spec of a call of ``task.map`` with ``arguments``, given the nodes recorded
    before it; raises :class:`MapSpecError`."""
    # Lists (and ranges) are mapped over; run parameters and other tasks' outputs are mapped
    # over when their value turns out to be a list. Tuples, dicts, strings and anything in
    # unmapped(...) go whole to every item: a tuple is a record, and mapping over a 4-tuple
    # (X_train, X_test, y_train, y_test) by accident must not be possible.
    positions: list[int] = []
    names: list[str] = []
    lengths: set[int] = set()
    placeholders = False
    for arg in arguments:
        if arg.keyed is not None and arg.kind == "value" and not _is_list(arg.value):
            raise _not_keyable(task, arg)
        if arg.unmapped or not _is_mapped(arg, nodes, lengths):
            continue
        if isinstance(arg.where, int):
            positions.append(arg.where)
        else:
            names.append(arg.where)
        placeholders |= arg.kind != "value"
    if not positions and not names:
        raise MapSpecError(
            f"{task}.map(...) was given nothing to map over (only lists are mapped over; "
            "tuples and other values go whole to every item)",
            "pass at least one list, or another task's output that is a list; wrap arguments "
            "every item should receive whole in unmapped(...)",
        )
    if len(lengths) > 1:
        raise MapSpecError(
            f"{task}.map(...) was given lists of different lengths {sorted(lengths)}",
            "map over lists of equal length (items are paired by position), or wrap an "
            "argument in unmapped(...) to give it whole to every item",
        )
    size = next(iter(lengths), None)
    keyed = [arg for arg in arguments if arg.keyed is not None]
    return MapSpec(
        positions=tuple(positions),
        names=tuple(names),
        length=size if not placeholders else None,
        size=size,
        keys=_item_keys(task, keyed, nodes) if keyed else None,
    )


def _is_list(value: Any) -> bool:
    return isinstance(value, list | range)


def _is_mapped(arg: MapArgument, nodes: Mapping[str, Node], lengths: set[int]) -> bool:
    """Whether ``arg`` may be mapped over; a length it is known to have goes in ``lengths``."""
    if arg.kind == "value":
        if _is_list(arg.value):
            lengths.add(len(arg.value))
            return True
        return False
    # The whole output of a map of known size is a list of that length: check it against the
    # other lists now rather than fail at run time.
    upstream = nodes.get(arg.node) if arg.kind == "output" and arg.node is not None else None
    if (
        upstream is not None
        and not arg.path
        and upstream.mapped is not None
        and upstream.mapped.size is not None
    ):
        lengths.add(upstream.mapped.size)
    return True


def _item_keys(task: str, keyed: Sequence[MapArgument], nodes: Mapping[str, Node]) -> ItemKeys:
    """Where the map's item keys come from; the keys themselves when every keyed argument
    is known now (else the plan makes them from the run's parameters)."""
    spec = ItemKeys(
        args=tuple(arg.where for arg in keyed),
        by=tuple(arg.keyed.by if arg.keyed is not None else None for arg in keyed),
    )
    sources: list[list[Any] | Inherited] = []
    for arg in keyed:
        if arg.kind == "value":
            sources.append(list(arg.value))
            continue
        if arg.kind == "param":
            return spec
        upstream = nodes.get(arg.node) if arg.node is not None else None
        if upstream is None:
            return spec  # not of this trace: the tracer refuses the argument itself
        if arg.path or upstream.mapped is None or upstream.mapped.keys is None:
            raise _not_keyable(task, arg)
        known = upstream.mapped.keys.known
        if known is None:
            return spec  # a keyed map over a run parameter: the plan makes both
        sources.append(Inherited(known))
    try:
        return replace(spec, known=make_item_keys(task, spec, sources))
    except ItemKeyError as exc:
        raise MapSpecError(str(exc), exc.fix) from exc.__cause__


def _not_keyable(task: str, arg: MapArgument) -> MapSpecError:
    what = arg.text or f"a {type(arg.value).__name__}"
    return MapSpecError(
        f"{arg.named} of {task}.map(...) is keyed(...) around {what}; item keys are made "
        "before the items run, from a literal list, a list run parameter or the whole output "
        "of another keyed map",
        "key the map by a list known before the run (keyed(names) beside the output, paired "
        "by position), or leave keyed(...) out: its items are numbered",
    )
