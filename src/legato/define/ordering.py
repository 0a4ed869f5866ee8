"""Order-only edges: ``train(x, after=[write_table])`` runs ``train`` once ``write_table``
has succeeded, although it reads nothing of its output (it depends on its effect: a table
written, a file uploaded).

A target is the placeholder of one call (``after=[written]``) or a task (``after=[write]``:
every call of it in the pipeline, also calls made later in the body, which is why targets are
resolved once the whole body is traced). A data edge always points at an earlier call, so the
trace order is a topological order; an ``after=`` edge may point at a later one, so the
nodes are ordered again here, and a cycle (``train`` after ``evaluate``, which reads
``train``) is a :class:`~legato.errors.DefinitionError` naming the task and the line of its
``after=``.

An order-only edge is no input: it is not part of a cache key (the value is not read), and
a failed or cancelled target blocks the task as a failed input does. It is a wait-only edge
(``Node.after``) like those a branch or a ``finally_()`` block adds
(:mod:`legato.define.blocks`), which all point at earlier calls: every cycle has a step
that points at a later call, and that step is an ``after=``.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from legato.define.graph import Node
from legato.errors import DefinitionError
from legato.model.ids import SourceLocation

__all__ = ["AFTER", "AfterTargets", "order_nodes", "takes_after"]

AFTER = "after"
"""The keyword of a task call that holds its order-only targets."""


@dataclass(frozen=True, slots=True)
class AfterTargets:
    """What one call's ``after=`` named, before the body is traced to the end."""

    calls: tuple[str, ...]
    """Keys of the calls named by their placeholders."""
    tasks: tuple[str, ...]
    """Names of the tasks named as tasks (every call of each)."""
    location: SourceLocation | None


def takes_after(signature_params: Mapping[str, Any]) -> bool:
    """Whether a task's own function has a parameter ``after`` (which then gets the
    keyword: legato's ``after=`` never shadows a parameter of the task)."""
    return AFTER in signature_params


def order_nodes(
    pipeline: str, nodes: Mapping[str, Node], targets: Mapping[str, AfterTargets]
) -> dict[str, Node]:
    """``nodes`` with the targets of each call's ``after=`` added to its ``after`` keys, in
    an order where every node follows what it waits for (the trace order where it already
    is one); raises :class:`~legato.errors.DefinitionError` for a task never
    called or a cycle."""
    if not targets:
        return dict(nodes)
    by_name: dict[str, list[str]] = {}
    for key, node in nodes.items():
        by_name.setdefault(node.name, []).append(key)
    resolved = dict(nodes)
    for key, named in targets.items():
        after: dict[str, None] = dict.fromkeys((*nodes[key].after, *named.calls))
        for name in named.tasks:
            calls = by_name.get(name)
            if not calls:
                raise DefinitionError(
                    f"task {key!r} is to run after task {name!r}, which pipeline "
                    f"{pipeline!r} never calls",
                    fix=f"call {name}(...) in the pipeline body, or take it out of after=",
                    task=key,
                    pipeline=pipeline,
                    location=named.location,
                )
            after.update(dict.fromkeys(calls))
        if key in after:
            raise DefinitionError(
                f"task {key!r} is to run after itself (after= names {key!r})",
                fix=f"take {key!r} out of the after= of this call",
                task=key,
                pipeline=pipeline,
                location=named.location,
            )
        resolved[key] = replace(nodes[key], after=tuple(after))
    return _topological(pipeline, resolved, targets)


def _topological(
    pipeline: str, nodes: dict[str, Node], targets: Mapping[str, AfterTargets]
) -> dict[str, Node]:
    """Kahn's order, the earliest traced node first among those ready: the trace order
    where it already is one."""
    position = {key: i for i, key in enumerate(nodes)}
    waits = {key: len(n.upstream) for key, n in nodes.items()}
    users: dict[str, list[str]] = {key: [] for key in nodes}
    for key, node in nodes.items():
        for up in node.upstream:
            users[up].append(key)
    ready = [position[k] for k, n in waits.items() if n == 0]
    heapq.heapify(ready)
    keys = list(nodes)
    out: dict[str, Node] = {}
    while ready:
        key = keys[heapq.heappop(ready)]
        out[key] = nodes[key]
        for user in users[key]:
            waits[user] -= 1
            if waits[user] == 0:
                heapq.heappush(ready, position[user])
    if len(out) == len(nodes):
        return out
    raise _cycle_error(pipeline, nodes, out, targets)


def _cycle_error(
    pipeline: str,
    nodes: Mapping[str, Node],
    placed: Mapping[str, Node],
    targets: Mapping[str, AfterTargets],
) -> DefinitionError:
    """The error for the cycle among the nodes not ``placed``, named from its ``after=``
    edge: the step that points at a later call (every other edge points backwards)."""
    cycle = _find_cycle({k: n for k, n in nodes.items() if k not in placed})
    position = {key: i for i, key in enumerate(nodes)}
    # cycle[i] waits for cycle[i + 1]; find the step that points forwards.
    for i, key in enumerate(cycle):
        target = cycle[(i + 1) % len(cycle)]
        if position[target] > position[key]:
            break
    else:  # pragma: no cover - edges that all point backwards cannot close a cycle
        key, target = cycle[0], cycle[1 % len(cycle)]
    path = _path_text(cycle, key)
    return DefinitionError(
        f"task {key!r} is to run after {target!r} (after=), but {target!r} itself waits for "
        f"{key!r}: {path} is a cycle (each waits for the next), so none of them could ever "
        "start",
        fix=f"take {target!r} out of the after= of {key!r}, or reorder the steps so that "
        f"{target!r} neither reads the output of {key!r} nor runs after it",
        task=key,
        pipeline=pipeline,
        location=targets[key].location if key in targets else nodes[key].location,
    )


def _find_cycle(nodes: Mapping[str, Node]) -> list[str]:
    """A cycle among ``nodes`` (each waits for the next, the last for the first)."""
    waits = {k: [u for u in n.upstream if u in nodes] for k, n in nodes.items()}
    start = next(iter(nodes))
    seen: dict[str, int] = {}
    walk: list[str] = []
    key = start
    while key not in seen:  # every unplaced node waits for another unplaced node
        seen[key] = len(walk)
        walk.append(key)
        key = waits[key][0]
    return walk[seen[key] :]


def _path_text(cycle: Sequence[str], first: str) -> str:
    """``train → evaluate → train``, read as "runs after"."""
    i = cycle.index(first)
    ordered = [*cycle[i:], *cycle[:i], first]
    return " → ".join(ordered)
