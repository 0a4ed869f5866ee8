"""Crash and resume around a branch decided per item of a mapped sub-pipeline: the
orchestrator is killed (SIGKILL) after an item's decision is committed and before that
branch's first task for the item runs; the resume runs the same branch for the item, its
other branch stays skipped, every other item takes its own branch, and nothing committed
before the crash runs again."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
from pathlib import Path

import item_branches as ib
import pytest

from legato.store.open import open_run_store

RESOURCES = Path(__file__).parents[1] / "resources"
SCRIPT = RESOURCES / "item_branches.py"


def script(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def stored(home: Path) -> tuple[str, dict[str, str], dict[str, int]]:
    """The run's id, each task's state and attempt (keys without ``per_customer.``)."""
    store = open_run_store(str(home / "legato.db"))
    try:
        (run,) = store.list_runs()
        records = store.task_records(run.run_id)
        states = {t.key.removeprefix("per_customer."): t.state.value for t in records}
        attempts = {t.key.removeprefix("per_customer."): t.attempt for t in records}
        return run.run_id, states, attempts
    finally:
        store.close()


def ran(ledger: Path) -> collections.Counter[str]:
    """How often each task ran for each item: ``retrain-acme``..."""
    return collections.Counter("-".join(line.split()) for line in ledger.read_text().splitlines())


# (the claim the orchestrator dies at with the inline executor, the item, the branch's
# deciding task and its first task)
CASES = [
    # acme's `when` committed succeeded; retrain[acme] claimed, not yet run
    (4, "acme", "when", "retrain"),
    # bolt's `when` committed skipped and its `otherwise` succeeded; keep[bolt] claimed
    pytest.param(13, "bolt", "otherwise", "keep", marks=pytest.mark.exhaustive),
]


@pytest.mark.parametrize(("hit", "item", "decided", "first"), CASES)
def test_a_resume_runs_the_branch_the_item_decided(
    tmp_path: Path, hit: int, item: str, decided: str, first: str
) -> None:
    env = dict(os.environ)
    env["LEGATO_HOME"] = str(tmp_path / "home")
    env["LEGATO_TEST_LEDGER"] = str(ledger := tmp_path / "ledger.txt")
    env["PYTHONPATH"] = os.pathsep.join([str(RESOURCES), env.get("PYTHONPATH", "")])
    crashed = script({**env, "LEGATO_CRASH_AT": f"task_claimed@{hit}"}, "run")
    assert crashed.returncode == -9, crashed.stderr
    run_id, before, _ = stored(tmp_path / "home")
    # the crash came after the item's decision was committed, before its branch's first task
    assert before[f"{decided}[{item}]"] == "succeeded"
    assert before[f"when[{item}]"] == ("succeeded" if decided == "when" else "skipped")
    assert before[f"{first}[{item}]"] in ("pending", "ready", "running")
    assert f"{first}-{item}" not in ran(ledger)

    resumed = script(env, "resume", run_id)
    assert resumed.returncode == 0, resumed.stderr
    assert "RETRAINED ACME;kept bolt;RETRAINED CRUX;kept dyne" in resumed.stdout
    _, after, attempts = stored(tmp_path / "home")
    for customer in ib.CUSTOMERS:
        drifting = ib.DRIFT[customer] > 0.5
        taken = {"when", "retrain", "shout", "page"} if drifting else {"otherwise", "keep"}
        for step in ("when", "retrain", "shout", "page", "otherwise", "keep", "one_of"):
            want = "succeeded" if step in taken or step == "one_of" else "skipped"
            assert after[f"{step}[{customer}]"] == want, (step, customer)
    # the decision was not made again, and the branch ran once, for this item only
    assert attempts[f"{decided}[{item}]"] == 1
    counts = ran(ledger)
    assert counts[f"{first}-{item}"] == 1
    assert counts == {
        **{f"drift-{c}": 1 for c in ib.CUSTOMERS},
        "retrain-acme": 1,
        "retrain-crux": 1,
        "keep-bolt": 1,
        "keep-dyne": 1,
        "page": counts["page"],  # the same call for each item: later items hit the cache
        "summary": 1,
    }
