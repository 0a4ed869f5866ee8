# ruff: noqa: RUF001 - the multiplication sign of map labels is on purpose
"""Products and mapped sub-pipelines in the graph: traced once, drawn as maps with their
item keys before any run, and every misuse refused with an error that names the task,
points at the line and says how to fix it."""

from __future__ import annotations

from pathlib import Path

import lane_pipelines as lanes
import pytest
from ledger_notes import notes

import legato
from legato import DefinitionError, product

from .checks import assert_definition_error

ERRORS = [
    (lanes.lane_over_an_output, "lane_output", "per_customer", ["the output of task 'load'"]),
    (lanes.lane_returns_nothing, "lane_returns", "no_return", ["returns None"]),
    (lanes.nested_map_in_a_lane, "nested_map", "clean", ["clean.map(...)", "one item's value"]),
    (lanes.product_of_an_output, "product_output", "fit", ["the output of task 'load'"]),
    (lanes.product_with_a_dict, "product_dict", "fit", ["{'a': 1}", "'alpha'"]),
    (lanes.product_and_keyed, "product_keyed", "fit", ["both product(...) and keyed(...)"]),
    (lanes.two_products, "two_products", "fit", ["more than one product(...)"]),
    (lanes.product_too_long, "product_long", "fit", ["has 2 lists", "only 1 parameters"]),
    (lanes.lane_lengths, "lane_lengths", "per_customer", ["different lengths [1, 2]"]),
    (lanes.lane_of_nothing, "lane_nothing", "per_customer", ["nothing to map over"]),
    (lanes.lane_bad_keys, "lane_keys", "per_customer", ["'a/b'", "'/'"]),
]


@pytest.mark.parametrize("case", ERRORS, ids=lambda case: case[1])
def test_a_bad_lane_or_product_names_the_task_the_line_and_a_fix(
    case: tuple[legato.Pipeline[..., object], str, str, list[str]],
) -> None:
    flow, kind, task, words = case
    with pytest.raises(DefinitionError) as info:
        _ = flow.graph
    err = info.value
    assert_definition_error(err, lanes, kind, *words)
    assert err.task == task
    assert err.pipeline == flow.name


def test_a_product_names_its_items_after_the_parameters() -> None:
    node = lanes.sweep.graph.nodes["fit"]
    assert node.mapped is not None
    assert node.mapped.keys is not None
    assert node.mapped.keys.known == (
        "alpha=0.1,l1_ratio=0.5",
        "alpha=0.1,l1_ratio=0.9",
        "alpha=1.0,l1_ratio=0.5",
        "alpha=1.0,l1_ratio=0.9",
    )
    assert node.mapped.size == 4
    assert "fit[×4]" in lanes.sweep.graph.render_text()


def test_a_product_outside_a_pipeline_runs_every_combination(ledger: Path) -> None:
    assert lanes.fit.map(product([1, 2], [0.5]), legato.unmapped([0])) == [10.5, 20.5]
    assert lanes.fit.map(product(alpha=[1], l1_ratio=[0.1, 0.2]), data=legato.unmapped([0])) == [
        10.1,
        10.2,
    ]


def test_a_limit_needs_a_memory_amount() -> None:
    with pytest.raises(DefinitionError) as info:
        legato.Resources(limit=True)
    assert "Resources(memory='2GiB', limit=True)" in info.value.fix


def test_product_refuses_mixed_and_empty_forms() -> None:
    with pytest.raises(DefinitionError, match="both by position and by keyword"):
        product([1], alpha=[2])
    with pytest.raises(DefinitionError, match="no list"):
        product()


def test_a_mapped_sub_pipeline_is_drawn_as_maps_of_its_steps() -> None:
    graph = lanes.every_customer.graph
    assert list(graph.nodes) == ["per_customer.clean", "per_customer.train", "summarize"]
    lane = graph.lanes["per_customer"]
    assert lane.keys == ("acme", "bolt", "crux")
    assert lane.output == "per_customer.train"
    assert graph.nodes["per_customer.train"].lane == "per_customer"
    assert graph.nodes["summarize"].lane is None
    assert graph.render_text().splitlines() == [
        "pipeline every_customer: 7 tasks (6 map items)",
        "  per_customer.clean[acme, bolt, crux]",
        "  per_customer.train[acme, bolt, crux]  <- per_customer.clean",
        "  summarize                             <- per_customer.train",
    ]


def test_a_lane_over_a_run_parameter_is_sized_when_planned() -> None:
    graph = lanes.customers_from_a_parameter.graph
    assert graph.lanes["per_customer"].size is None
    assert "per_customer.clean[×?]" in graph.render_text()


def test_a_mapped_sub_pipeline_outside_a_pipeline_runs_per_item(ledger: Path) -> None:
    assert lanes.per_customer.map(["acme", "bolt"], rate=1) == ["ACME@1", "BOLT@1"]
    assert notes(ledger, "train") == [["train", "acme"], ["train", "bolt"]]
