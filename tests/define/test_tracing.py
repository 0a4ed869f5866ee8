"""Tracing a pipeline body: task calls become nodes, results become placeholders that can be
unpacked, indexed, mapped over and handed to other tasks and to sub-pipelines."""

from __future__ import annotations

import authoring_pipelines as ap
import pytest

import legato
from legato.define import MapSpec, Output
from legato.define.tracing import current_tracer
from legato.model.values import Dict, Lit, Param, Ref, Seq


def run_output(flow: legato.Pipeline[..., object], **params: object) -> object:
    result = legato.run(flow, params, executor="inline", store=False)
    assert result.ok, result.failures()
    return result.output


def test_a_task_call_in_a_body_records_a_node_and_returns_a_placeholder() -> None:
    seen: list[object] = []

    @legato.pipeline
    def flow() -> object:
        out = ap.inc(1)
        seen.append(out)
        return out

    node = flow.graph.nodes["inc"]
    assert node.spec is ap.inc.spec
    assert node.args == (Lit(1),)
    assert node.kwargs == ()
    assert node.location is not None
    assert node.location.function == "flow"
    assert isinstance(seen[0], Output)
    assert "output of task 'inc'" in repr(seen[0])
    assert flow.graph.output == Ref("inc")
    assert current_tracer() is None  # tracing state does not leak out of the body


def test_the_body_is_traced_once_and_the_graph_cached() -> None:
    calls: list[int] = []

    @legato.pipeline
    def flow() -> object:
        calls.append(1)
        return ap.inc(1)

    assert flow.graph is flow.graph
    assert calls == [1]
    assert run_output(flow) == 2
    assert calls == [1]


def test_calling_the_same_task_twice_gives_numbered_keys() -> None:
    graph = ap.same_task_twice.graph
    assert list(graph.nodes) == ["inc", "inc_2"]
    assert graph.edges == (("inc", "inc_2"),)
    assert graph.nodes["inc_2"].args == (Ref("inc"),)
    assert run_output(ap.same_task_twice) == 3


def test_renamed_copies_of_one_function_are_separate_tasks() -> None:
    graph = ap.renamed_copies.graph
    assert list(graph.nodes) == ["inc", "inc_fast", "add"]
    assert graph.nodes["inc_fast"].spec.options.timeout == 1
    assert graph.nodes["inc"].spec.options.timeout is None
    assert run_output(ap.renamed_copies) == 5


# -------------------------------------------------------------------- several outputs


def test_a_tuple_annotated_task_unpacks_and_an_outputs_task_too() -> None:
    graph = ap.unpacking.graph
    assert ap.pair.spec.outputs == 2
    assert ap.split.spec.outputs == 2
    assert graph.nodes["label"].args == (Ref("pair", (0,)), Ref("pair", (1,)))
    assert graph.nodes["total"].args == (Ref("split", (0,)),)
    assert graph.nodes["total_2"].args == (Ref("split", (1,)),)
    assert run_output(ap.unpacking) == ("#7=7", 1, 5)


def test_outputs_can_be_indexed_by_position_and_key() -> None:
    graph = ap.indexing.graph
    assert graph.nodes["label"].args == (Ref("stats", ("sum",)), Ref("pair", (1,)))
    assert graph.output == Seq((Ref("label"), Ref("stats", ("n",))), as_tuple=True)
    assert run_output(ap.indexing) == ("#3=6", 3)


def test_a_map_over_a_literal_list_unpacks_into_its_items() -> None:
    graph = ap.unpacking_a_map.graph
    assert graph.nodes["add"].args == (Ref("double", (0,)), Ref("double", (2,)))
    assert run_output(ap.unpacking_a_map) == (8, 4)


def test_unannotated_results_have_no_fixed_count() -> None:
    assert ap.inc.spec.outputs is None
    assert ap.load.spec.outputs is None
    assert ap.stats.spec.outputs is None


def test_structures_of_outputs_are_bound_as_trees() -> None:
    graph = ap.returns_structure.graph
    assert graph.output == Dict(
        (
            ("a", Ref("inc")),
            ("pair", Seq((Ref("inc"), Ref("double")), as_tuple=True)),
            ("const", Lit(5)),
        )
    )
    assert run_output(ap.returns_structure) == {"a": 2, "pair": (2, 4), "const": 5}


# ------------------------------------------------------------------------------ fan-out


def test_map_over_a_literal_list_knows_its_length() -> None:
    node = ap.literal_fan_out.graph.nodes["double"]
    assert node.mapped == MapSpec(positions=(0,), names=(), length=3, size=3)
    assert run_output(ap.literal_fan_out) == [2, 4, 6]


def test_map_over_a_list_made_at_run_time() -> None:
    node = ap.runtime_fan_out.graph.nodes["inc"]
    assert node.mapped == MapSpec(positions=(0,), names=(), length=None)
    assert node.upstream == ("load",)
    assert run_output(ap.runtime_fan_out) == 2 + 3 + 4


def test_broadcasting_unmapped_and_plain_arguments() -> None:
    graph = ap.broadcast.graph
    scale = graph.nodes["scale"]
    assert scale.mapped == MapSpec(positions=(0,), names=(), length=3, size=3)
    assert scale.args == (Lit([1, 2, 3]), Param("factor"))
    assert scale.kwargs == (("offset", Lit(5)),)
    assert graph.nodes["add"].mapped == MapSpec(positions=(0, 1), names=(), length=2, size=2)
    # a list wrapped in unmapped() is given whole, the list of lists is mapped over
    assert graph.nodes["total"].mapped == MapSpec(positions=(0,), names=(), length=2, size=2)
    assert graph.nodes["add_2"].mapped == MapSpec(positions=(0,), names=(), length=None)
    assert run_output(ap.broadcast) == ([15, 25, 35], [11, 22], [3, 7], [2, 3, 4])
    assert run_output(ap.broadcast, factor=2) == ([7, 9, 11], [11, 22], [3, 7], [2, 3, 4])


def test_a_list_parameter_is_mapped_over_at_run_time() -> None:
    node = ap.map_over_param.graph.nodes["inc"]
    assert node.args == (Param("sizes"),)
    assert node.params == ("sizes",)
    assert run_output(ap.map_over_param, sizes=[1, 5]) == [2, 6]


def test_keyword_arguments_can_be_mapped() -> None:
    @legato.pipeline
    def flow() -> object:
        return ap.scale.map(x=[1, 2], factor=[3, 4])

    assert flow.graph.nodes["scale"].mapped == MapSpec(names=("x", "factor"), length=2, size=2)
    assert run_output(flow) == [3, 8]


# ---------------------------------------------------------------------- sub-pipelines


def test_a_helper_pipeline_joins_the_graph_under_its_name() -> None:
    graph = ap.uses_helper.graph
    assert list(graph.nodes) == [
        "preprocess.inc",
        "preprocess.add",
        "preprocess_2.inc",
        "preprocess_2.add",
        "total",
    ]
    assert ("preprocess.add", "preprocess_2.inc") in graph.edges
    # its defaults apply, and arguments given by name override them
    assert graph.nodes["preprocess.add"].args == (Ref("preprocess.inc"), Lit(100))
    assert graph.nodes["preprocess_2.add"].args == (Ref("preprocess_2.inc"), Lit(0))
    # the helper's parameters are not run parameters of the caller
    assert graph.params == ()
    assert run_output(ap.uses_helper) == 102 + 103


def test_nested_helpers_are_prefixed_per_level() -> None:
    graph = ap.nested_helpers.graph
    assert list(graph.nodes) == [
        "stage.double",
        "stage.preprocess.inc",
        "stage.preprocess.add",
        "stage_2.double",
        "stage_2.preprocess.inc",
        "stage_2.preprocess.add",
        "add",
    ]
    assert graph.nodes["add"].upstream == ("stage.preprocess.add", "stage_2.preprocess.add")
    assert run_output(ap.nested_helpers) == (2 + 1 + 100) + (4 + 1 + 100)


def test_a_helper_pipeline_still_has_its_own_graph() -> None:
    assert list(ap.preprocess.graph.nodes) == ["inc", "add"]
    assert [p.name for p in ap.preprocess.graph.params] == ["x", "bias"]


# ---------------------------------------------------------------- outside a pipeline


def test_a_pipeline_called_outside_a_pipeline_runs_its_body_as_plain_python() -> None:
    assert ap.small() == (2 + 4 + 6) + 2
    assert ap.small(k=10) == 22
    assert ap.unpacking() == ("#7=7", 1, 5)
    assert ap.uses_helper() == 205
    assert ap.broadcast(factor=1) == ([6, 7, 8], [11, 22], [3, 7], [2, 3, 4])


def test_plain_python_calls_are_allowed_when_they_get_no_placeholder() -> None:
    @legato.pipeline
    def flow(name: str = "x") -> object:
        sizes = list(range(3))  # plain values: fine
        label = "-".join(["a", "b"])
        return ap.label.map(sizes, legato.unmapped(label))

    assert run_output(flow) == ["a-b=0", "a-b=1", "a-b=2"]


def test_placeholder_misuse_is_caught_in_comprehensions() -> None:
    @legato.pipeline
    def flow() -> object:
        return [ap.inc(x) for x in ap.load()]

    with pytest.raises(legato.DefinitionError, match="iterated"):
        _ = flow.graph
