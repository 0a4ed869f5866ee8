"""Unrolling mapped sub-pipelines (:mod:`legato.define.lanes`) into the tasks a run plans.

A lane's step ``per_customer.train`` becomes one task per item,
``per_customer.train[acme]`` (``[0]``... when the items are numbered), reading the same
item's earlier steps (``per_customer.clean[acme]``) and the item's own value as a literal;
a reader outside the lane gets the list of every item's output. So each item's chain is
an ordinary chain of tasks: an item's next step is ready as soon as that item's previous
step succeeded, whatever the other items do, and caching, resume (only the steps that did
not succeed run again) and crash recovery need nothing new. Pure: the run parameters are
the only values it reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from legato.define.graph import Graph, ItemKeys, MapSpec, Node
from legato.define.itemkeys import Inherited, make_item_keys
from legato.define.lanespec import Lane, LaneItem, maps_per_item
from legato.errors import ParameterError
from legato.model.items import ItemKeyError, item_key
from legato.model.values import Arg, Dict, Lit, Param, Ref, Seq

__all__ = ["unroll"]

_Item = tuple[str, int]
"""A lane's key and an item's position in it."""


def unroll(graph: Graph, params: Mapping[str, Any]) -> Graph:
    """``graph`` with every lane's steps made one node per item; ``graph`` itself when it
    has no lane. Raises :class:`~legato.errors.ParameterError` for a run parameter a lane
    cannot map over."""
    if not graph.lanes:
        return graph
    return _Unroller(graph, params).graph()


class _Unroller:
    def __init__(self, graph: Graph, params: Mapping[str, Any]) -> None:
        self.source = graph
        self.params = params
        self.items: dict[str, list[dict[str, Any]]] = {}
        """Each lane's items: the value of each mapped parameter."""
        self.labels: dict[str, tuple[str, ...]] = {}
        """Each lane's item keys (numbers when its items are numbered)."""
        self.keyed: dict[str, bool] = {}
        self.steps: dict[str, tuple[str, ...]] = {}
        """Each lane step's node keys, one per item."""
        for lane in graph.lanes.values():
            self._items(lane)

    def graph(self) -> Graph:
        nodes: dict[str, Node] = {}
        for key, node in self.source.nodes.items():
            if node.lane is None:
                nodes[key] = self._outside(node)
                continue
            keys = []
            for i, label in enumerate(self.labels[node.lane]):
                made = item_key(key, label)
                keys.append(made)
                at = (node.lane, i)
                mapped = node.mapped if maps_per_item(node) else None
                nodes[made] = self._node(node, made, at, mapped)
            self.steps[key] = tuple(keys)
        source = self.source
        return Graph(
            pipeline=source.pipeline,
            nodes=nodes,
            params=source.params,
            output=self._arg(source.output, None),
            failure_policy=source.failure_policy,
        )

    # ------------------------------------------------------------------ items

    def _items(self, lane: Lane) -> None:
        lists: dict[str, list[Any]] = {}
        for source, arg in lane.sources:
            if isinstance(arg, Param):
                value = self.params[arg.name]
                if not isinstance(value, list | range):
                    raise ParameterError(
                        f"run parameter {arg.name!r} is mapped over by {lane.pipeline}.map(...), "
                        f"so it must be a list, not a {type(value).__name__}: pass a list, "
                        f"e.g. {arg.name}=[...]"
                    )
                lists[source] = list(value)
            else:
                assert isinstance(arg, Lit)
                lists[source] = list(arg.value)
        lengths = {len(v) for v in lists.values()}
        if len(lengths) > 1:
            raise ParameterError(
                f"{lane.pipeline}.map(...) in pipeline {self.source.pipeline!r} was given lists "
                f"of different lengths {sorted(lengths)} by the run parameters: pass lists of "
                "equal length (items are paired by position)"
            )
        count = lengths.pop()
        self.items[lane.key] = [{s: v[i] for s, v in lists.items()} for i in range(count)]
        self.keyed[lane.key] = bool(lane.keyed)
        if lane.keys is not None:
            self.labels[lane.key] = lane.keys
        elif lane.keyed:
            spec = ItemKeys(args=lane.keyed, by=lane.by)
            try:
                self.labels[lane.key] = make_item_keys(
                    lane.pipeline, spec, [lists[s] for s in lane.keyed]
                )
            except ItemKeyError as exc:
                raise ParameterError(
                    f"pipeline {self.source.pipeline!r} with these run parameters: {exc}; "
                    f"fix: {exc.fix}"
                ) from exc.__cause__
        else:
            self.labels[lane.key] = tuple(str(i) for i in range(count))

    # ------------------------------------------------------------------ bindings

    def _outside(self, node: Node) -> Node:
        """A node outside every lane: what it reads of a lane is every item's output."""
        mapped = node.mapped
        if mapped is not None and mapped.keys is not None and mapped.keys.known is None:
            mapped = self._inherit_keys(node)
        # A lane of no items has no task to wait for, but the branches it is in still
        # decide: what reads it waits for their decisions (a join then knows it ran).
        empty = [
            decided
            for up in node.upstream
            if up in self.steps and not self.steps[up]
            for decided in self.source.nodes[up].branches
        ]
        return self._node(node, node.key, None, mapped, tuple(empty))

    def _node(
        self,
        node: Node,
        key: str,
        at: _Item | None,
        mapped: MapSpec | None,
        waits: tuple[str, ...] = (),
    ) -> Node:
        """``node`` as planned for item ``at`` of its lane (None: outside every lane),
        keyed ``key``, waiting for ``waits`` too: what it reads and waits for made that
        item's (a step of the same lane) or every item's (a step of another)."""
        after = node.after if not waits else tuple(dict.fromkeys((*node.after, *waits)))
        return Node(
            key=key,
            spec=node.spec,
            args=tuple(self._arg(a, at) for a in node.args),
            kwargs=tuple((k, self._arg(a, at)) for k, a in node.kwargs),
            mapped=mapped,
            location=node.location,
            after=self._keys(after, at),
            branches=self._keys(node.branches, at),
            trigger=node.trigger,
            final=node.final,
            role=node.role,
            lane=node.lane,  # for a step, one item's step of the lane
        )

    def _inherit_keys(self, node: Node) -> MapSpec:
        """A keyed map over the whole output of a keyed lane: its item keys are the
        lane's, known now (the plan makes the keys of the others)."""
        assert node.mapped is not None
        assert node.mapped.keys is not None
        spec = node.mapped.keys
        kwargs = dict(node.kwargs)
        sources: list[Any] = []
        for where in spec.args:
            arg = node.args[where] if isinstance(where, int) else kwargs[where]
            if isinstance(arg, Ref) and arg.node in self.steps:
                lane = self.source.nodes[arg.node].lane
                assert lane is not None
                sources.append(Inherited(self.labels[lane]))
            elif isinstance(arg, Param):
                sources.append(list(self.params[arg.name]))
            elif isinstance(arg, Lit):
                sources.append(list(arg.value))
            else:
                return node.mapped  # an output of a keyed map: the plan inherits its keys
        try:
            known = make_item_keys(node.name, spec, sources)
        except ItemKeyError as exc:
            raise ParameterError(
                f"pipeline {self.source.pipeline!r} with these run parameters: {exc}; "
                f"fix: {exc.fix}"
            ) from exc.__cause__
        return replace(node.mapped, keys=replace(spec, known=known))

    def _arg(self, arg: Arg, at: _Item | None) -> Arg:
        if isinstance(arg, LaneItem):
            assert at is not None
            assert at[0] == arg.lane
            value = self.items[arg.lane][at[1]][arg.source]
            for step in arg.path:
                value = self._index(value, step, arg)
            return Lit(value)
        if isinstance(arg, Ref):
            steps = self.steps.get(arg.node)
            if steps is None:
                return arg
            lane = self.source.nodes[arg.node].lane
            if at is not None and at[0] == lane:
                return Ref(steps[at[1]], arg.path)
            if not arg.path:
                return Seq(tuple(Ref(k) for k in steps), as_tuple=False)
            head = arg.path[0]
            if isinstance(head, int) and -len(steps) <= head < len(steps):
                return Ref(steps[head], arg.path[1:])
            raise ParameterError(
                f"the output of {arg.node!r} (a list of {len(steps)} items, one per item of "
                f"the mapped sub-pipeline) is indexed with {head!r} in pipeline "
                f"{self.source.pipeline!r}: index it by item position, or pass it whole"
            )
        if isinstance(arg, Seq):
            return Seq(tuple(self._arg(a, at) for a in arg.items), arg.as_tuple)
        if isinstance(arg, Dict):
            return Dict(tuple((k, self._arg(a, at)) for k, a in arg.items))
        return arg

    def _index(self, value: Any, step: Any, arg: LaneItem) -> Any:
        try:
            return value[step]
        except (LookupError, TypeError) as exc:
            raise ParameterError(
                f"an item of {arg.source!r} in the mapped sub-pipeline {arg.lane!r} cannot be "
                f"indexed with {step!r} ({exc!r}): give every item that index"
            ) from None

    def _keys(self, keys: tuple[str, ...], at: _Item | None) -> tuple[str, ...]:
        """Node keys (what a node waits for, the branches it is in) as planned for item
        ``at``: a step of its own lane is that item's, of another lane every item's."""
        if not keys:
            return keys
        out: list[str] = []
        for key in keys:
            steps = self.steps.get(key)
            if steps is None:
                out.append(key)
            elif at is not None and self.source.nodes[key].lane == at[0]:
                out.append(steps[at[1]])
            else:
                out.extend(steps)
        return tuple(out)
