"""A run's graph as the API draws it: the pipeline's nodes and edges, a layered layout, and
each node's state (a mapped task is one group node with its items counted per state).

The shape (nodes and edges) comes from the pipeline's definition, not from the run store,
which records the plan's tasks but not their dependencies; :func:`layered` lays it out once
per pipeline version (fingerprint) and the result is reused for every run of it.

The layout is the classic layered one: a node's layer is the length of the longest path
from a source to it (every edge points down), and the nodes of each layer are ordered by
a few sweeps of the barycenter heuristic (each node placed at the mean position of its
neighbours in the layer before, then after), which keeps most edges short and uncrossed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from legato.model.records import TaskRecord
from legato.query.param_types import ParamField

__all__ = [
    "GraphEdge",
    "GraphNode",
    "GraphShape",
    "PipelineGraph",
    "Placed",
    "RunGraph",
    "ShapeNode",
    "layered",
    "pipeline_graph",
    "run_graph",
]

_SWEEPS = 4


@dataclass(frozen=True, slots=True, kw_only=True)
class ShapeNode:
    """A node of a pipeline's definition."""

    key: str
    name: str
    mapped: bool
    role: str = "task"
    """``task``, ``branch`` (it decides a ``legato.when`` branch) or ``join``
    (``legato.one_of``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GraphShape:
    """A pipeline version's nodes (each after its inputs) and edges (upstream, downstream)."""

    fingerprint: str
    nodes: tuple[ShapeNode, ...]
    edges: tuple[tuple[str, str], ...]
    """Every dependency, the wait-only ones included (the layout keeps them pointing down)."""
    after: tuple[tuple[str, str], ...] = ()
    """The edges that are wait-only (``after=``, a branch's decision, what a ``finally_()``
    block follows): the task runs after the other without reading its output."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Placed:
    """Where a node is drawn: its layer (0 at the top) and its place in the layer."""

    layer: int
    order: int


@dataclass(frozen=True, slots=True, kw_only=True)
class GraphNode:
    """A node as drawn, with its run's state: for a mapped task, its items per state."""

    key: str
    name: str
    mapped: bool
    layer: int
    order: int
    state: str | None
    """The task's state in the run (None: the run has no such task)."""
    items: dict[str, int] | None
    """For a mapped task: how many of its items stand in each state."""
    role: str = "task"
    """``task``, ``branch`` (it decides a ``legato.when`` branch: ``skipped`` when not
    taken) or ``join`` (``legato.one_of``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GraphEdge:
    """A dependency: ``source``'s output is read by ``target``, or (``after``) ``target``
    runs after ``source`` without reading it (drawn dashed)."""

    source: str
    target: str
    after: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class RunGraph:
    """A run's graph: its pipeline version, nodes with their places and states, edges, and
    how many layers and places the widest layer has."""

    run_id: str
    fingerprint: str
    layers: int
    width: int
    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineGraph:
    """A pipeline as it is now, before any run of it: its graph as a run's is drawn (every
    node's ``state`` None) and the run parameters a start form asks for."""

    name: str
    """The name the server knows it by."""
    pipeline: str
    """The pipeline's own name (the one its runs record)."""
    target: str
    fingerprint: str
    """Its version now: runs of this version have this fingerprint."""
    layers: int
    width: int
    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]
    params: tuple[ParamField, ...]


def layered(keys: Sequence[str], edges: Sequence[tuple[str, str]]) -> dict[str, Placed]:
    """The layered layout of a DAG whose ``keys`` are in topological order."""
    ups: dict[str, list[str]] = {k: [] for k in keys}
    downs: dict[str, list[str]] = {k: [] for k in keys}
    for up, down in edges:
        ups[down].append(up)
        downs[up].append(down)
    layer: dict[str, int] = {}
    for key in keys:  # topological: every input has its layer already
        layer[key] = 1 + max((layer[u] for u in ups[key]), default=-1)
    rows: list[list[str]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    for key in keys:
        rows[layer[key]].append(key)
    place = {key: i for row in rows for i, key in enumerate(row)}
    for sweep in range(_SWEEPS):
        downward = sweep % 2 == 0
        for row in rows[1:] if downward else rows[-2::-1]:
            near = ups if downward else downs

            def centre(key: str, near: Mapping[str, list[str]] = near) -> float:
                others = near[key]
                if not others:
                    return float(place[key])
                return sum(place[o] for o in others) / len(others)

            row.sort(key=lambda k: (centre(k), place[k]))
            for i, key in enumerate(row):
                place[key] = i
    return {key: Placed(layer=layer[key], order=place[key]) for key in keys}


def _items(mapped: bool, counts: Mapping[str, int] | None) -> dict[str, int] | None:
    if counts is None:
        return {} if mapped else None  # a map not expanded yet has no items
    return dict(sorted(counts.items()))


def _step_of(key: str, planned: Mapping[str, TaskRecord]) -> str | None:
    """The node a planned task ``step[item]`` is an item of: a step of a mapped
    sub-pipeline, planned once per item (``per_customer.train[acme]``)."""
    if not key.endswith("]") or "[" not in key:
        return None
    step = key[: key.rindex("[")]
    return step if step not in planned else None


def run_graph(
    run_id: str,
    shape: GraphShape,
    layout: Mapping[str, Placed],
    planned: Sequence[TaskRecord],
    counts: Mapping[str, Mapping[str, int]],
) -> RunGraph:
    """``shape`` laid out by ``layout``, each node with its state in run ``run_id``: its
    ``planned`` task records, and its map items' ``counts`` per state (by mapped task)."""
    layers, width, nodes, edges = _drawn(shape, layout, planned, counts)
    return RunGraph(
        run_id=run_id,
        fingerprint=shape.fingerprint,
        layers=layers,
        width=width,
        nodes=nodes,
        edges=edges,
    )


def pipeline_graph(
    *,
    name: str,
    target: str,
    pipeline: str,
    shape: GraphShape,
    layout: Mapping[str, Placed],
    params: Sequence[ParamField],
) -> PipelineGraph:
    """Pipeline ``name`` (``target``) as :func:`run_graph` draws a run of it, with no run:
    no node has a state, and its run parameters."""
    layers, width, nodes, edges = _drawn(shape, layout, (), {})
    return PipelineGraph(
        name=name,
        pipeline=pipeline,
        target=target,
        fingerprint=shape.fingerprint,
        layers=layers,
        width=width,
        nodes=nodes,
        edges=edges,
        params=tuple(params),
    )


def _drawn(
    shape: GraphShape,
    layout: Mapping[str, Placed],
    planned: Sequence[TaskRecord],
    counts: Mapping[str, Mapping[str, int]],
) -> tuple[int, int, tuple[GraphNode, ...], tuple[GraphEdge, ...]]:
    """The layers, the width, the nodes (with their states in ``planned`` and their items'
    ``counts``) and the edges."""
    by_key = {r.key: r for r in planned}
    order_only = set(shape.after)
    grouped = {group: Counter(by_state) for group, by_state in counts.items()}
    for record in planned:  # a mapped sub-pipeline's steps are planned once per item
        step = _step_of(record.key, by_key)
        if step is not None:
            grouped.setdefault(step, Counter())[record.state.value] += 1
    nodes = []
    for node in shape.nodes:
        task = by_key.get(node.key)
        placed = layout[node.key]
        nodes.append(
            GraphNode(
                key=node.key,
                name=node.name,
                mapped=node.mapped,
                layer=placed.layer,
                order=placed.order,
                state=task.state.value if task is not None else None,
                items=_items(node.mapped, grouped.get(node.key)),
                role=node.role,
            )
        )
    return (
        1 + max((p.layer for p in layout.values()), default=-1),
        max(Counter(p.layer for p in layout.values()).values(), default=0),
        tuple(nodes),
        tuple(
            GraphEdge(source=up, target=down, after=(up, down) in order_only)
            for up, down in shape.edges
        ),
    )
