"""From a validated graph and bound parameters to what the scheduler runs. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from legato.define.graph import Graph, MapSpec, Node
from legato.define.itemkeys import Inherited, make_item_keys
from legato.engine.lanes import unroll
from legato.engine.resources import exceeds
from legato.errors import ParameterError, PlanError
from legato.model.cache_options import CacheOptions
from legato.model.ids import SourceLocation
from legato.model.items import ItemKeyError, item_key
from legato.model.specs import Capacity, FailurePolicy, TaskOptions, TaskSpec
from legato.model.triggers import Trigger
from legato.model.values import Arg, Lit, Param, Ref

__all__ = ["Plan", "PlanNode", "build_plan", "check_capacity"]


class PlanNode:
    """A node of the graph with what the scheduler needs precomputed.

    It holds the graph's :class:`~legato.define.graph.Node` and reads the node's own fields
    from it rather than copying them: the graph stays alive with its pipeline anyway, and a
    copy of a dozen fields was about 100 bytes a node of a million-node plan.
    """

    __slots__ = ("amounts", "chained", "downstream", "item_keys", "node", "size", "split_output")

    def __init__(
        self,
        node: Node,
        *,
        downstream: tuple[str, ...],
        amounts: Mapping[str, float],
        split_output: bool,
        item_keys: tuple[str, ...] = (),
        size: int | None = None,
        chained: bool = False,
    ) -> None:
        self.node = node
        self.downstream = downstream
        self.amounts = amounts
        self.split_output = split_output
        """A map consumes this node's whole output item by item."""
        self.item_keys = item_keys
        """A keyed map's item keys, in item order (its items are ``key[k]``); empty: the
        items are numbered."""
        self.size = size
        """How many items a map has, where known before it runs (shown, never relied on)."""
        self.chained = chained
        """A step of a mapped sub-pipeline's item that follows another step of the same
        item: it starts before waiting first steps of other items, so each item's chain
        goes through (see :mod:`legato.engine.lanes`)."""

    def __repr__(self) -> str:
        return f"PlanNode({self.node.key!r}, downstream={self.downstream!r})"

    @property
    def key(self) -> str:
        return self.node.key

    @property
    def spec(self) -> TaskSpec:
        return self.node.spec

    @property
    def options(self) -> TaskOptions:
        return self.node.spec.options

    @property
    def args(self) -> tuple[Arg, ...]:
        return self.node.args

    @property
    def kwargs(self) -> tuple[tuple[str, Arg], ...]:
        return self.node.kwargs

    @property
    def mapped(self) -> MapSpec | None:
        return self.node.mapped

    @property
    def location(self) -> SourceLocation | None:
        return self.node.location

    @property
    def upstream(self) -> tuple[str, ...]:
        """Its inputs, then what it only waits for."""
        return self.node.upstream

    @property
    def trigger(self) -> Trigger:
        """When it runs given how its inputs ended (see :mod:`legato.engine.triggers`)."""
        return self.node.trigger

    @property
    def final(self) -> bool:
        """In a ``finally_()`` block: stopping the run does not cancel it while it waits."""
        return self.node.final

    @property
    def branches(self) -> tuple[str, ...]:
        """The tasks deciding the ``legato.when`` branches it is inside."""
        return self.node.branches

    @property
    def lane(self) -> str | None:
        """The mapped sub-pipeline this is one item's step of: never claimed ahead, so that
        an item's next step, queued first, starts before other items' waiting steps."""
        return self.node.lane

    def item_key(self, index: int) -> str:
        """The task key of item ``index`` of this map."""
        return item_key(self.node.key, self.item_keys[index] if self.item_keys else index)


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """Everything a run executes."""

    pipeline: str
    nodes: Mapping[str, PlanNode]
    output: Arg
    params: Mapping[str, Any]
    failure_policy: FailurePolicy
    caching: CacheOptions = field(default_factory=CacheOptions)
    """The run's cache options: the caching layer applies them and the run's ``RunStarted``
    event records them."""


def _mapped_args(node: Node) -> list[Arg]:
    assert node.mapped is not None
    out = [node.args[i] for i in node.mapped.positions]
    kwargs = dict(node.kwargs)
    out.extend(kwargs[name] for name in node.mapped.names)
    return out


def build_plan(
    graph: Graph,
    params: Mapping[str, Any],
    failure_policy: FailurePolicy | None = None,
    caching: CacheOptions | None = None,
) -> Plan:
    """The plan of one run of ``graph`` with bound ``params``."""
    graph = unroll(graph, params)  # a mapped sub-pipeline: one task per step and item
    downstream = graph.downstream()
    split: set[str] = set()
    for node in graph.nodes.values():
        if node.mapped is not None:
            for arg in _mapped_args(node):
                if isinstance(arg, Ref) and not arg.path:
                    split.add(arg.node)
    nodes: dict[str, PlanNode] = {}
    # Nodes that ask for the same resources share one mapping: admission refuses equal
    # requests by identity (scheduler/waiting.py), and a wide plan keeps one copy.
    requests: dict[tuple[tuple[str, float], ...], dict[str, float]] = {}
    for key, node in graph.nodes.items():  # inputs first: a keyed map reads its inputs' keys
        keys = _item_keys(node, params, nodes, graph.pipeline)
        nodes[key] = PlanNode(
            node,
            downstream=tuple(downstream[key]),
            amounts=_shared(requests, node.spec.options.resources.amounts()),
            split_output=key in split,
            item_keys=keys,
            size=len(keys) if keys else _size(node, params, nodes),
            chained=node.lane is not None
            and any(graph.nodes[up].lane == node.lane for up in node.upstream),
        )
    return Plan(
        pipeline=graph.pipeline,
        nodes=nodes,
        output=graph.output,
        params=dict(params),
        failure_policy=failure_policy or graph.failure_policy,
        caching=caching or CacheOptions(),
    )


def _shared(
    requests: dict[tuple[tuple[str, float], ...], dict[str, float]], amounts: dict[str, float]
) -> dict[str, float]:
    return requests.setdefault(tuple(amounts.items()), amounts)


def _item_keys(
    node: Node, params: Mapping[str, Any], planned: Mapping[str, PlanNode], pipeline: str
) -> tuple[str, ...]:
    """The item keys of a keyed map, made now if the pipeline's definition could not (they
    come from run parameters); a ``ParameterError`` when they cannot be used."""
    spec = node.mapped.keys if node.mapped is not None else None
    if spec is None:
        return ()
    if spec.known is not None:
        return spec.known
    kwargs = dict(node.kwargs)
    sources: list[Any] = []
    for where in spec.args:
        arg = node.args[where] if isinstance(where, int) else kwargs[where]
        if isinstance(arg, Ref):  # the tracer allows only the whole output of a keyed map
            sources.append(Inherited(planned[arg.node].item_keys))
        elif isinstance(arg, Param):
            value = params[arg.name]
            if not isinstance(value, list | range):
                raise ParameterError(
                    f"run parameter {arg.name!r} is keyed(...) in {node.name}.map(...), so it "
                    f"must be a list, not a {type(value).__name__}: pass a list, e.g. "
                    f"{arg.name}=['a', 'b']"
                )
            sources.append(list(value))
        else:
            assert isinstance(arg, Lit)
            sources.append(list(arg.value))
    try:
        return make_item_keys(node.name, spec, sources)
    except ItemKeyError as exc:
        raise ParameterError(
            f"pipeline {pipeline!r} with these run parameters: {exc}; fix: {exc.fix}"
        ) from exc.__cause__


def _size(node: Node, params: Mapping[str, Any], planned: Mapping[str, PlanNode]) -> int | None:
    """How many items a map will have, when a list it maps over is known now: a literal
    list, a run parameter's list or the output of a map of known size."""
    if node.mapped is None:
        return None
    if node.mapped.size is not None:
        return node.mapped.size
    for arg in _mapped_args(node):
        if isinstance(arg, Param) and isinstance(params.get(arg.name), list | range):
            return len(params[arg.name])
        if isinstance(arg, Ref) and not arg.path and planned[arg.node].mapped is not None:
            size = planned[arg.node].size
            if size is not None:
                return size
    return None


def _amount(name: str, value: float) -> str:
    if name == "memory":
        return f"{value / 1024**3:.3g} GiB of memory"
    if name in ("cpus", "gpus"):
        return f"{value:g} {name[:-1].upper()}{'s' if value != 1 else ''}"
    return f"{value:g} of {name!r}"


def _given(name: str, asked: float) -> str:
    """How an amount is written in a capacity: ``3``, ``'8GiB'``."""
    return repr(f"{asked / 1024**3:.3g}GiB") if name == "memory" else f"{asked:g}"


def check_capacity(
    plan: Plan,
    capacity: Capacity,
    executor: str,
    hosts: Sequence[Capacity] = (),
    *,
    shares_gpus: bool = False,
) -> None:
    """Raise :class:`~legato.errors.PlanError` for a task that asks for more than the
    executor can ever offer (it would wait forever): more than its whole capacity, or, on
    an executor of several machines (``hosts``), more than the largest of them offers (an
    attempt runs on one machine); or a fraction of a GPU from an executor that hands GPUs
    out whole."""
    for node in plan.nodes.values():
        gpus = node.amounts.get("gpus", 0.0)
        if not shares_gpus and gpus != int(gpus):
            raise PlanError(
                f"task {node.key!r} asks for {gpus:g} of a GPU, and the {executor} executor "
                "hands GPUs out whole",
                fix="ask for whole GPUs (Resources(gpus=1)), or run it on the ray executor, "
                "which shares a GPU between tasks",
                task=node.key,
                pipeline=plan.pipeline,
                location=node.location,
            )
        over = exceeds(node.amounts, capacity)
        if over is None and hosts and all(exceeds(node.amounts, h) for h in hosts):
            _refuse_split(plan, node, executor, hosts)
        if over is None:
            continue
        name, asked, offered = over
        raise PlanError(
            f"task {node.key!r} asks for {_amount(name, asked)} but the {executor} executor "
            f"can offer at most {_amount(name, offered)}",
            fix="lower the task's resources=Resources(...), or give the executor more "
            f"capacity: legato.run(..., capacity={{{name!r}: {_given(name, asked)}}}) or "
            f"--capacity {name}={_given(name, asked).strip(repr(''))} for a named executor "
            "(or capacity in the profile), Capacity(...) for an executor object, or run it "
            "where the resources exist",
            task=node.key,
            pipeline=plan.pipeline,
            location=node.location,
        )


def _refuse_split(plan: Plan, node: PlanNode, executor: str, hosts: Sequence[Capacity]) -> None:
    """A task that fits the machines together but none of them alone."""
    shortest = [exceeds(node.amounts, host) for host in hosts]
    described = "; ".join(
        f"node {i + 1}: at most {_amount(name, offered)}"
        for i, (name, _, offered) in enumerate(s for s in shortest if s is not None)
    )
    raise PlanError(
        f"task {node.key!r} needs {', '.join(_amount(k, v) for k, v in node.amounts.items())} "
        f"on one machine, and no node of the {executor} executor's {len(hosts)} has that "
        f"much ({described}); an attempt runs on a single node",
        fix="lower the task's resources=Resources(...) to what one node offers, or add a "
        "node large enough to the cluster",
        task=node.key,
        pipeline=plan.pipeline,
        location=node.location,
    )
