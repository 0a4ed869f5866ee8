"""Tracing a pipeline body: calls of tasks become nodes, their results become placeholders.

While a pipeline body runs under a :class:`Tracer`, calling a task records a node and returns
an :class:`~legato.define.placeholders.Output`, a placeholder for a value that exists only at
run time (see :mod:`legato.define.placeholders`). A profiler hook catches plain (non-task)
functions handed a placeholder.
"""

from __future__ import annotations

import contextvars
import inspect
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from types import CodeType, FrameType
from typing import Any

from legato.define.blocks import UNPLACED, Blocks, Placement, check_reads, check_returned
from legato.define.graph import ItemKeys, MapSpec, Node, ParamSpec, iter_refs
from legato.define.lanespec import Lane
from legato.define.mapping import (  # the markers are re-exported: tracing is where they act
    Keyed,
    MapArgument,
    MapSpecError,
    Unmapped,
    keyed,
    map_spec,
    unmapped,
)
from legato.define.ordering import AFTER, AfterTargets, order_nodes, takes_after
from legato.define.placeholders import (
    LaneOutput,
    Output,
    ParamOutput,
    contains_placeholder,
    find_lane,
    find_placeholder,
)
from legato.define.products import Product, ProductKeys, crossed_keys, expand_products
from legato.errors import DefinitionError
from legato.model.ids import SourceLocation
from legato.model.specs import TaskSpec, user_location
from legato.model.triggers import Trigger
from legato.model.values import Arg, Dict, Lit, Seq

__all__ = [
    "Keyed",
    "Tracer",
    "Unmapped",
    "call_form",
    "current_tracer",
    "keyed",
    "unmapped",
    "user_location",
]

_LEGATO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_COMPREHENSIONS = frozenset({"<listcomp>", "<genexpr>", "<dictcomp>", "<setcomp>"})
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
        self._body_codes: set[CodeType] = set()
        self.blocks = Blocks(pipeline)
        """The ``legato.when`` branches and ``finally_()`` blocks open now."""

    # ------------------------------------------------------------------ body execution

    def trace(self, fn: Callable[..., Any], params: Sequence[ParamSpec]) -> Any:
        """Run ``fn`` with a placeholder per parameter; return what it returns."""
        kwargs = {p.name: ParamOutput(self, p.name, p.name) for p in params}
        token = _current.set(self)
        self._body_codes.add(fn.__code__)
        previous = sys.getprofile()
        sys.setprofile(self._profile)
        try:
            return fn(**kwargs)
        finally:
            sys.setprofile(previous)
            _current.reset(token)

    def inline(self, name: str, fn: Callable[..., Any], bound: Mapping[str, Any]) -> Any:
        """Trace a sub-pipeline called from a pipeline body: its nodes join this graph
        under the prefix ``name.``."""
        self.enter(name)
        self._body_codes.add(fn.__code__)
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
        self._body_codes.add(fn.__code__)
        return fn(**bound)

    def _profile(self, frame: FrameType, event: str, arg: Any) -> None:
        # Only calls of Python functions made directly from a pipeline body (or a
        # comprehension in one) are checked; legato's own code is trusted.
        if event != "call":
            return
        code = frame.f_code
        if code.co_filename.startswith(_LEGATO_DIR) or code.co_name in _COMPREHENSIONS:
            return
        caller = frame.f_back
        while caller is not None and caller.f_code.co_name in _COMPREHENSIONS:
            caller = caller.f_back
        if caller is None or caller.f_code not in self._body_codes:
            return
        nargs = code.co_argcount + code.co_kwonlyargcount
        nargs += bool(code.co_flags & inspect.CO_VARARGS)
        nargs += bool(code.co_flags & inspect.CO_VARKEYWORDS)
        f_locals = frame.f_locals
        for name in code.co_varnames[:nargs]:
            found = find_placeholder(f_locals.get(name))
            if found is not None:
                raise DefinitionError(
                    f"{code.co_name}() is not a task but was given {found._describe()} "
                    f"(argument {name!r}), which has no value until {found._known_when()}",
                    fix=f"decorate {code.co_name} with @task so it runs with real values, or "
                    f"with @pipeline if it only wires tasks together",
                    task=found._task_key(),
                    pipeline=self.pipeline,
                    location=SourceLocation(
                        filename=caller.f_code.co_filename,
                        lineno=caller.f_lineno,
                        function=caller.f_code.co_name,
                    ),
                )

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
            after = self._after_targets(name, kwargs.pop(AFTER), location)
        crossed: ProductKeys | None = None
        if not mapped:
            self._refuse_keyed(name, args, kwargs, location)
        else:
            try:
                args, kwargs, crossed = expand_products(name, spec.signature, args, kwargs)
            except DefinitionError as exc:
                raise DefinitionError(
                    exc.problem, fix=exc.fix, task=name, pipeline=self.pipeline, location=location
                ) from exc.__cause__
        plain_args = tuple(a.value if isinstance(a, Unmapped | Keyed) else a for a in args)
        plain_kwargs = {
            k: v.value if isinstance(v, Unmapped | Keyed) else v for k, v in kwargs.items()
        }
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

    def _after_targets(
        self, name: str, given: Any, location: SourceLocation | None
    ) -> AfterTargets:
        """What ``after=`` of a call of ``name`` names: outputs of calls, or tasks."""
        items = list(given) if isinstance(given, list | tuple) else [given]
        calls: list[str] = []
        tasks: list[str] = []
        for item in items:
            if isinstance(item, Output):
                if isinstance(item, ParamOutput) or item._tracer is not self:
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
            pipeline=self.pipeline,
            location=location,
        )

    def _refuse_keyed(
        self,
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        location: SourceLocation | None,
    ) -> None:
        if any(isinstance(v, Product) for v in (*args, *kwargs.values())):
            raise DefinitionError(
                f"task {name!r} was called with product(...), which crosses the lists of a map",
                fix=f"call {name}.map(product(...), ...) to run it once per combination",
                task=name,
                pipeline=self.pipeline,
                location=location,
            )
        if any(isinstance(v, Keyed) for v in (*args, *kwargs.values())):
            raise DefinitionError(
                f"task {name!r} was called with keyed(...), which names the items of a map",
                fix=f"call {name}.map(keyed(values), ...) to run it once per value, or pass "
                "the values without keyed(...)",
                task=name,
                pipeline=self.pipeline,
                location=location,
            )

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
        arguments = [self._map_argument(where, value) for where, value in given]
        try:
            return map_spec(name, arguments, self.nodes)
        except MapSpecError as exc:
            raise DefinitionError(
                str(exc), fix=exc.fix, task=name, pipeline=self.pipeline, location=location
            ) from exc.__cause__

    @staticmethod
    def _map_argument(where: int | str, argument: Any) -> MapArgument:
        """What an argument of a map call is, for :func:`~legato.define.mapping.map_spec`."""
        value = argument.value if isinstance(argument, Unmapped | Keyed) else argument
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

    def _to_arg(self, value: Any, task: str, location: SourceLocation | None) -> Arg:
        if isinstance(value, Output):
            if value._tracer is not self:
                raise DefinitionError(
                    f"task {task!r} was given an output from another pipeline's trace",
                    fix="call tasks only with outputs produced in the same pipeline body",
                    task=task,
                    pipeline=self.pipeline,
                    location=location,
                )
            return value._as_arg()
        if isinstance(value, list | tuple) and contains_placeholder(value, depth=64):
            return Seq(
                tuple(self._to_arg(v, task, location) for v in value),
                as_tuple=isinstance(value, tuple),
            )
        if isinstance(value, dict) and contains_placeholder(value, depth=64):
            if any(isinstance(k, Output) for k in value):
                raise DefinitionError(
                    f"task {task!r} was given a dict keyed by a task output or run parameter; "
                    "keys must be known when the pipeline is defined",
                    fix="use the output as a value, or build the dict inside a task",
                    task=task,
                    pipeline=self.pipeline,
                    location=location,
                )
            return Dict(tuple((k, self._to_arg(v, task, location)) for k, v in value.items()))
        if isinstance(value, set | frozenset) and contains_placeholder(value, depth=64):
            raise DefinitionError(
                f"task {task!r} was given a set holding task outputs; sets have no order",
                fix="pass a list or tuple instead",
                task=task,
                pipeline=self.pipeline,
                location=location,
            )
        if isinstance(value, range):
            return Lit(list(value))
        return Lit(value)

    def output_arg(self, value: Any) -> Arg:
        """The binding of what the pipeline body returned."""
        arg = self._to_arg(value, "<pipeline output>", None)
        check_returned((ref.node for ref in iter_refs(arg)), self.nodes, self.pipeline)
        return arg


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


def _qualname(fn: Callable[..., Any]) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"
