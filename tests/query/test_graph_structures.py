"""A run's graph as the API draws it, for order-only edges and mapped sub-pipelines: the
shape the server reads from ``graph_child`` marks wait-only edges (``after=``, a branch's
decision), and a step planned once per item counts its items per state like a map, a
branch decided per item its taken and skipped items."""

from __future__ import annotations

import io
import json
from collections import Counter
from contextlib import redirect_stdout
from pathlib import Path

import item_branches as ib
import lane_pipelines as lanes
import ordered_pipelines as ordered

import legato
from legato.model.records import TaskRecord
from legato.query.graph import GraphShape, ShapeNode, layered, run_graph
from legato.server.graph_child import main as graph_child


def _shape(target: str) -> GraphShape:
    out = io.StringIO()
    with redirect_stdout(out):
        assert graph_child([target]) == 0
    found = json.loads(out.getvalue())
    return GraphShape(
        fingerprint=found["fingerprint"],
        nodes=tuple(ShapeNode(**n) for n in found["nodes"]),
        edges=tuple((up, down) for up, down in found["edges"]),
        after=tuple((up, down) for up, down in found["after"]),
    )


def _as_stored(
    result: legato.RunResult,
) -> tuple[list[TaskRecord], dict[str, Counter[str]]]:
    """The run's records as the store answers them: its planned tasks, and its map items
    counted per state by map."""
    counts: dict[str, Counter[str]] = {}
    for record in result.tasks.values():
        if record.parent is not None:
            counts.setdefault(record.parent, Counter())[record.state.value] += 1
    return [r for r in result.tasks.values() if r.parent is None], counts


def test_an_order_only_edge_is_drawn_as_one(ledger: Path) -> None:
    shape = _shape("ordered_pipelines:ordered")
    assert shape.after == (("write_table", "count_rows"),)
    result = legato.run(ordered.ordered, executor="inline")
    layout = layered([n.key for n in shape.nodes], shape.edges)
    graph = run_graph(result.run_id, shape, layout, *_as_stored(result))
    (edge,) = graph.edges
    assert (edge.source, edge.target, edge.after) == ("write_table", "count_rows", True)
    assert [n.layer for n in graph.nodes] == [0, 1]


def test_a_mapped_sub_pipeline_step_counts_its_items(ledger: Path) -> None:
    shape = _shape("lane_pipelines:every_customer")
    assert [n.key for n in shape.nodes if n.mapped] == ["per_customer.clean", "per_customer.train"]
    (ledger.parent / "bolt").touch()
    result = legato.run(lanes.every_customer, executor="threads")
    layout = layered([n.key for n in shape.nodes], shape.edges)
    graph = run_graph(result.run_id, shape, layout, *_as_stored(result))
    nodes = {n.key: n for n in graph.nodes}
    assert nodes["per_customer.clean"].items == {"failed": 1, "succeeded": 2}
    assert nodes["per_customer.train"].items == {"succeeded": 2, "upstream_failed": 1}
    assert nodes["summarize"].state == "upstream_failed"
    assert all(not e.after for e in graph.edges)


def test_a_branch_decided_per_item_counts_its_taken_and_skipped_items() -> None:
    shape = _shape("item_branches:every_customer")
    assert ("per_customer.when", "per_customer.retrain") in shape.after
    assert ("per_customer.otherwise", "per_customer.keep") in shape.after
    result = legato.run(ib.every_customer, executor="inline")
    layout = layered([n.key for n in shape.nodes], shape.edges)
    graph = run_graph(result.run_id, shape, layout, *_as_stored(result))
    nodes = {n.key: n for n in graph.nodes}
    assert nodes["per_customer.when"].role == "branch"
    assert nodes["per_customer.when"].items == {"succeeded": 2, "skipped": 2}
    assert nodes["per_customer.keep"].items == {"succeeded": 2, "skipped": 2}
    assert nodes["per_customer.one_of"].items == {"succeeded": 4}
    assert nodes["summary"].state == "succeeded"
    after = {(e.source, e.target) for e in graph.edges if e.after}
    assert after == {
        ("per_customer.when", "per_customer.retrain"),
        ("per_customer.when", "per_customer.page"),
        ("per_customer.otherwise", "per_customer.keep"),
    }
