"""Crash and resume around a branch: the orchestrator is killed (SIGKILL) after the
decision is committed and before the branch's first task is handed over; the resume runs
the same branch, the other stays skipped, and nothing decided before the crash runs again."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
from pathlib import Path

import pytest

from legato.store.open import open_run_store

RESOURCES = Path(__file__).parents[1] / "resources"
SCRIPT = RESOURCES / "branch_pipelines.py"


def script(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def stored_states(home: Path) -> tuple[str, dict[str, str]]:
    store = open_run_store(str(home / "legato.db"))
    try:
        (run,) = store.list_runs()
        return run.run_id, {t.key: t.state.value for t in store.task_records(run.run_id)}
    finally:
        store.close()


# (the new model's score, the claim the orchestrator dies at, the branch that must run)
CASES = [
    # `when` committed succeeded; `otherwise` claimed, not yet run
    (0.9, 4, "deploy"),
    # both decisions committed; deploy claimed (its first task), not yet handed over
    (0.9, 5, "deploy"),
    # the other way: `when` committed skipped, `keep` claimed
    (0.5, 5, "keep"),
]


@pytest.mark.parametrize(("new", "hit", "branch"), CASES)
def test_a_resume_runs_the_branch_that_was_decided(
    tmp_path: Path, new: float, hit: int, branch: str
) -> None:
    env = dict(os.environ)
    env["LEGATO_HOME"] = str(tmp_path / "home")
    env["LEGATO_TEST_LEDGER"] = str(tmp_path / "ledger.txt")
    env["PYTHONPATH"] = os.pathsep.join([str(RESOURCES), env.get("PYTHONPATH", "")])
    crashed = script({**env, "LEGATO_CRASH_AT": f"task_claimed@{hit}"}, "run", str(new))
    assert crashed.returncode == -9, crashed.stderr
    run_id, before = stored_states(tmp_path / "home")
    taken, other = ("when", "otherwise") if branch == "deploy" else ("otherwise", "when")
    # the crash came after the condition's commit and before the branch's first task ran
    assert before["beats"] == "succeeded"
    assert before["when"] == ("succeeded" if branch == "deploy" else "skipped")
    assert before[branch] in ("pending", "ready", "running")
    ran_before = collections.Counter(
        line.split()[0] for line in (tmp_path / "ledger.txt").read_text().splitlines()
    )
    assert branch not in ran_before

    resumed = script(env, "resume", run_id)
    assert resumed.returncode == 0, resumed.stderr
    _, after = stored_states(tmp_path / "home")
    assert after[taken] == "succeeded"
    assert after[other] == "skipped"
    assert after[branch] == "succeeded"
    skipped = {"keep"} if branch == "deploy" else {"deploy", "tell"}
    assert {k for k, s in after.items() if s == "skipped"} == {other, *skipped}
    ran = collections.Counter(
        line.split()[0] for line in (tmp_path / "ledger.txt").read_text().splitlines()
    )
    # what was committed before the crash did not run again; the branch ran once
    assert ran["score"] == 1
    assert ran["beats"] == 1
    assert ran[branch] == 1
    assert ran["keep" if branch == "deploy" else "deploy"] == 0
    expected = "DEPLOYED 0.9" if branch == "deploy" else "kept 0.8"
    assert expected in resumed.stdout
