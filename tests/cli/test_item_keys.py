"""The ``legato`` command shows keyed map items by their keys (``fit[svm]``), and says how
many tasks a pipeline has the same way in ``legato graph``, a run's first line and its last:
each map counted as its items."""

from __future__ import annotations

import io

from rich.console import Console

from legato.cli.exits import OK
from legato.cli.live import LiveProgress
from legato.cli.runs import rollback_table
from legato.model.records import TaskRecord
from legato.model.rollback import CompensationRecord

from .conftest import RESOURCES, Invoke, legato, run_id_of, target

KEYED = RESOURCES / "keyed_pipelines.py"
COUNT = "8 tasks (6 map items)"  # load, best, and three items of each of fit and score


def test_graph_run_logs_and_compare_name_keyed_items_and_count_tasks_alike(cli: Invoke) -> None:
    graph = cli("graph", target("literal_sweep", KEYED))
    assert graph.exit_code == OK
    lines = graph.stdout.splitlines()
    assert lines[0] == f"pipeline literal_sweep: {COUNT}, parameters: flag=''"
    assert lines[2].split() == ["fit[linear,", "forest,", "svm]", "<-", "load,", "param", "flag"]

    done = legato("run", target("literal_sweep", KEYED))
    assert done.returncode == OK, done.stderr
    out = done.stdout.splitlines()
    run_id = run_id_of(done.stdout)
    assert out[0] == f"run {run_id} of pipeline literal_sweep: {COUNT}, executor threads"
    assert any(line.split()[1:3] == ["succeeded", "fit[svm]"] for line in out)
    assert "fit[forest] | fitting forest" in out
    rows = [line.split() for line in out if line.startswith("  ")]
    assert [r[:2] for r in rows if r[0].startswith("score[")] == [
        ["score[linear]", "succeeded"],
        ["score[forest]", "succeeded"],
        ["score[svm]", "succeeded"],
    ]
    assert out[-1].startswith(f"run {run_id} succeeded in ")
    assert f" · {COUNT} · overhead per task: " in out[-1]

    logs = cli("logs", run_id, "fit[svm]")
    assert logs.exit_code == OK
    assert logs.stdout == "==> fit[svm] · attempt 1 · succeeded <==\nfitting svm\n"
    shown = cli("runs", "show", run_id)
    tracked = shown.stdout.split("\ntracked", 1)[1]  # the values tasks tracked, by task
    assert "score[forest]" in tracked.split()
    metrics = cli("metrics", run_id)
    rows = [row.split()[:2] for row in metrics.stdout.splitlines() if "score[" in row]
    assert sorted(rows) == [
        ["score[forest]", "score"],
        ["score[linear]", "score"],
        ["score[svm]", "score"],
    ]

    # Tables show task keys as they are: rich would read "[forest]" as a style tag.
    compared = cli("runs", "compare", run_id)
    assert compared.exit_code == OK
    assert "metric.score[forest]/score" in compared.stdout.split()
    listed = cli("artifacts", run_id)
    assert "fit[forest]" in [row.split()[0] for row in listed.stdout.splitlines()[1:] if row]


def _rendered(renderable: object) -> str:
    out = Console(file=io.StringIO(), width=120, record=True)
    out.print(renderable)
    return out.export_text()


def test_the_rollback_table_and_the_live_view_show_item_keys_as_they_are() -> None:
    rollback = {"undo[linear]": CompensationRecord(key="undo[linear]", attempt=1)}
    assert "undo[linear]" in _rendered(rollback_table(rollback))

    view = LiveProgress(Console(file=io.StringIO()))
    view.running["fit[linear]"] = TaskRecord(key="fit[linear]", name="fit", started_at=0.0)
    assert "▸ fit[linear]" in _rendered(view._draw())
