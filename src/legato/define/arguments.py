"""What the values a pipeline body hands to a task call become in its node.

A call's arguments are placeholders (:mod:`legato.define.placeholders`), lists, tuples and
dicts holding them, the markers of a map (``unmapped``, ``keyed``, ``product``) and plain
values. Here each becomes the binding a node keeps (:func:`to_arg`: a ``Ref``, ``Param``,
``Seq``, ``Dict`` or ``Lit``), a map call's arguments are described to
:func:`~legato.define.mapping.map_spec` (:func:`map_argument`), ``after=`` is read
(:func:`after_targets`), and what has no binding is refused with the call's line: a set of
outputs, a dict keyed by one, an output of another pipeline's trace, a marker outside a map.
This module knows values and placeholders, nothing of nodes, branches or lanes: the tracer
(:mod:`legato.define.tracing`) records those.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from legato.define.mapping import Keyed, MapArgument, Unmapped
from legato.define.ordering import AfterTargets
from legato.define.placeholders import LaneOutput, Output, ParamOutput, contains_placeholder
from legato.define.products import Product
from legato.errors import DefinitionError
from legato.model.ids import SourceLocation
from legato.model.specs import TaskSpec
from legato.model.values import Arg, Dict, Lit, Seq

__all__ = ["after_targets", "call_form", "map_argument", "plain", "refuse_markers", "to_arg"]


def plain(value: Any) -> Any:
    """``value`` without its ``unmapped(...)``/``keyed(...)`` marker."""
    return value.value if isinstance(value, Unmapped | Keyed) else value


def to_arg(
    value: Any, *, owner: object, task: str, pipeline: str, location: SourceLocation | None
) -> Arg:
    """The binding of ``value``, given to ``task`` in the body ``owner`` (a tracer) traces."""
    if isinstance(value, Output):
        if value._tracer is not owner:
            raise DefinitionError(
                f"task {task!r} was given an output from another pipeline's trace",
                fix="call tasks only with outputs produced in the same pipeline body",
                task=task,
                pipeline=pipeline,
                location=location,
            )
        return value._as_arg()
    if isinstance(value, list | tuple) and contains_placeholder(value, depth=64):
        return Seq(
            tuple(
                to_arg(v, owner=owner, task=task, pipeline=pipeline, location=location)
                for v in value
            ),
            as_tuple=isinstance(value, tuple),
        )
    if isinstance(value, dict) and contains_placeholder(value, depth=64):
        if any(isinstance(k, Output) for k in value):
            raise DefinitionError(
                f"task {task!r} was given a dict keyed by a task output or run parameter; "
                "keys must be known when the pipeline is defined",
                fix="use the output as a value, or build the dict inside a task",
                task=task,
                pipeline=pipeline,
                location=location,
            )
        return Dict(
            tuple(
                (k, to_arg(v, owner=owner, task=task, pipeline=pipeline, location=location))
                for k, v in value.items()
            )
        )
    if isinstance(value, set | frozenset) and contains_placeholder(value, depth=64):
        raise DefinitionError(
            f"task {task!r} was given a set holding task outputs; sets have no order",
            fix="pass a list or tuple instead",
            task=task,
            pipeline=pipeline,
            location=location,
        )
    if isinstance(value, range):
        return Lit(list(value))
    return Lit(value)


def map_argument(where: int | str, argument: Any) -> MapArgument:
    """What an argument of a map call is, for :func:`~legato.define.mapping.map_spec`."""
    value = plain(argument)
    marks: dict[str, Any] = {
        "where": where,
        "unmapped": isinstance(argument, Unmapped),
        "keyed": argument if isinstance(argument, Keyed) else None,
    }
    if isinstance(value, ParamOutput):
        return MapArgument(kind="param", text=value._describe(), **marks)
    if isinstance(value, LaneOutput):  # one item's value: its length is its own
        return MapArgument(kind="output", path=value._path, text=value._describe(), **marks)
    if isinstance(value, Output):
        return MapArgument(
            kind="output",
            node=value._node,
            path=value._path,
            text=value._describe(),
            **marks,
        )
    return MapArgument(kind="value", value=value, **marks)


def refuse_markers(
    name: str,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    *,
    pipeline: str,
    location: SourceLocation | None,
) -> None:
    """Refuse ``product(...)`` and ``keyed(...)`` in a call of ``name`` that is no map."""
    if any(isinstance(v, Product) for v in (*args, *kwargs.values())):
        raise DefinitionError(
            f"task {name!r} was called with product(...), which crosses the lists of a map",
            fix=f"call {name}.map(product(...), ...) to run it once per combination",
            task=name,
            pipeline=pipeline,
            location=location,
        )
    if any(isinstance(v, Keyed) for v in (*args, *kwargs.values())):
        raise DefinitionError(
            f"task {name!r} was called with keyed(...), which names the items of a map",
            fix=f"call {name}.map(keyed(values), ...) to run it once per value, or pass "
            "the values without keyed(...)",
            task=name,
            pipeline=pipeline,
            location=location,
        )


def after_targets(
    name: str, given: Any, *, owner: object, pipeline: str, location: SourceLocation | None
) -> AfterTargets:
    """What ``after=`` of a call of ``name`` names: outputs of calls traced by ``owner``,
    or tasks."""
    items = list(given) if isinstance(given, list | tuple) else [given]
    calls: list[str] = []
    tasks: list[str] = []
    for item in items:
        if isinstance(item, Output):
            if isinstance(item, ParamOutput) or item._tracer is not owner:
                break
            calls.append(item._node)
        elif isinstance(getattr(item, "spec", None), TaskSpec):
            tasks.append(item.spec.name)
        else:
            break
    else:
        return AfterTargets(tuple(calls), tuple(tasks), location)
    raise DefinitionError(
        f"after= of task {name!r} holds {_shown(item)}; it takes tasks of this pipeline "
        "or the outputs of their calls",
        fix=f"write {name}(..., after=[written]) with the output of the call to wait for, "
        "or after=[write_table] to wait for every call of that task",
        task=name,
        pipeline=pipeline,
        location=location,
    )


class _AnnotationText(str):
    """An annotation kept as text (``from __future__ import annotations``), shown unquoted."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)


def call_form(name: str, signature: inspect.Signature) -> str:
    """``name(x: int, y: int = 2)``: how to call it, for error messages."""
    params = [
        p.replace(annotation=_AnnotationText(p.annotation)) if isinstance(p.annotation, str) else p
        for p in signature.parameters.values()
    ]
    return (
        f"{name}{signature.replace(parameters=params, return_annotation=inspect.Signature.empty)}"
    )


def _shown(value: Any) -> str:
    if isinstance(value, Output):
        return value._describe()
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
