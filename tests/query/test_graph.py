"""The layered layout (property-tested on random DAGs): every edge points down, each layer's
places are 0..n-1, a node sits right below its inputs' longest path, and the same DAG is
laid out the same way."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from legato.query.graph import layered


@st.composite
def dags(draw: st.DrawFn) -> tuple[list[str], list[tuple[str, str]]]:
    size = draw(st.integers(min_value=0, max_value=30))
    keys = [f"t{i}" for i in range(size)]
    edges = [
        (keys[a], keys[b])
        for b in range(size)
        for a in draw(st.sets(st.integers(min_value=0, max_value=max(b - 1, 0)), max_size=3))
        if a < b
    ]
    return keys, edges


@given(dags())
def test_a_layout_points_every_edge_down(dag: tuple[list[str], list[tuple[str, str]]]) -> None:
    keys, edges = dag
    placed = layered(keys, edges)
    assert set(placed) == set(keys)
    for up, down in edges:
        assert placed[up].layer < placed[down].layer
    for key in keys:
        inputs = [up for up, down in edges if down == key]
        expected = 1 + max((placed[u].layer for u in inputs), default=-1)
        assert placed[key].layer == expected
    layers: dict[int, list[int]] = {}
    for p in placed.values():
        layers.setdefault(p.layer, []).append(p.order)
    for orders in layers.values():
        assert sorted(orders) == list(range(len(orders)))
    assert layered(keys, edges) == placed


def test_a_diamond_keeps_its_branches_side_by_side() -> None:
    placed = layered(["a", "b", "c", "d"], [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")])
    assert [(placed[k].layer, placed[k].order) for k in "abcd"] == [(0, 0), (1, 0), (1, 1), (2, 0)]
