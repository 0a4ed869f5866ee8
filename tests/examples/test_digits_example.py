"""The digits example (what ``make demo`` runs): it trains four models, keeps a good one, and
a second run reuses every task."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from example_runs import REPO, example, run_script

import legato
from legato import TaskState

digits = example("digits")


def test_trains_then_reuses_every_task_and_saves_a_deleted_model_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the default out_dir, build/digits, is relative
    result = legato.run(digits.digits).raise_for_status()

    scores = result.output["scores"]
    assert [s["model"] for s in scores] == digits.MODELS
    best = max(scores, key=lambda s: s["accuracy"])
    assert best["accuracy"] > 0.9
    saved = Path(result.output["model_path"])
    assert saved == Path("build/digits") / f"digits-{best['model']}.joblib"
    assert saved.is_file()
    assert result.tasks["ingest"].attempt == 2  # the simulated outage was retried
    assert [k for k, t in result.tasks.items() if t.parent == "train"] == [
        f"train[{m}]" for m in digits.MODELS
    ]
    assert str(result.task_count) == "23 tasks (8 map items)"
    # Nothing was in production, so the new model beats it: deployed, and the otherwise
    # branch (keep production as it is) skipped.
    skipped = {k for k, t in result.tasks.items() if t.state is TaskState.SKIPPED}
    assert skipped == {"otherwise", "keep_production"}
    assert {t.state for t in result.tasks.values()} == {TaskState.SUCCEEDED, TaskState.SKIPPED}
    # The finally block wrote the run report.
    report = json.loads(Path(result.output["report"]).read_text())
    assert report["run"] == result.run_id
    assert report["deployment"] == {"version": 1, "alias": "production", "changed": True}

    # The best model is registered with its lineage, and the tasks' metrics are tracked.
    with legato.open_registry() as registry:
        mv = registry.resolve("digits")
        assert (mv.version, mv.run_id, mv.task) == (1, result.run_id, "save")
        assert mv.metrics["accuracy"] == best["accuracy"]
        assert mv.signature is not None
        # The deployable model is the whole inference path: raw 8x8 pixels in, a digit out.
        assert mv.signature["shape"] == [None, 64]
        from sklearn.datasets import load_digits

        images = load_digits()
        predicted = registry.load(mv).predict(images.data[:200])
        assert (predicted == images.target[:200]).mean() > 0.9
    row = legato.runs_compare([result.run_id]).iloc[0]
    assert row["metric.best_accuracy"] == best["accuracy"]
    assert row["param.best_model"] == best["model"]

    # It passed the gates and the smoke test: it is in production.
    deployment = result.output["deployment"]
    assert (deployment.version, deployment.alias, deployment.changed) == (1, "production", True)
    with legato.open_registry() as registry:
        assert registry.resolve("digits@production").version == 1

    # `make demo` a second time: the same parameters, a new process, nothing runs again but
    # the deployment, an act that is never reused (here it finds production set already).
    done = run_script("digits", cwd=tmp_path)
    assert "reused 15 of 23 tasks from earlier runs" in done.stdout, done.stdout
    assert done.stdout.count(f"cache: hit from run {result.run_id}") == 15
    # The same model does not beat itself: no deployment, production stays.
    assert "production: digits:1 (already)" in done.stdout
    for key in ("when", "smoke_test", "deploy"):
        assert re.search(rf"^  {key} +skipped ", done.stdout, re.MULTILINE), done.stdout
    assert re.search(r"^  keep_production +succeeded ", done.stdout, re.MULTILINE)
    assert f"best model saved to {saved}" in done.stdout

    # Saving is a side effect a cache hit does not redo: the script notices the missing file
    # and runs that one task again.
    saved.unlink()
    again = run_script("digits", cwd=tmp_path)
    assert "the saved model file is gone: saving it again" in again.stdout
    assert "reused 14 of 23 tasks from earlier runs" in again.stdout, again.stdout
    assert saved.is_file()


SAME_PROCESS = """
import sys
sys.path.insert(0, sys.argv[1])
import legato
from examples.digits.pipeline import digits

params = {"simulate_outage": False}
first = legato.run(digits, params=params).raise_for_status()
second = legato.run(digits, params=params).raise_for_status()
for key, task in second.tasks.items():
    # acts (deploy, the report) and questions to the registry always run; skipped is skipped
    if not task.mapped and task.cache_hit is None and task.reason != "cache: off for this task":
        if task.state.value != "skipped":
            print(f"{key}: {task.reason}")
"""


def test_a_second_run_in_the_same_fresh_process_reuses_every_task(tmp_path: Path) -> None:
    # A fresh interpreter: in this one an earlier test may have imported scikit-learn.
    done = subprocess.run(
        [sys.executable, "-c", SAME_PROCESS, str(REPO)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout == "", f"tasks that ran again:\n{done.stdout}"


def test_the_readme_draws_the_graph_legato_graph_draws() -> None:
    readme = (REPO / "examples" / "digits" / "README.md").read_text()
    command = "`legato graph examples/digits/pipeline.py:digits`"
    assert command in readme
    drawn = readme.split("```text\n", 1)[1].split("```", 1)[0]
    assert drawn == digits.digits.graph.render_text() + "\n"


def test_the_readme_shows_the_branch_and_finally_block_as_they_are() -> None:
    readme = (REPO / "README.md").read_text()
    marker = "<!-- illustrative: an excerpt of examples/digits/pipeline.py"
    excerpt = readme.split(marker, 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    source = (REPO / "examples" / "digits" / "pipeline.py").read_text().splitlines()
    code = "".join(f"{line}\n" for line in source if not line.lstrip().startswith("#"))
    assert "legato.when(beats_production" in excerpt
    assert excerpt in code  # the same lines, the file's comments apart
