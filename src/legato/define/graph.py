"""The graph a traced pipeline is: nodes (task calls), edges (data flow), parameters and the
binding of the pipeline's own output. Frozen once built."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Container, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from legato.define import render
from legato.define.lanespec import Lane
from legato.model.ids import SourceLocation
from legato.model.specs import FailurePolicy, TaskSpec
from legato.model.triggers import Trigger
from legato.model.values import Arg, Dict, Param, Ref, Seq

__all__ = ["Graph", "ItemKeys", "MapSpec", "Node", "ParamSpec", "iter_refs", "iter_params"]

MISSING: Any = inspect.Parameter.empty


@dataclass(frozen=True, slots=True, kw_only=True)
class ParamSpec:
    """A run parameter: a parameter of the pipeline function."""

    name: str
    default: Any = MISSING
    annotation: Any = MISSING

    @property
    def required(self) -> bool:
        return self.default is MISSING


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemKeys:
    """Where the item keys of a map come from: its arguments wrapped in ``keyed(...)``.

    An item's key is made from its item of each keyed argument (joined by ``,`` when there
    are several): the item itself, or what ``by`` returns for it. An argument that is the
    whole output of a keyed map gives that map's item keys."""

    args: tuple[int | str, ...]
    """The keyed arguments: positions and keyword names, in the order of the call."""
    by: tuple[Callable[[Any], Any] | None, ...]
    """For each keyed argument, the function that makes a key of an item (None: the item)."""
    known: tuple[str, ...] | None = None
    """The item keys, when every keyed argument is known as the pipeline is defined (literal
    lists, keyed maps over them); otherwise made when a run is planned (run parameters)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MapSpec:
    """Which arguments of a mapped call may be mapped over; the rest are given whole.

    Literal lists always are; run parameters and task outputs are when their value is a list
    (decided when the map expands at run time)."""

    positions: tuple[int, ...] = ()
    names: tuple[str, ...] = ()
    length: int | None = None
    """Known when every mapped argument is a literal list; otherwise found at run time."""
    size: int | None = None
    """How many items the map has, known as the pipeline is defined when one of its lists is
    (a literal list, or the output of a map of known size): the others must match it."""
    keys: ItemKeys | None = None
    """Where the map's item keys come from; None: its items are numbered."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    """One call of a task in the pipeline body."""

    key: str
    spec: TaskSpec
    args: tuple[Arg, ...]
    kwargs: tuple[tuple[str, Arg], ...]
    mapped: MapSpec | None = None
    location: SourceLocation | None = None
    upstream: tuple[str, ...] = field(default=())
    """Keys of every node it waits for: those whose outputs it reads, in first-use order,
    then those of ``after`` it does not read. Derived from ``args``, ``kwargs`` and
    ``after``."""
    params: tuple[str, ...] = field(default=())
    """Names of the run parameters it reads."""
    after: tuple[str, ...] = ()
    """Keys of the nodes it waits for without reading their outputs, its *wait-only* edges:
    the targets of its ``after=`` (see :mod:`legato.define.ordering`), the task deciding
    each ``legato.when`` branch it is in and the tasks a ``finally_()`` block follows (see
    :mod:`legato.define.blocks`). Each is a dependency like an input (the plan waits for
    it; a failure blocks, a skip skips), never an input (nothing bound, no part of a cache
    key)."""
    waits: tuple[str, ...] = field(default=())
    """Those of ``after`` it does not also read: the edges drawn as wait-only. Derived."""
    branches: tuple[str, ...] = ()
    """The tasks deciding the branches it is inside, outermost first."""
    trigger: Trigger = Trigger.ALL_SUCCEEDED
    """When it runs given how its inputs ended (its task's ``trigger``, or the block's)."""
    final: bool = False
    """In a ``finally_()`` block: stopping the run (fail-fast, cancel) does not stop it."""
    role: str = "task"
    """``task``; ``branch``: the task deciding a ``legato.when`` branch; ``join``: a
    ``legato.one_of``."""
    lane: str | None = None
    """The mapped sub-pipeline (:class:`~legato.define.lanespec.Lane`) it is a step of: it
    runs once per item of the lane."""

    def __post_init__(self) -> None:
        seen: dict[str, None] = {}
        names: dict[str, None] = {}
        for arg in (*self.args, *(a for _, a in self.kwargs)):
            for ref in iter_refs(arg):
                seen.setdefault(ref.node)
            for param in iter_params(arg):
                names.setdefault(param.name)
        reads = set(seen)
        for key in self.after:
            seen.setdefault(key)
        object.__setattr__(self, "waits", tuple(k for k in self.after if k not in reads))
        object.__setattr__(self, "upstream", tuple(seen))
        object.__setattr__(self, "params", tuple(names))

    @property
    def name(self) -> str:
        return self.spec.name


def iter_refs(arg: Arg) -> Iterator[Ref]:
    """Every :class:`Ref` inside a binding tree."""
    if isinstance(arg, Ref):
        yield arg
    elif isinstance(arg, Seq):
        for item in arg.items:
            yield from iter_refs(item)
    elif isinstance(arg, Dict):
        for _, item in arg.items:
            yield from iter_refs(item)


def iter_params(arg: Arg) -> Iterator[Param]:
    """Every :class:`Param` inside a binding tree."""
    if isinstance(arg, Param):
        yield arg
    elif isinstance(arg, Seq):
        for item in arg.items:
            yield from iter_params(item)
    elif isinstance(arg, Dict):
        for _, item in arg.items:
            yield from iter_params(item)


@dataclass(frozen=True, slots=True, kw_only=True)
class Graph:
    """A pipeline's graph: nodes in an order where every node follows its inputs."""

    pipeline: str
    nodes: Mapping[str, Node]
    params: tuple[ParamSpec, ...]
    output: Arg
    failure_policy: FailurePolicy = FailurePolicy.KEEP_GOING
    lanes: Mapping[str, Lane] = field(default_factory=dict)
    """The mapped sub-pipelines by key (their nodes name them in ``Node.lane``)."""

    def __post_init__(self) -> None:
        # Read-only, so the graph a Pipeline caches cannot be changed under later runs.
        object.__setattr__(self, "nodes", MappingProxyType(dict(self.nodes)))
        object.__setattr__(self, "lanes", MappingProxyType(dict(self.lanes)))

    @property
    def edges(self) -> tuple[tuple[str, str], ...]:
        """``(upstream, downstream)`` pairs, one per dependency (data or wait-only)."""
        return tuple((up, node.key) for node in self.nodes.values() for up in node.upstream)

    @property
    def order_edges(self) -> tuple[tuple[str, str], ...]:
        """The wait-only ``(upstream, downstream)`` pairs (``Node.waits``): a dependency
        without a value (``after=``, a branch's decision, what a ``finally_()`` follows)."""
        return tuple((up, node.key) for node in self.nodes.values() for up in node.waits)

    def downstream(self) -> dict[str, list[str]]:
        """For each node key, the keys of nodes that wait for it (read its output, or run
        after it)."""
        out: dict[str, list[str]] = {key: [] for key in self.nodes}
        for node in self.nodes.values():  # a loop, not self.edges: plans of 100,000 tasks
            for up in node.upstream:
                out[up].append(node.key)
        return out

    def render_text(self) -> str:
        """The graph for a terminal: one line per task with what it reads."""
        return render.render_text(self)

    def to_mermaid(self) -> str:
        """The graph as a Mermaid flowchart."""
        return render.render_mermaid(self)

    def to_dot(self) -> str:
        """The graph in Graphviz's DOT language."""
        return render.render_dot(self)

    def _repr_mimebundle_(
        self, include: Container[str] | None = None, exclude: Container[str] | None = None
    ) -> dict[str, str]:
        """Jupyter's display: the graph drawn (Mermaid, or SVG when Graphviz is installed),
        with the text drawing as the fallback."""
        return render.mimebundle(self, include=include, exclude=exclude)
