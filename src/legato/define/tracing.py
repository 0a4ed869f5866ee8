"""Tracing a pipeline body: calls of tasks become nodes, their results become placeholders.

While a pipeline body runs under a :class:`Tracer`, calling a task records a node and returns
an :class:`~legato.define.placeholders.Output`, a placeholder for a value that exists only at
run time (see :mod:`legato.define.placeholders`). The tracer knows the graph being built:
node keys in their sub-pipeline scopes, the ``with`` blocks open
(:mod:`legato.define.blocks`), the mapped sub-pipelines (lanes) a call is a step of, and
the map a call makes. What each argument value becomes in a node is
:mod:`legato.define.arguments`'; the hook that refuses plain functions handed a
placeholder is :mod:`legato.define.watch`.
"""

from __future__ import annotations

import contextvars
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from legato.define.arguments import (
    after_targets,
    call_form,
    map_argument,
    plain,
    refuse_markers,
    to_arg,
)
from legato.define.blocks import UNPLACED, Blocks, Placement, check_reads, check_returned
from legato.define.graph import ItemKeys, MapSpec, Node, ParamSpec, iter_refs
from legato.define.lanespec import Lane
from legato.define.mapping import Keyed, MapSpecError, map_spec
from legato.define.ordering import AFTER, AfterTargets, order_nodes, takes_after
from legato.define.placeholders import LaneOutput, Output, ParamOutput, find_lane
from legato.define.products import ProductKeys, crossed_keys, expand_products
from legato.define.watch import BodyWatch
from legato.errors import DefinitionError
from legato.model.ids import SourceLocation
from legato.model.specs import TaskSpec, user_location
from legato.model.triggers import Trigger
from legato.model.values import Arg

__all__ = ["Tracer", "current_tracer"]

_current: contextvars.ContextVar[Tracer | None] = contextvars.ContextVar(
    "legato_tracer", default=None
)


def current_tracer() -> Tracer | None:
    """The tracer of the pipeline body being traced in this context, if any."""
    return _current.get()


class Tracer:
    """Records the nodes of one pipeline while its body runs."""

    def __init__(self, pipeline: str) -> None:
        self.pipeline = pipeline
        self.nodes: dict[str, Node] = {}
        self.lanes: dict[str, Lane] = {}
        """The mapped sub-pipelines traced so far, by key."""
        self.after_targets: dict[str, AfterTargets] = {}
        """What each call's ``after=`` named, resolved by :meth:`finished_nodes`."""
        self._names: dict[str, Callable[..., Any]] = {}
        self._calls: dict[str, int] = {}
        self._scope: list[str] = []
        self._watch = BodyWatch(pipeline)
        self.blocks = Blocks(pipeline)
        """The ``legato.when`` branches and ``finally_()`` blocks open now."""

    # ------------------------------------------------------------------ body execution

    def trace(self, fn: Callable[..., Any], params: Sequence[ParamSpec]) -> Any:
        """Run ``fn`` with a placeholder per parameter; return what it returns."""
        kwargs = {p.name: ParamOutput(self, p.name, p.name) for p in params}
        token = _current.set(self)
        self._watch.codes.add(fn.__code__)
        previous = sys.getprofile()
        sys.setprofile(self._watch.check)
        try:
            return fn(**kwargs)
        finally:
            sys.setprofile(previous)
            _current.reset(token)

    def inline(self, name: str, fn: Callable[..., Any], bound: Mapping[str, Any]) -> Any:
        """Trace a sub-pipeline called from a pipeline body: its nodes join this graph
        under the prefix ``name.``."""
        self.enter(name)
        self._watch.codes.add(fn.__code__)
        try:
            return fn(**bound)
        finally:
            self.leave()

    def enter(self, name: str) -> str:
        """Open the scope of a sub-pipeline call: its nodes are keyed under it. Its key."""
        # Counted per enclosing scope, like task keys: a.inner and b.inner, not b.inner_2.
        scoped = "pipeline:" + ".".join([*self._scope, name])
        count = self._calls.get(scoped, 0) + 1
        self._calls[scoped] = count
        self._scope.append(name if count == 1 else f"{name}_{count}")
        key = ".".join(self._scope)
        self.blocks.enter_body(key)
        return key

    def leave(self) -> None:
        """Close the innermost sub-pipeline scope."""
        self.blocks.leave_body()
        self._scope.pop()

    def body(self, fn: Callable[..., Any], bound: Mapping[str, Any]) -> Any:
        """Run a sub-pipeline's body in the current scope (its calls are checked)."""
        self._watch.codes.add(fn.__code__)
        return fn(**bound)

    def finished_nodes(self) -> dict[str, Node]:
        """The nodes of the traced body, with their order-only edges, in an order where
        each follows what it waits for."""
        return order_nodes(self.pipeline, self.nodes, self.after_targets)

    # ------------------------------------------------------------------ recording

    def record(
        self,
        spec: TaskSpec,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        mapped: bool,
        role: str = "task",
        trigger: Trigger | None = None,
    ) -> Output:
        """Add a node for a call of ``spec`` and return the placeholder of its output
        (``role`` and ``trigger``: legato's own nodes, see :mod:`legato.define.branches`)."""
        previous = sys.getprofile()
        sys.setprofile(None)  # our own bookkeeping needs no checking, and is hot
        try:
            return self._record(spec, args, kwargs, mapped=mapped, role=role, trigger=trigger)
        finally:
            sys.setprofile(previous)

    def _record(
        self,
        spec: TaskSpec,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        mapped: bool,
        role: str,
        trigger: Trigger | None,
    ) -> Output:
        location = user_location()
        name = spec.name
        owner = self._names.get(name)
        if owner is None:
            self._names[name] = spec.fn
        elif owner is not spec.fn:
            raise DefinitionError(
                f"two different tasks are named {name!r} in pipeline {self.pipeline!r} "
                f"({_qualname(owner)} and {_qualname(spec.fn)})",
                fix=f"give one of them another name: @task(name=...) or "
                f"{spec.fn.__name__}.with_options(name=...)",
                task=name,
                pipeline=self.pipeline,
                location=location,
            )
        after = None
        if AFTER in kwargs and not takes_after(spec.signature.parameters):
            kwargs = dict(kwargs)
            after = after_targets(
                name, kwargs.pop(AFTER), owner=self, pipeline=self.pipeline, location=location
            )
        crossed: ProductKeys | None = None
        if not mapped:
            refuse_markers(name, args, kwargs, pipeline=self.pipeline, location=location)
        else:
            try:
                args, kwargs, crossed = expand_products(name, spec.signature, args, kwargs)
            except DefinitionError as exc:
                raise DefinitionError(
                    exc.problem, fix=exc.fix, task=name, pipeline=self.pipeline, location=location
                ) from exc.__cause__
        plain_args = tuple(plain(a) for a in args)
        plain_kwargs = {k: plain(v) for k, v in kwargs.items()}
        try:
            spec.signature.bind(*plain_args, **plain_kwargs)
        except TypeError as exc:
            raise DefinitionError(
                f"task {name!r} was called with arguments that do not match its signature: {exc}",
                fix=f"call it as {call_form(name, spec.signature)}",
                task=name,
                pipeline=self.pipeline,
                location=location,
            ) from None

        lane = self._lane_of(name, args, kwargs, mapped, location) if self.lanes else None
        key = self._new_key(name)
        if after is not None:
            self.after_targets[key] = after
        map_spec = None
        if mapped:
            map_spec = self._map_spec(name, args, kwargs, location)
            if crossed is not None:
                map_spec = crossed_keys(name, map_spec, crossed, self.pipeline, location)
        elif lane is not None:
            map_spec = MapSpec(
                length=lane.size,
                size=lane.size,
                keys=None if not lane.keyed else ItemKeys(args=(), by=(), known=lane.keys),
            )
        arg_nodes = tuple(self._to_arg(a, name, location) for a in plain_args)
        kwarg_nodes = tuple((k, self._to_arg(v, name, location)) for k, v in plain_kwargs.items())
        blocks = self.blocks
        declared = trigger or spec.options.trigger
        if blocks.used:  # else no task is on a branch or in a block: nothing to place or check
            reads = dict.fromkeys(
                ref.node
                for arg in (*arg_nodes, *(a for _, a in kwarg_nodes))
                for ref in iter_refs(arg)
            )
            placed = blocks.place(reads, self.nodes, declared)
            check_reads(
                key,
                reads,
                placed.branches,
                placed.trigger,
                self.nodes,
                pipeline=self.pipeline,
                location=location,
            )
        else:
            placed = Placement(trigger=declared) if declared is not None else UNPLACED
        node = Node(
            key=key,
            spec=spec,
            args=arg_nodes,
            kwargs=kwarg_nodes,
            mapped=map_spec,
            location=location,
            after=placed.after,
            branches=placed.branches,
            trigger=placed.trigger,
            final=placed.final,
            role=role,
            lane=lane.key if lane is not None else None,
        )
        self.nodes[key] = node
        self.blocks.recorded(key)
        if lane is not None:
            length = map_spec.length if mapped and map_spec is not None else spec.outputs
            return LaneOutput(self, key, name, lane=lane.key, length=length, location=location)
        if map_spec is not None:
            return Output(self, key, name, length=map_spec.length, location=location)
        return Output(self, key, name, length=spec.outputs, location=location)

    def _lane_of(
        self,
        name: str,
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
        mapped: bool,
        location: SourceLocation | None,
    ) -> Lane | None:
        """The mapped sub-pipeline a call is a step of: the one whose item it reads."""
        found = find_lane(list(args))
        if found is None:
            found = find_lane(list(kwargs.values()))
        if found is None:  # inside a branch decided per item, it runs per item too
            return next(
                (self.lanes[lane] for lane in self._branch_lanes() if lane is not None), None
            )
        keyed = [v for v in (*args, *kwargs.values()) if isinstance(v, Keyed)]
        if mapped and any(find_lane(k.value) is not None for k in keyed):
            raise DefinitionError(
                f"{name}.map(...) inside mapped sub-pipeline {found._lane!r} is keyed(...) "
                "around one item's value; a map per item is keyed only by a literal list",
                fix="leave keyed(...) out (its items are numbered per item: "
                f"{found._lane}.{name}[item][0]...), or pass keyed(names) beside it",
                task=name,
                pipeline=self.pipeline,
                location=location,
            )
        return self.lanes[found._lane]

    def _branch_lanes(self) -> list[str | None]:
        """The lane of each branch open now (None: decided once), innermost first."""
        return [self.nodes[decided].lane for decided in reversed(self.blocks.branches)]

    def _new_key(self, name: str) -> str:
        scoped = ".".join([*self._scope, name])
        count = self._calls.get(scoped, 0) + 1
        self._calls[scoped] = count
        return scoped if count == 1 else f"{scoped}_{count}"

    def _map_spec(
        self,
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        location: SourceLocation | None,
    ) -> MapSpec:
        given: list[tuple[int | str, Any]] = [*enumerate(args), *kwargs.items()]
        arguments = [map_argument(where, value) for where, value in given]
        try:
            return map_spec(name, arguments, self.nodes)
        except MapSpecError as exc:
            raise DefinitionError(
                str(exc), fix=exc.fix, task=name, pipeline=self.pipeline, location=location
            ) from exc.__cause__

    def _to_arg(self, value: Any, task: str, location: SourceLocation | None) -> Arg:
        return to_arg(value, owner=self, task=task, pipeline=self.pipeline, location=location)

    def output_arg(self, value: Any) -> Arg:
        """The binding of what the pipeline body returned."""
        arg = self._to_arg(value, "<pipeline output>", None)
        check_returned((ref.node for ref in iter_refs(arg)), self.nodes, self.pipeline)
        return arg


def _qualname(fn: Callable[..., Any]) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"
