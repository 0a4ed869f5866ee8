"""Mapped sub-pipelines and products at run time, on every executor: each item's chain runs
on its own (item ``acme``'s second step starts before item ``crux``'s first step ends), a
failed item blocks only its own chain, a resume reruns only the steps that did not
succeed, and products name their items after the parameters."""

from __future__ import annotations

from pathlib import Path

import lane_pipelines as lanes
import pytest
from ledger_notes import notes

import legato
from legato.config import load_settings
from legato.engine.storage import open_storage
from legato.errors import ParameterError
from legato.model.events import MapExpanded, TaskTransitioned
from legato.model.states import TaskState
from legato.testing import check_history

CLEAN = ["per_customer.clean[acme]", "per_customer.clean[bolt]", "per_customer.clean[crux]"]
TRAIN = ["per_customer.train[acme]", "per_customer.train[bolt]", "per_customer.train[crux]"]


def _events(run_id: str) -> list[object]:
    return list(open_storage(load_settings()).runs.read_events(run_id))


def _seq(events: list[object], key: str, state: TaskState) -> int:
    return next(
        e.seq
        for e in events
        if isinstance(e, TaskTransitioned) and e.key == key and e.state is state
    )


def test_each_item_chain_runs_as_soon_as_its_own_step_is_done(executor: str, ledger: Path) -> None:
    result = legato.run(lanes.every_customer, executor=executor)
    assert result.ok, result.failures()
    assert result.output == "ACME@0.5;BOLT@0.5;CRUX@0.5"
    assert [k for k in result.tasks if k.startswith("per_customer.")] == [*CLEAN, *TRAIN]
    events = _events(result.run_id)
    # An item's second step started before the last item's first step ended: crux's first
    # step waits for one (and would time out if each step waited for every item of the
    # step before). Which item goes first is the executor's business.
    first_train = min(_seq(events, key, TaskState.RUNNING) for key in TRAIN[:2])
    assert first_train < _seq(events, CLEAN[2], TaskState.SUCCEEDED)
    assert notes(ledger, "crux-saw-train") == [["crux-saw-train", "True"]]
    check_history(events, graph=lanes.every_customer.graph)  # as planned, per item


def test_a_failed_item_blocks_only_its_own_chain_and_a_resume_reruns_only_it(
    ledger: Path,
) -> None:
    (ledger.parent / "bolt").touch()
    failed = legato.run(lanes.every_customer, executor="threads")
    assert not failed.ok
    states = {k: t.state for k, t in failed.tasks.items()}
    assert states["per_customer.clean[bolt]"] is TaskState.FAILED
    assert states["per_customer.train[bolt]"] is TaskState.UPSTREAM_FAILED
    assert states["per_customer.train[acme]"] is TaskState.SUCCEEDED
    assert states["per_customer.train[crux]"] is TaskState.SUCCEEDED
    assert states["summarize"] is TaskState.UPSTREAM_FAILED
    check_history(_events(failed.run_id), graph=lanes.every_customer.graph)

    (ledger.parent / "bolt").unlink()
    before = len(notes(ledger))
    resumed = legato.resume(failed.run_id, executor="processes")
    assert resumed.ok, resumed.failures()
    assert resumed.output == "ACME@0.5;BOLT@0.5;CRUX@0.5"
    rerun = notes(ledger)[before:]
    assert sorted(tuple(n) for n in rerun if n[0] in ("clean", "train")) == [
        ("clean", "bolt"),
        ("train", "bolt"),
    ]
    assert resumed.tasks["per_customer.train[acme]"].attempt == 1
    assert resumed.tasks["per_customer.train[bolt]"].attempt == 2


def test_a_lane_over_a_run_parameter_and_numbered_items(executor: str, ledger: Path) -> None:
    result = legato.run(
        lanes.customers_from_a_parameter,
        params={"customers": ["acme", "bolt"], "rate": 0.3},
        executor=executor,
    )
    assert result.ok, result.failures()
    assert result.output == ["ACME@0.3", "BOLT@0.3"]
    numbered = legato.run(lanes.numbered_lane, executor=executor)
    assert numbered.output == ["ACME@0.1", "BOLT@0.1"]
    assert "per_customer.train[1]" in numbered.tasks


def test_a_lane_refuses_a_run_parameter_that_is_not_a_list() -> None:
    with pytest.raises(ParameterError, match="must be a list"):
        legato.run(lanes.customers_from_a_parameter, params={"customers": "acme"})


def test_a_second_run_reuses_every_item_from_the_cache(ledger: Path) -> None:
    first = legato.run(lanes.numbered_lane, executor="inline")
    again = legato.run(lanes.numbered_lane, executor="inline")
    assert again.output == first.output
    assert {t.cache_hit for k, t in again.tasks.items()} == {first.run_id}


def test_a_product_runs_every_combination_named_by_parameter(executor: str, ledger: Path) -> None:
    result = legato.run(lanes.sweep, executor=executor)
    assert result.ok, result.failures()
    assert [k for k, t in result.tasks.items() if t.parent == "fit"] == [
        "fit[alpha=0.1,l1_ratio=0.5]",
        "fit[alpha=0.1,l1_ratio=0.9]",
        "fit[alpha=1.0,l1_ratio=0.5]",
        "fit[alpha=1.0,l1_ratio=0.9]",
    ]
    assert result.output == 11.9
    assert sorted(tuple(n) for n in notes(ledger, "fit")) == [
        ("fit", "0.1", "0.5"),
        ("fit", "0.1", "0.9"),
        ("fit", "1.0", "0.5"),
        ("fit", "1.0", "0.9"),
    ]


def test_a_map_per_item_expands_as_soon_as_its_item_is_ready(executor: str, ledger: Path) -> None:
    result = legato.run(lanes.every_word, executor=executor)
    assert result.ok, result.failures()
    assert result.output == [["AA", "BB"], ["CC", "DD", "EE"]]
    assert [k for k, t in result.tasks.items() if t.parent == "per_word.shout[cde]"] == [
        "per_word.shout[cde][0]",
        "per_word.shout[cde][1]",
        "per_word.shout[cde][2]",
    ]
    events = _events(result.run_id)
    check_history(events, graph=lanes.every_word.graph)
    # Each word's map expanded once that word was split, not once every word was.
    expanded = {e.key: e.seq for e in events if isinstance(e, MapExpanded)}
    split = {
        k: _seq(events, k, TaskState.SUCCEEDED)
        for k in ("per_word.split[ab]", "per_word.split[cde]")
    }
    assert expanded["per_word.shout[ab]"] > split["per_word.split[ab]"]
    assert expanded["per_word.shout[cde]"] > split["per_word.split[cde]"]
