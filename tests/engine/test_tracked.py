"""Reading back what a run tracked: ``legato.read_tracked`` (every value of every attempt)
and the summary the commands show (the latest attempt's values, series with their lowest
and highest values, cache hits resolved)."""

from __future__ import annotations

import math

import pytest
from seeing_pipelines import retried

import legato
from legato.config import load_settings
from legato.engine.compare import compare_rows
from legato.engine.storage import open_storage
from legato.engine.tracked import by_name, summarize
from legato.errors import UnknownRunError


def test_read_tracked_returns_the_values_as_logged_by_prefix() -> None:
    result = legato.run(retried, executor="threads")
    assert result.ok
    got = legato.read_tracked(result.run_id[:12])
    assert all(isinstance(t, legato.Tracked) for t in got)
    metric = legato.TrackKind.METRIC
    losses = [(t.attempt, t.step) for t in got if t.kind is metric and t.name == "loss"]
    # The failed attempts' values were written off with them (see docs/tracking.md).
    assert losses == [(3, 0), (3, 1), (3, 2), (3, 3), (3, 4)]
    kinds = {(t.kind, t.name) for t in got if t.kind is not metric}
    assert kinds == {
        (legato.TrackKind.PARAM, "epochs"),
        (legato.TrackKind.TAG, "stage"),
        (legato.TrackKind.ARTIFACT, "weights"),
    }
    assert all(t.run_id == result.run_id for t in got)
    assert got == sorted(got, key=lambda t: (t.key, t.attempt, t.kind, t.name, t.step))


def test_read_tracked_of_an_unknown_run() -> None:
    with pytest.raises(legato.LegatoError, match="zzzz"):
        legato.read_tracked("zzzz")


def test_summary_keeps_the_latest_attempt_and_series_bounds() -> None:
    result = legato.run(retried, executor="threads")
    summary = summarize(open_storage(load_settings(), read_only=True).runs, result.run_id)
    loss = summary.series[("fit", "loss")]
    assert loss.attempt == 3
    assert [p.step for p in loss.points] == [0, 1, 2, 3, 4]
    assert math.isnan(loss.last.value)
    assert (loss.minimum, loss.maximum) == (0.25, 1.0)  # NaN left out, attempt 1's 9.0 too
    assert all(p.at > 0 for p in loss.points)
    assert summary.params == {("fit", "epochs"): 4}
    assert summary.tags == {("fit", "stage"): "dev"}
    (weights,) = summary.artifacts.values()
    assert (weights.task, weights.name, weights.ref.serializer) == ("fit", "weights", "json")
    assert by_name(summary.metrics) == {"accuracy": 0.8, "loss": loss.last.value}


def test_compare_shows_the_lowest_and_highest_value_of_each_series() -> None:
    first = legato.run(retried, executor="threads")
    again = legato.run(retried, executor="threads")  # every task a cache hit
    rows = legato.runs_compare([first.run_id, again.run_id])
    records = rows.reset_index().to_dict("records")
    for row in records:
        assert (row["metric_min.loss"], row["metric_max.loss"]) == (0.25, 1.0)
        assert row["metric_min.accuracy"] == row["metric_max.accuracy"] == 0.8
    metrics = [c for c in rows.columns if c.startswith("metric")]
    assert metrics == [
        "metric.accuracy",
        "metric_min.accuracy",
        "metric_max.accuracy",
        "metric.loss",
        "metric_min.loss",
        "metric_max.loss",
    ]
    assert f"fit: from run {first.run_id}" in records[1]["notes"]


def test_compare_takes_prefixes_and_ids_in_their_order_and_refuses_unknown_runs() -> None:
    first = legato.run(retried, executor="threads")
    again = legato.run(retried, executor="threads")  # every task a cache hit
    store = open_storage(load_settings(), read_only=True).runs
    named = [again.run_id[:12], first.run_id, again.run_id]
    rows = compare_rows(store, named)
    assert [r["run"] for r in rows] == [again.run_id, first.run_id, again.run_id]
    assert rows[0] == rows[2]
    assert rows[0]["metric.accuracy"] == rows[1]["metric.accuracy"] == 0.8
    with pytest.raises(UnknownRunError):
        compare_rows(store, [first.run_id, "no-such-run"])
