"""``legato metrics RUN [--key NAME]``: each metric's series (step, value, time) as a plain
table, with a sparkline line per metric on a terminal."""

from __future__ import annotations

import math
import re

import pytest

from legato.cli.exits import OK, USAGE
from legato.cli.formats import sparkline

from .conftest import RESOURCES, Invoke, in_terminal, run_id_of, target

SEEING = RESOURCES / "seeing_pipelines.py"
_STYLE = re.compile(r"\x1b\[[0-9;]*m")


def _table(output: str) -> list[list[str]]:
    lines = output.splitlines()
    assert lines[0].split() == ["task", "metric", "step", "value", "time"]
    return [line.split() for line in lines[1:] if line.strip()]


def test_metrics_prints_every_series_of_the_latest_attempt(cli: Invoke) -> None:
    run_id = run_id_of(cli("run", target("retried", SEEING)).stdout)
    result = cli("metrics", run_id[:10])
    assert result.exit_code == OK, result.stderr
    rows = _table(result.stdout)
    assert [row[:4] for row in rows] == [
        ["fit", "accuracy", "0", "0.8"],
        ["fit", "loss", "0", "1"],
        ["fit", "loss", "1", "0.5"],
        ["fit", "loss", "2", "0.333333"],
        ["fit", "loss", "3", "0.25"],
        ["fit", "loss", "4", "nan"],
    ]
    assert all(len(row) == 5 and row[4][10] == "T" for row in rows)  # time: one word
    assert "▁" not in result.stdout  # no sparkline off a terminal


def test_key_picks_a_metric_by_name_or_by_task(cli: Invoke) -> None:
    run_id = run_id_of(cli("run", target("folds", SEEING)).stdout)
    by_name = _table(cli("metrics", run_id, "--key", "score").stdout)
    assert sorted({row[0] for row in by_name}) == ["train[0]", "train[1]", "train[2]"]
    assert [row[3] for row in by_name if row[0] == "train[1]"] == ["2", "2.1", "2.2"]
    one = _table(cli("metrics", run_id, "--key", "train[2]/score").stdout)
    assert {row[0] for row in one} == {"train[2]"}
    unknown = cli("metrics", run_id, "--key", "los")
    assert unknown.exit_code == USAGE
    assert (
        f"run {run_id} has no metric 'los'; its metrics: train[0]/score, train[1]/score, "
        "train[2]/score"
    ) in unknown.stderr


def test_a_run_without_metrics_and_a_cache_hit(cli: Invoke) -> None:
    mute = run_id_of(cli("run", target("mute", SEEING)).stdout)
    assert cli("metrics", mute).stdout.strip() == f"run {mute} logged no metrics"
    first = run_id_of(cli("run", target("retried", SEEING)).stdout)
    again = run_id_of(cli("run", target("retried", SEEING)).stdout)
    result = cli("metrics", again, "--key", "loss")
    assert len(_table(result.stdout.split("\nfit was")[0])) == 5
    assert f"fit was a cache hit: its values are those of run {first}" in result.stdout


def test_on_a_terminal_each_metric_gets_a_sparkline(cli: Invoke) -> None:
    run_id = run_id_of(cli("run", target("retried", SEEING)).stdout)
    code, screen = in_terminal("metrics", run_id)
    assert code == OK, screen
    lines = [_STYLE.sub("", line) for line in screen.splitlines() if "·" in line]
    assert [line.split()[:2] for line in lines] == [["accuracy", "▄"], ["loss", "█▃▂▁"]]
    assert "last nan at step 4 · min 0.25 · max 1 · 5 values" in lines[1]
    assert "0.333333" in _STYLE.sub("", screen)  # the table follows


@pytest.mark.parametrize(
    ("values", "width", "drawn"),
    [
        ([1, 2, 3, 4, 5, 6, 7, 8], 40, "▁▂▃▄▅▆▇█"),
        ([3, 3, 3], 40, "▄▄▄"),
        ([1, math.nan, 2, math.inf, -math.inf], 40, "▁ ██▁"),
        (list(range(100)), 10, "▁▂▃▃▄▅▆▆▇█"),  # runs of ten values, drawn as their mean
        ([math.nan, math.nan], 40, "  "),
        ([], 40, ""),
    ],
)
def test_sparkline(values: list[float], width: int, drawn: str) -> None:
    assert sparkline(values, width) == drawn
