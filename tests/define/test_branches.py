"""Branches, joins, trigger rules and finally blocks as traced: the graph they make (both
branches known and drawn before any run) and every way to misuse them, each refused with an
error that names the task, points at the line and says how to fix it."""

from __future__ import annotations

import bad_branches as bad
import branch_pipelines as bp
import item_branches as ib
import pytest

import legato
from legato import DefinitionError, Trigger

from .checks import assert_definition_error

MISUSES = [
    (bad.param_condition, "param_condition", ["run parameter 'flag'", "not the output of a task"]),
    (bad.literal_condition, "literal_condition", ["the value True", "not the output of a task"]),
    (bad.branch_value_outside, "outside", ["task 'notify'", "task 'deploy'", "'when'"]),
    (bad.branch_value_returned, "returned", ["task 'deploy'", "'when'"]),
    (bad.other_branch_value, "other_branch", ["task 'notify'", "task 'deploy'"]),
    (bad.otherwise_alone, "otherwise_alone", ["legato.otherwise(...)", "does not follow"]),
    (bad.one_of_single, "one_of_single", ["legato.one_of(...)", "1 value(s)"]),
    (
        bad.chain_into_callee,
        "otherwise_in_callee",
        ["legato.otherwise(...)", "sub-pipeline 'fallback'", "pipeline 'chain_into_callee'"],
    ),
    (
        bad.chain_into_mapped_callee,
        "otherwise_in_mapped_callee",
        [
            "legato.otherwise_when(...)",
            "sub-pipeline 'mapped_fallback'",
            "in chain_into_mapped_callee",
        ],
    ),
    (
        bad.chain_out_of_callee,
        "otherwise_after_callee",
        ["legato.otherwise(...)", "pipeline 'chain_out_of_callee'", "sub-pipeline 'gate'"],
    ),
    (bad.finally_first, "finally_first", ["legato.finally_()", "follows no task"]),
    (bad.finally_inside, "finally_inside", ["block.finally_()", "inside the block"]),
    (
        bad.every_item_branch_value,
        "item_returned",
        ["'item_branch_value.deploy'", "'item_branch_value.when'", "item_branch_value.map"],
    ),
    (
        bad.every_item_branch_read,
        "item_read",
        ["task 'item_branch_read.notify'", "'item_branch_read.deploy'"],
    ),
    (
        bad.every_lane_in_item_branch,
        "lane_in_item_branch",
        ["inner.map(...)", "'lane_in_item_branch.when'", "decided per item"],
    ),
]


@pytest.mark.parametrize(("target", "kind", "words"), MISUSES, ids=[m[1] for m in MISUSES])
def test_each_misuse_names_the_task_points_at_the_line_and_says_how_to_fix_it(
    target: legato.Pipeline, kind: str, words: list[str]
) -> None:
    with pytest.raises(DefinitionError) as caught:
        _ = target.graph
    assert_definition_error(caught.value, bad, kind, *words)


def test_a_misused_value_names_the_task_and_suggests_one_of() -> None:
    with pytest.raises(DefinitionError) as caught:
        _ = bad.branch_value_outside.graph
    assert caught.value.task == "notify"
    assert "legato.one_of" in caught.value.fix
    with pytest.raises(DefinitionError) as returned:
        _ = bad.branch_value_returned.graph
    assert returned.value.task == "deploy"
    assert "legato.one_of" in returned.value.fix


def test_a_chain_belongs_to_the_pipeline_body_that_opened_it() -> None:
    nodes = bp.chain_around_a_call.graph.nodes
    assert nodes["otherwise"].upstream == ("beats",)  # the caller's condition alone
    assert nodes["verdict.otherwise"].upstream == ("verdict.above",)
    with pytest.raises(DefinitionError) as into:
        _ = bad.chain_into_callee.graph
    assert "move this block into pipeline 'chain_into_callee'" in into.value.fix
    with pytest.raises(DefinitionError) as out_of:
        _ = bad.chain_out_of_callee.graph
    assert "give sub-pipeline 'gate' its own `with legato.otherwise(...)`" in out_of.value.fix


def test_an_unknown_trigger_names_the_task_and_the_triggers() -> None:
    with pytest.raises(DefinitionError) as caught:
        bad.bad_trigger()
    err = caught.value
    assert err.task == "report"
    assert "'always'" in err.problem
    assert "'all_done'" in err.problem
    assert "trigger=" in err.fix


def test_a_branch_is_a_deciding_task_and_everything_inside_waits_for_it() -> None:
    graph = bp.deploy_if_better.graph
    nodes = graph.nodes
    assert nodes["when"].role == "branch"
    assert nodes["when"].upstream == ("beats",)
    assert nodes["otherwise"].role == "branch"
    assert nodes["deploy"].after == ("when",)
    assert nodes["deploy"].waits == ("when",)
    assert nodes["deploy"].branches == ("when",)
    # tell reads deploy, which waits for the decision: no second edge
    assert nodes["tell"].after == ()
    assert nodes["tell"].branches == ("when",)
    assert nodes["keep"].branches == ("otherwise",)
    assert nodes["one_of"].role == "join"
    assert nodes["one_of"].trigger is Trigger.ONE_OF
    assert nodes["one_of"].branches == ()
    assert set(nodes["one_of"].upstream) == {"tell", "keep"}


def test_chained_and_nested_branches_record_every_enclosing_decision() -> None:
    nodes = bp.chained.graph.nodes
    assert [k for k, n in nodes.items() if n.role == "branch"] == [
        "when",
        "otherwise_when",
        "when_2",
        "otherwise",
        "otherwise_2",
    ]
    # the inner decisions are inside the outer branch
    assert nodes["when_2"].branches == ("otherwise_when",)
    assert nodes["tell_2"].branches == ("otherwise_when", "when_2")
    assert nodes["tell_3"].branches == ("otherwise_when", "otherwise")
    # otherwise_when reads the first condition and its own; otherwise every condition
    assert nodes["otherwise_when"].upstream == ("above", "above_2")
    assert nodes["otherwise_2"].upstream == ("above", "above_2")


def test_a_finally_block_follows_the_last_tasks_of_its_block_with_all_done() -> None:
    nodes = bp.with_finally.graph.nodes
    cleanup = nodes["cleanup"]
    assert cleanup.final
    assert cleanup.trigger is Trigger.ALL_DONE
    assert set(cleanup.upstream) == {"deploy", "score_2"}
    whole = bp.failing_finally.graph.nodes["broken_cleanup"]
    assert whole.final
    assert whole.upstream == ("explode",)


def test_a_task_with_a_trigger_may_read_a_branch_value_and_waits_for_the_decision() -> None:
    report = bp.skipped_into_trigger.graph.nodes["report"]
    assert report.trigger is Trigger.ALL_DONE
    assert set(report.upstream) == {"score", "deploy"}


def test_drawings_show_decisions_joins_and_waits() -> None:
    graph = bp.deploy_if_better.graph
    text = graph.render_text()
    assert "deploy" in text
    assert "after when" in text
    mermaid = graph.to_mermaid()
    assert '{"when"}' in mermaid
    assert '(["one_of"])' in mermaid
    assert "-.->" in mermaid
    dot = graph.to_dot()
    assert "shape=diamond" in dot
    assert "style=dashed" in dot


def test_a_condition_inside_a_mapped_sub_pipeline_is_decided_per_item() -> None:
    graph = ib.every_customer.graph
    nodes = graph.nodes
    when, otherwise = nodes["per_customer.when"], nodes["per_customer.otherwise"]
    assert (when.role, otherwise.role) == ("branch", "branch")
    assert when.lane == otherwise.lane == "per_customer"  # a step: one decision per item
    assert nodes["per_customer.retrain"].branches == ("per_customer.when",)
    # page() reads no item, but runs on a branch decided per item: a step of the lane too
    page = nodes["per_customer.page"]
    assert page.lane == "per_customer"
    assert page.after == ("per_customer.when",)
    assert nodes["per_customer.keep"].branches == ("per_customer.otherwise",)
    join = nodes["per_customer.one_of"]
    assert (join.role, join.lane, join.branches) == ("join", "per_customer", ())
    assert graph.lanes["per_customer"].output == "per_customer.one_of"
    # drawn before any run: both branches, each a map of the lane's items
    text = graph.render_text()
    assert "per_customer.when[\u00d7?]" in text
    assert "per_customer.page[\u00d7?]" in text
    assert "<- after per_customer.when" in text


def test_a_mapped_sub_pipeline_inside_a_branch_is_on_that_branch() -> None:
    nodes = ib.lane_in_branch.graph.nodes
    steps = [n for n in nodes.values() if n.lane == "per_customer"]
    assert steps
    assert all(n.branches[0] == "when" for n in steps)
    assert nodes["per_customer.retrain"].branches == ("when", "per_customer.when")
    assert dict(nodes["one_of"].kwargs)["lanes"].value == (0,)  # type: ignore[attr-defined]
