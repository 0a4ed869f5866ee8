# ruff: noqa: RUF001 - the multiplication sign in map labels is on purpose
"""``pipeline.graph``: nodes, edges and parameters, and its three drawings."""

from __future__ import annotations

import dataclasses
import re

import authoring_pipelines as ap
import pytest

import legato
from legato.define import Graph, ParamSpec

ALL = [
    ap.small,
    ap.literal_fan_out,
    ap.runtime_fan_out,
    ap.broadcast,
    ap.map_over_param,
    ap.unpacking,
    ap.indexing,
    ap.same_task_twice,
    ap.unpacking_a_map,
    ap.uses_helper,
    ap.nested_helpers,
    ap.renamed_copies,
    ap.with_params,
    ap.returns_structure,
]


def test_nodes_edges_and_params() -> None:
    graph = ap.small.graph
    assert isinstance(graph, Graph)
    assert graph.pipeline == "small"
    assert list(graph.nodes) == ["load", "double", "total", "add"]
    assert graph.edges == (("load", "double"), ("double", "total"), ("total", "add"))
    assert graph.params == (ParamSpec(name="k", default=2, annotation="int"),)
    assert not graph.params[0].required
    assert graph.nodes["add"].params == ("k",)
    assert graph.nodes["add"].upstream == ("total",)
    assert graph.nodes["double"].mapped is not None
    assert graph.downstream() == {
        "load": ["double"],
        "double": ["total"],
        "total": ["add"],
        "add": [],
    }


def test_required_and_optional_params_in_order() -> None:
    params = ap.with_params.graph.params
    assert [(p.name, p.required) for p in params] == [
        ("rows", True),
        ("scale_by", False),
        ("name", False),
    ]
    assert [p.default for p in params[1:]] == [3, "run"]


@pytest.mark.parametrize("flow", ALL, ids=lambda flow: flow.name)
def test_nodes_are_in_an_order_where_inputs_come_first(flow: legato.Pipeline[..., object]) -> None:
    graph = flow.graph
    position = {key: i for i, key in enumerate(graph.nodes)}
    for up, down in graph.edges:
        assert position[up] < position[down]
    assert all(node.key == key for key, node in graph.nodes.items())


def test_the_graph_is_frozen() -> None:
    graph = ap.small.graph
    with pytest.raises(dataclasses.FrozenInstanceError):
        graph.pipeline = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        graph.nodes["extra"] = graph.nodes["load"]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        graph.nodes["load"].key = "other"  # type: ignore[misc]
    assert list(ap.small.graph.nodes) == ["load", "double", "total", "add"]


# ------------------------------------------------------------------- exact drawings

SMALL_TEXT = """\
pipeline small: 3 tasks + 1 map sized at run time, parameters: k=2
  load
  double[×?]  <- load
  total       <- double
  add         <- total, param k"""

SMALL_MERMAID = """\
flowchart TD
  p_k(["k"])
  n0["load"]
  n1[["double[×?]"]]
  n2["total"]
  n3["add"]
  n0 --> n1
  n1 --> n2
  n2 --> n3
  p_k -.-> n3"""

SMALL_DOT = """\
digraph "small" {
  rankdir=TB;
  node [shape=box];
  "load" [label="load"];
  "double" [label="double[×?]", peripheries=2];
  "total" [label="total"];
  "add" [label="add"];
  "load" -> "double";
  "double" -> "total";
  "total" -> "add";
}"""


def test_text_rendering_is_exact() -> None:
    assert ap.small.graph.render_text() == SMALL_TEXT


def test_mermaid_rendering_is_exact() -> None:
    assert ap.small.graph.to_mermaid() == SMALL_MERMAID


def test_dot_rendering_is_exact() -> None:
    assert ap.small.graph.to_dot() == SMALL_DOT


def test_text_shows_known_map_sizes_and_required_params() -> None:
    text = ap.broadcast.graph.render_text()
    assert text.splitlines()[0] == (
        "pipeline broadcast: 9 tasks (7 map items) + 1 map sized at run time, parameters: factor=10"
    )
    assert re.search(r"^  scale\[×3\] +<- param factor$", text, re.M)
    assert re.search(r"^  add\[×2\]$", text, re.M)
    assert re.search(r"^  add_2\[×\?\] +<- load, load_2$", text, re.M)
    head = ap.with_params.graph.render_text().splitlines()[0]
    assert head == "pipeline with_params: 2 tasks, parameters: rows, scale_by=3, name='run'"


@pytest.mark.parametrize("flow", ALL, ids=lambda flow: flow.name)
def test_every_drawing_has_every_node_and_edge(flow: legato.Pipeline[..., object]) -> None:
    graph = flow.graph
    text = graph.render_text()
    lines = text.splitlines()[1:]
    assert len(lines) == len(graph.nodes)
    for line, node in zip(lines, graph.nodes.values(), strict=True):
        assert line.split()[0].startswith(node.key)
        inputs = [*node.upstream, *(f"param {p}" for p in node.params)]
        if inputs:
            assert line.endswith("<- " + ", ".join(inputs))

    mermaid = graph.to_mermaid()
    ids = dict(re.findall(r'^  (n\d+)\[+"([^"]+)"\]+$', mermaid, re.M))
    by_label = {label.split("[×")[0]: node_id for node_id, label in ids.items()}
    assert set(by_label) == set(graph.nodes)
    for up, down in graph.edges:
        assert f"  {by_label[up]} --> {by_label[down]}" in mermaid.splitlines()
    for node in graph.nodes.values():
        for param in node.params:
            assert f"  p_{param} -.-> {by_label[node.key]}" in mermaid.splitlines()

    dot = graph.to_dot()
    for key in graph.nodes:
        assert f'  "{key}" [label="{key}' in dot
    for up, down in graph.edges:
        assert f'  "{up}" -> "{down}";' in dot.splitlines()
    assert dot.count(" -> ") == len(graph.edges)


def test_drawings_quote_awkward_names() -> None:
    quoted = ap.inc.with_options(name="say.hello-world")

    @legato.pipeline(name="odd.name")
    def flow() -> object:
        return quoted(1)

    assert '"say.hello-world" [label="say.hello-world"];' in flow.graph.to_dot()
    assert 'digraph "odd.name" {' in flow.graph.to_dot()
    assert 'n0["say.hello-world"]' in flow.graph.to_mermaid()
