"""Order-only edges (``after=``) in the graph: resolved once the body is traced, ordered,
drawn dashed, and every misuse refused with an error that names the task, points at the
line of the ``after=`` and says how to fix it."""

from __future__ import annotations

from pathlib import Path

import ordered_pipelines as ordered
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import legato
from legato import DefinitionError
from legato.define.graph import Node
from legato.define.ordering import AfterTargets, order_nodes
from legato.model.values import Ref

from .checks import assert_definition_error

ERRORS = [
    (
        ordered.cycle_through_after,
        "after_cycle",
        "train",
        ["'train'", "'evaluate'", "train → evaluate → train", "cycle"],
    ),
    (ordered.after_itself, "after_itself", "train", ["'train'", "after itself"]),
    (
        ordered.after_task_never_called,
        "after_never_called",
        "train",
        ["'train'", "'write_table'", "never calls"],
    ),
    (ordered.after_not_a_task, "after_not_a_task", "train", ["after= of task 'train'"]),
]


@pytest.mark.parametrize("case", ERRORS, ids=lambda case: case[1])
def test_a_bad_after_names_the_task_the_line_and_a_fix(
    case: tuple[legato.Pipeline[..., object], str, str, list[str]],
) -> None:
    flow, kind, task, words = case
    with pytest.raises(DefinitionError) as info:
        _ = flow.graph
    err = info.value
    assert_definition_error(err, ordered, kind, *words)
    assert err.task == task
    assert err.pipeline == flow.name


def test_the_cycle_error_says_which_edge_to_take_out() -> None:
    with pytest.raises(DefinitionError) as info:
        _ = ordered.cycle_through_after.graph
    assert "take 'evaluate' out of the after= of 'train'" in info.value.fix


def test_an_after_edge_is_a_wait_only_edge_and_no_input() -> None:
    graph = ordered.ordered.graph
    node = graph.nodes["count_rows"]
    assert node.after == ("write_table",)
    assert node.waits == ("write_table",)  # it reads nothing
    assert node.upstream == ("write_table",)  # but waits for it
    assert not node.args
    assert graph.order_edges == (("write_table", "count_rows"),)
    assert ("write_table", "count_rows") in graph.edges
    assert graph.downstream()["write_table"] == ["count_rows"]


def test_a_task_named_in_after_is_every_call_of_it_even_a_later_one() -> None:
    graph = ordered.forward_after.graph
    # Traced first, it runs after the write_table called below it: the order changes.
    assert list(graph.nodes) == ["write_table", "count_rows"]
    assert graph.nodes["count_rows"].after == ("write_table",)


def test_a_map_runs_after_too() -> None:
    assert ordered.mapped_after.graph.nodes["scale"].after == ("write_table",)


def test_a_task_with_a_parameter_named_after_receives_it() -> None:
    node = ordered.task_with_after_parameter.graph.nodes["schedule"]
    assert node.after == ()
    assert dict(node.kwargs)["after"].value == "lunch"  # type: ignore[attr-defined]


def test_outside_a_pipeline_after_is_dropped(ledger: Path) -> None:
    assert ordered.scale(2, 3, after=[ordered.write_table]) == 6
    assert ordered.scale.map([1, 2], 3, after=["anything"]) == [3, 6]
    assert ordered.schedule(after="lunch") == "after lunch"  # its own parameter


def test_drawings_mark_order_only_edges() -> None:
    graph = ordered.ordered.graph
    assert graph.render_text().splitlines()[-1].split() == [
        "count_rows",
        "<-",
        "after",
        "write_table",
    ]
    assert "n0 -. after .-> n1" in graph.to_mermaid()
    assert '"write_table" -> "count_rows" [style=dashed, label="after"];' in graph.to_dot()


def test_after_changes_the_fingerprint() -> None:
    from legato.define.fingerprint import Fingerprinter

    @legato.pipeline(name="ordered")
    def unordered() -> int:
        ordered.write_table([1, 2, 3])
        return ordered.count_rows()

    assert Fingerprinter().graph(unordered.graph) != Fingerprinter().graph(ordered.ordered.graph)


def _any(*inputs: int) -> int:
    return len(inputs)


_SPEC = legato.task(_any).spec


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_random_dags_with_after_edges_are_ordered_or_refused(data: st.DataObject) -> None:
    size = data.draw(st.integers(1, 10))
    keys = [f"t{i}" for i in range(size)]
    reads = {
        b: data.draw(st.sets(st.integers(0, b - 1), max_size=3)) if b else set()
        for b in range(size)
    }
    pairs = st.tuples(st.integers(0, size - 1), st.integers(0, size - 1))
    after: dict[int, set[int]] = {}
    for down, up in data.draw(st.lists(pairs.filter(lambda p: p[0] != p[1]), max_size=6)):
        after.setdefault(down, set()).add(up)
    nodes = {
        keys[b]: Node(
            key=keys[b], spec=_SPEC, args=tuple(Ref(keys[a]) for a in sorted(ups)), kwargs=()
        )
        for b, ups in reads.items()
    }
    targets = {
        keys[d]: AfterTargets(tuple(keys[u] for u in sorted(ups)), (), None)
        for d, ups in after.items()
    }
    waits = {keys[b]: {keys[a] for a in reads[b] | after.get(b, set())} for b in range(size)}
    if _acyclic(waits):
        ordered_nodes = order_nodes("random", nodes, targets)
        assert sorted(ordered_nodes) == sorted(keys)
        seen: set[str] = set()
        for key, node in ordered_nodes.items():
            assert set(node.upstream) | set(node.after) <= seen  # everything it waits for first
            assert set(node.after) == {keys[u] for u in after.get(keys.index(key), set())}
            seen.add(key)
    else:
        with pytest.raises(DefinitionError) as info:
            order_nodes("random", nodes, targets)
        assert "cycle" in info.value.problem
        assert info.value.task in targets  # the task whose after= closes the cycle
        assert "after=" in info.value.fix


def _acyclic(waits: dict[str, set[str]]) -> bool:
    left = {k: set(v) for k, v in waits.items()}
    while left:
        free = [k for k, v in left.items() if not v]
        if not free:
            return False
        for key in free:
            del left[key]
        for v in left.values():
            v.difference_update(free)
    return True
