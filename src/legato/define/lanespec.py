"""What a mapped sub-pipeline is in a graph: a *lane* (``per_customer.map(customers)``)
and the binding of one item's value inside it. Pure data: the tracer makes it
(:mod:`legato.define.lanes`), the plan unrolls it (:mod:`legato.engine.lanes`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from legato.model.ids import SourceLocation
from legato.model.values import Arg

__all__ = ["Lane", "LaneItem", "maps_per_item"]


@dataclass(frozen=True, slots=True)
class LaneItem(Arg):
    """Inside a lane, the current item of the list given for the sub-pipeline's parameter
    ``source`` (indexed by ``path``). The plan replaces it by the item's value."""

    lane: str
    source: str
    path: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Lane:
    """One call of ``sub_pipeline.map(...)``: the sub-pipeline's body traced once, each of
    its task calls that reads an item (directly or through another such call) a node of
    the lane, run once per item; each item's chain is planned apart, so an item's next step
    waits only for that item's previous one."""

    key: str
    """The scope of its nodes (``per_customer``: nodes ``per_customer.clean``...)."""
    pipeline: str
    """The sub-pipeline's name."""
    sources: tuple[tuple[str, Arg], ...]
    """The mapped parameters of the sub-pipeline and their lists: a literal list
    (:class:`~legato.model.values.Lit`) or a run parameter."""
    keyed: tuple[str, ...] = ()
    """The sources wrapped in ``keyed(...)``, which name the items."""
    by: tuple[Callable[[Any], Any] | None, ...] = ()
    """For each keyed source, the function that makes a key of an item (None: the item)."""
    size: int | None = None
    """How many items, when every list is known as the pipeline is defined."""
    keys: tuple[str, ...] | None = None
    """The item keys, when known as the pipeline is defined; else made from the run's
    parameters (keyed) or numbered."""
    output: str | None = None
    """The node whose per-item outputs are the lane's result."""
    location: SourceLocation | None = None
    """The line of the ``.map(...)`` call."""


def maps_per_item(node: Any) -> bool:
    """Whether a step of a lane is itself a map, run per item (``score.map(chunks)`` in the
    sub-pipeline: ``per_file.score[a][0]``...). A plain step's ``MapSpec`` maps over none of
    its arguments: it only draws the step as a map of the lane's items."""
    mapped = node.mapped
    return node.lane is not None and mapped is not None and bool(mapped.positions or mapped.names)
