"""``legato runs compare``: metric series as their final, lowest and highest value, and the
runs picked by ``--last N [--pipeline NAME]`` instead of by id."""

from __future__ import annotations

import pytest

from legato.cli.exits import OK, USAGE

from .conftest import RESOURCES, Invoke, run_id_of, target

SEEING = RESOURCES / "seeing_pipelines.py"


def _rows(output: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split()[1:] for line in output.splitlines() if line.strip()}


def test_compare_shows_each_series_final_lowest_and_highest(cli: Invoke) -> None:
    first = run_id_of(cli("run", target("retried", SEEING), "-p", "epochs=4").stdout)
    second = run_id_of(cli("run", target("retried", SEEING), "-p", "epochs=2").stdout)
    result = cli("runs", "compare", first, second)
    assert result.exit_code == OK, result.stderr
    rows = _rows(result.stdout)
    assert rows["param.epochs"] == ["4", "2"]
    assert rows["metric.loss"] == ["nan", "nan"]  # the last step logged NaN
    assert rows["metric_min.loss"] == ["0.25", "0.5"]
    assert rows["metric_max.loss"] == ["1", "1"]
    assert rows["metric_min.accuracy"] == rows["metric_max.accuracy"] == ["0.8", "0.8"]
    names = [line.split()[0] for line in result.stdout.splitlines()[1:]]
    assert names.index("metric.loss") + 1 == names.index("metric_min.loss")


def test_compare_the_last_runs_of_a_pipeline_oldest_first(cli: Invoke) -> None:
    greet = run_id_of(cli("run", target("greet")).stdout)
    runs = [
        run_id_of(cli("run", target("retried", SEEING), "-p", f"epochs={n}").stdout)
        for n in (2, 3, 4)
    ]
    lin = run_id_of(cli("run", target("greet"), "-p", "name=Lin").stdout)
    result = cli("runs", "compare", "--last", "2", "--pipeline", "retried")
    assert result.exit_code == OK, result.stderr
    assert result.stdout.split()[:2] == runs[1:]
    assert _rows(result.stdout)["param.epochs"] == ["3", "4"]
    newest = cli("runs", "compare", "--last", "3")
    assert newest.stdout.split()[:3] == [runs[1], runs[2], lin]  # of any pipeline
    assert greet not in newest.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "name the runs to compare: RUN RUN ..., or --last N"),
        (("--pipeline", "retried"), "--pipeline picks runs with --last N"),
        (("abc", "--last", "2"), "give run ids or --last N, not both"),
        (("abc", "--pipeline", "retried"), "cannot filter runs named by id"),
        (("--last", "2", "--pipeline", "nothing"), "no runs of pipeline 'nothing' to compare"),
        (("--last", "0"), "0"),
    ],
)
def test_compare_refuses_an_unclear_choice_of_runs(
    cli: Invoke, args: tuple[str, ...], message: str
) -> None:
    assert cli("run", target("greet"), "-p", "name=Ann").exit_code == OK  # a store exists
    result = cli("runs", "compare", *args)
    assert result.exit_code == USAGE
    assert message in result.stderr
