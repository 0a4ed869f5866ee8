# ruff: noqa: RUF002 - the multiplication sign of map labels is on purpose
"""Mapped sub-pipelines: ``per_customer.map(customers)`` runs a ``@pipeline``'s whole chain
once per item, each item's chain on its own: an item's next step starts as soon as *that
item's* previous step has succeeded, not when every item of it has.

The body is traced once, as for a plain sub-pipeline call, with a placeholder for one item
of each list it maps over (:class:`~legato.define.placeholders.LaneOutput`). Every task call that
reads such a placeholder, directly or through another such call, is a step of the *lane*
(:class:`~legato.define.lanespec.Lane`), drawn as a map (``per_customer.train[×3]``);
a call that reads none runs once, as in any pipeline. The plan unrolls the lane into one
task per step and item (``per_customer.train[acme]``), wired item by item
(:mod:`legato.engine.lanes`), which is what lets each chain go at its own pace, and makes
caching, resume and crash recovery per item with no new machinery: a resumed run reruns
only the items' steps that did not succeed.

A ``task.map(...)`` in the body over an item's value is a map per item: unrolled, each
item's map (``per_file.score[a]``) expands as soon as that item's input is ready, with items
``per_file.score[a][0]``...

A ``legato.when`` in the body whose condition reads the item is decided per item: the
deciding task is a step, and so is every call inside its branch (even one that reads no
item), so the plan unrolls each item's branch like the rest of its chain and an item that
takes the other branch skips this one alone. The lane's result must then be a join
(``legato.one_of``), not a value only one branch makes.

The lists are known before the run (literal lists or list run parameters): the plan must
know the items to wire each chain. A task's output is mapped over step by step with
``task.map(...)`` instead (each step then waits for the whole previous map).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from legato.define.graph import ItemKeys
from legato.define.itemkeys import make_item_keys
from legato.define.lanespec import Lane
from legato.define.mapping import Keyed, Unmapped
from legato.define.placeholders import LaneOutput, Output, ParamOutput
from legato.define.tracing import Tracer
from legato.errors import DefinitionError
from legato.model.ids import SourceLocation
from legato.model.items import ItemKeyError
from legato.model.specs import user_location
from legato.model.values import Arg, Lit, Param

__all__ = ["map_eagerly", "trace_lane"]


def trace_lane(
    tracer: Tracer,
    name: str,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
) -> Output:
    """Trace ``name.map(*args, **kwargs)`` into ``tracer``: the lane's nodes; the
    placeholder of its result (the list of each item's output)."""
    location = user_location()
    bound = _bind(tracer, name, fn, args, kwargs, location=location)
    sources: list[tuple[str, Arg]] = []
    keyed: list[tuple[str, Keyed]] = []
    lengths: set[int] = set()
    whole: dict[str, Any] = {}
    for param, given in bound.items():
        value = given.value if isinstance(given, Unmapped | Keyed) else given
        if isinstance(given, Unmapped) or not _maps_over(tracer, name, value, location):
            whole[param] = value
            continue
        if isinstance(value, ParamOutput):
            sources.append((param, Param(value._node)))
        else:
            lengths.add(len(value))
            sources.append((param, Lit(list(value))))
        if isinstance(given, Keyed):
            keyed.append((param, given))
    if not sources:
        raise _error(
            tracer,
            name,
            f"{name}.map(...) was given nothing to map over",
            "pass a list (or a list run parameter) for a parameter of the sub-pipeline; "
            "wrap what every item receives whole in unmapped(...)",
            location,
        )
    if len(lengths) > 1:
        raise _error(
            tracer,
            name,
            f"{name}.map(...) was given lists of different lengths {sorted(lengths)}",
            "map over lists of equal length (items are paired by position), or wrap an "
            "argument in unmapped(...) to give it whole to every item",
            location,
        )
    size = next(iter(lengths), None) if all(isinstance(a, Lit) for _, a in sources) else None
    _refuse_per_item_branch(tracer, name, location)
    outer = tracer.blocks.branches
    key = tracer.enter(name)
    try:
        lane = Lane(
            key=key,
            pipeline=name,
            sources=tuple(sources),
            keyed=tuple(p for p, _ in keyed),
            by=tuple(k.by for _, k in keyed),
            size=size,
            keys=_known_keys(tracer, name, sources, keyed, location),
            location=location,
        )
        tracer.lanes[key] = lane
        items = {
            param: LaneOutput(tracer, key, name, lane=key, source=param, location=location)
            for param, _ in sources
        }
        returned = tracer.body(fn, {**whole, **items})
    finally:
        tracer.leave()
    if not (
        isinstance(returned, LaneOutput)
        and returned._lane == key
        and returned._source is None
        and not returned._path
    ):
        raise _error(
            tracer,
            name,
            f"sub-pipeline {name!r} mapped with {name}.map(...) returns "
            f"{_shown(returned)}; a mapped sub-pipeline returns the output of one of its "
            "steps for each item",
            "return the output of the task whose results the map collects (return it "
            "whole: index or combine the outputs in a task of the sub-pipeline)",
            location,
        )
    _check_returned(tracer, name, returned._node, outer)
    tracer.lanes[key] = replace(lane, output=returned._node)
    return Output(tracer, returned._node, returned._task, length=size, location=location)


def _bind(
    tracer: Tracer,
    name: str,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    *,
    location: SourceLocation | None,
) -> dict[str, Any]:
    signature = inspect.signature(fn)
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise _error(
            tracer,
            name,
            f"{name}.map(...) was given arguments that do not match the sub-pipeline's "
            f"signature: {exc}",
            f"call it as {name}.map(...) with the arguments of {name}{signature}, lists "
            "where each item gets one element",
            location,
        ) from None
    bound.apply_defaults()
    return dict(bound.arguments)


def _maps_over(tracer: Tracer, name: str, value: Any, location: SourceLocation | None) -> bool:
    """Whether the sub-pipeline's parameter ``param`` is mapped over: a literal list or a
    run parameter (a list when the run binds it)."""
    if isinstance(value, LaneOutput):
        raise _error(
            tracer,
            name,
            f"{name}.map(...) was given {value._describe()}: a mapped sub-pipeline inside "
            "another is not supported",
            f"call {name}(...) for the item (its steps then run per item of the outer map)",
            location,
        )
    if isinstance(value, ParamOutput):
        return True
    if isinstance(value, Output):
        raise _error(
            tracer,
            name,
            f"{name}.map(...) was given {value._describe()} to map over; a mapped "
            "sub-pipeline's items are planned before the run, so its lists are literal "
            "lists or list run parameters",
            "pass it in unmapped(...) to give it whole to every item, make the list a run "
            "parameter, or map each step over it with task.map(...)",
            location,
        )
    return isinstance(value, list | range)


def _refuse_per_item_branch(tracer: Tracer, name: str, location: SourceLocation | None) -> None:
    """A mapped sub-pipeline inside a branch decided per item of another: its items would
    be items of items, which a lane cannot plan."""
    for decided in tracer.blocks.branches:
        lane = tracer.nodes[decided].lane
        if lane is not None:
            raise _error(
                tracer,
                name,
                f"{name}.map(...) is inside branch {decided!r}, which is decided per item of "
                f"the mapped sub-pipeline {lane!r}: a mapped sub-pipeline inside another is "
                "not supported",
                f"call {name}(...) for the item (its steps then run per item of {lane!r}, "
                f"inside the branch), or map {name} outside {lane!r}",
                location,
            )


def _check_returned(tracer: Tracer, name: str, step: str, outer: tuple[str, ...]) -> None:
    """Refuse a mapped sub-pipeline that returns the output of a step on a branch opened
    in its body: an item that takes the other branch has no such value."""
    node = tracer.nodes[step]
    inner = node.branches[len(outer) :]
    if not inner:
        return
    raise DefinitionError(
        f"sub-pipeline {name!r} mapped with {name}.map(...) returns the output of task "
        f"{step!r}, which runs only when branch {inner[0]!r} is taken: an item for which "
        "it is not has no value to return",
        fix=f"return legato.one_of(<output of {step}>, <the other branch's output>) from "
        f"{name}, which is the value of the branch each item took",
        task=step,
        pipeline=tracer.pipeline,
        location=node.location,
    )


def _known_keys(
    tracer: Tracer,
    name: str,
    sources: list[tuple[str, Arg]],
    keyed: list[tuple[str, Keyed]],
    location: SourceLocation | None,
) -> tuple[str, ...] | None:
    """The item keys when every keyed list is literal (else the plan makes them)."""
    if not keyed:
        return None
    lists = dict(sources)
    columns: list[list[Any]] = []
    for param, _ in keyed:
        arg = lists[param]
        if not isinstance(arg, Lit):
            return None
        columns.append(arg.value)
    spec = ItemKeys(args=tuple(p for p, _ in keyed), by=tuple(k.by for _, k in keyed))
    try:
        return make_item_keys(name, spec, columns)
    except ItemKeyError as exc:
        raise _error(tracer, name, str(exc), exc.fix, location) from exc.__cause__


def _error(
    tracer: Tracer, name: str, problem: str, fix: str, location: SourceLocation | None
) -> DefinitionError:
    return DefinitionError(problem, fix=fix, task=name, pipeline=tracer.pipeline, location=location)


def _shown(value: Any) -> str:
    if isinstance(value, Output):
        return value._describe()
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def map_eagerly(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> list[Any]:
    """``sub.map(...)`` outside a pipeline: the body once per item, as plain Python."""
    signature = inspect.signature(fn)
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    given = dict(bound.arguments)
    lists = {
        p: list(v.value if isinstance(v, Keyed) else v)
        for p, v in given.items()
        if isinstance(v, Keyed | list | range)
    }
    lengths = {len(v) for v in lists.values()}
    if len(lengths) != 1:
        raise ValueError(
            f"{getattr(fn, '__name__', 'pipeline')}.map() needs lists of one common length to "
            f"map over, got lengths {sorted(lengths)}"
        )
    whole = {
        p: v.value if isinstance(v, Unmapped) else v for p, v in given.items() if p not in lists
    }
    return [fn(**whole, **{p: v[i] for p, v in lists.items()}) for i in range(lengths.pop())]
