"""A pipeline's version: one digest of its structure and the code of every task, stored with
each run (a run resumes only under the version it started with) and compared by the cache.

Order-only edges and lanes enter the digest only where a graph has some, so pipelines that
use neither keep the digest they had before those existed.
"""

from __future__ import annotations

from collections.abc import Callable

from legato.define.code_objects import FORMAT, PYTHON, Token, digest_with_list
from legato.define.graph import Graph, MapSpec, Node
from legato.define.lanespec import LaneItem
from legato.model.values import Arg, Dict, Given, Lit, Param, Ref, Seq

__all__ = ["version_of"]

Code = Callable[[object], str]
"""The code fingerprint of a function or value (:meth:`Fingerprinter.code`)."""


def version_of(graph: Graph, code: Code) -> str:
    """Hex digest of a pipeline's version: its structure (node keys, task names, bindings
    between nodes, map specs, literal arguments, run parameters and their defaults, the
    output binding) and the code fingerprint of every task.

    Task options (retries, timeouts, resources, tags) and the failure policy are left
    out: they change how a run goes, not what it computes.
    """
    nodes = (  # a generator: made and hashed a thousand at a time
        (
            node.key,
            node.name,
            code(node.spec.fn),
            tuple(_arg(a, code) for a in node.args),
            tuple((name, _arg(a, code)) for name, a in node.kwargs),
            None if node.mapped is None else _map(node.mapped, code),
            _edges(node),
            *(() if node.lane is None else (("lane", node.lane),)),
        )
        for node in graph.nodes.values()
    )
    params = tuple((p.name, None if p.required else code(p.default)) for p in graph.params)
    output = _arg(graph.output, code)
    lanes = tuple(
        (
            lane.key,
            lane.pipeline,
            tuple((name, _arg(arg, code)) for name, arg in lane.sources),
            lane.keyed,
            tuple(map(code, lane.by)),
            lane.output,
        )
        for lane in graph.lanes.values()
    )
    head = (FORMAT, PYTHON, "graph", graph.pipeline, params, output)
    return digest_with_list(head, nodes, len(graph.nodes), (lanes,) if lanes else ())


def _map(spec: MapSpec, code: Code) -> Token:
    # Field by field: the item key functions hash as code (their repr holds an address).
    keys = spec.keys
    return (
        spec.positions,
        spec.names,
        spec.length,
        spec.size,
        None if keys is None else (keys.args, tuple(map(code, keys.by)), keys.known),
    )


def _arg(arg: Arg, code: Code) -> Token:
    if isinstance(arg, Lit):  # literals hash like code: they may hold functions
        return ("lit", code(arg.value))
    if isinstance(arg, Param):
        return ("param", arg.name)
    if isinstance(arg, Ref):
        return ("ref", arg.node, code(arg.path))
    if isinstance(arg, Seq):
        return ("seq", arg.as_tuple, *(_arg(a, code) for a in arg.items))
    if isinstance(arg, Dict):
        return ("dict", *((code(k), _arg(v, code)) for k, v in arg.items))
    if isinstance(arg, Given):
        return ("given", arg.source, code(arg.path))
    if isinstance(arg, LaneItem):
        return ("lane", arg.lane, arg.source, code(arg.path))
    return ("arg", type(arg).__qualname__)


def _edges(node: Node) -> Token:
    """A node's dependencies as digests have always written them, so that recorded versions
    keep theirs: its edges as one list, with its wait-only edges apart where it has some
    outside every branch and ``finally_()`` block (there they can only be ``after=``'s)."""
    if not node.after or node.branches or node.final:
        return node.upstream
    reads = tuple(up for up in node.upstream if up not in node.waits)
    return (reads, node.after)
