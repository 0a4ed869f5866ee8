"""Rollback survives a crash, for real: the orchestrator is killed (SIGKILL) while a failed
run rolls back, and a new process resumes it. Every handler runs exactly once, as the ledger
that tasks and handlers append to shows, except one in flight when the orchestrator died,
which runs at most once more."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
from pathlib import Path

import pytest

from legato._crash import ROLLBACK_POINTS
from legato.engine.reducer import fold
from legato.model.rollback import RollbackState
from legato.model.states import RunState
from legato.store.open import open_run_store

SCRIPT = Path(__file__).parents[1] / "resources" / "rollback_pipeline.py"


def run_script(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def base_env(tmp_path: Path, executor: str) -> dict[str, str]:
    env = dict(os.environ)
    env["LEGATO_HOME"] = str(tmp_path / "home")
    env["LEGATO_TEST_LEDGER"] = str(tmp_path / "ledger.txt")
    env["LEGATO_TEST_EXECUTOR"] = executor
    env["PYTHONPATH"] = os.pathsep.join([str(SCRIPT.parent), env.get("PYTHONPATH", "")])
    for name in ("LEGATO_CRASH_AT", "LEGATO_TEST_DIE_IN_UNDO"):
        env.pop(name, None)
    return env


def ledger(tmp_path: Path) -> collections.Counter[str]:
    path = tmp_path / "ledger.txt"
    lines = path.read_text().splitlines() if path.exists() else []
    return collections.Counter(" ".join(line.split()[:2]) for line in lines)


def the_run(home: Path) -> tuple[str, RunState, dict[str, RollbackState]]:
    store = open_run_store(str(home / "legato.db"))
    try:
        (info,) = store.list_runs()
        record = fold(store.read_events(info.run_id))
        return info.run_id, info.state, {k: c.state for k, c in record.rollbacks.items()}
    finally:
        store.close()


EACH_ONCE = {
    "do create": 1,
    "do publish": 1,
    "do plain": 1,
    "do explode": 1,
    "undo publish": 1,
    "undo create": 1,
}
"""The ledger of a run that did every task and undid publish and create, each once."""

# Each point, at the first compensation and at the last; both executors that run handlers
# in the orchestrator's process.
CASES = [
    (ROLLBACK_POINTS[0], 1, "threads"),
    (ROLLBACK_POINTS[0], 2, "inline"),
    (ROLLBACK_POINTS[1], 1, "inline"),
]


@pytest.mark.parametrize(("point", "hit", "executor"), CASES)
def test_kill_during_rollback_then_resume_runs_each_handler_once(
    tmp_path: Path, point: str, hit: int, executor: str
) -> None:
    env = base_env(tmp_path, executor)
    crashed = run_script({**env, "LEGATO_CRASH_AT": f"{point}@{hit}"}, "run")
    assert crashed.returncode == -9, crashed.stderr
    run_id, state, rollbacks = the_run(Path(env["LEGATO_HOME"]))
    assert state is RunState.ROLLING_BACK
    assert list(rollbacks) == ["publish", "create"]

    resumed = run_script(env, "resume", run_id)

    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert resumed.stdout.split() == [run_id, "failed"]
    after = ledger(tmp_path)
    assert after == EACH_ONCE
    _, state, rollbacks = the_run(Path(env["LEGATO_HOME"]))
    assert state is RunState.FAILED
    assert set(rollbacks.values()) == {RollbackState.SUCCEEDED}


@pytest.mark.parametrize("executor", ["threads", "inline"])
def test_kill_after_the_last_compensation_commit_finds_the_run_ended(
    tmp_path: Path, executor: str
) -> None:
    """The last compensation's outcome is committed with the run's end, in one transaction:
    a crash right after that commit leaves a finished run, with each handler run once, and
    nothing for a resume to do."""
    env = base_env(tmp_path, executor)
    crashed = run_script({**env, "LEGATO_CRASH_AT": f"{ROLLBACK_POINTS[1]}@2"}, "run")
    assert crashed.returncode == -9, crashed.stderr
    run_id, state, rollbacks = the_run(Path(env["LEGATO_HOME"]))
    assert state is RunState.FAILED
    assert rollbacks == {"publish": RollbackState.SUCCEEDED, "create": RollbackState.SUCCEEDED}
    assert ledger(tmp_path) == EACH_ONCE

    resumed = run_script(env, "resume", run_id)

    assert resumed.returncode != 0
    assert "rolled back" in resumed.stdout + resumed.stderr
    assert ledger(tmp_path)["undo create"] == 1


def test_a_handler_in_flight_when_the_orchestrator_dies_runs_at_most_once_more(
    tmp_path: Path,
) -> None:
    env = base_env(tmp_path, "threads")
    crashed = run_script({**env, "LEGATO_TEST_DIE_IN_UNDO": "publish"}, "run")
    assert crashed.returncode == -9, crashed.stderr
    run_id, state, rollbacks = the_run(Path(env["LEGATO_HOME"]))
    assert state is RunState.ROLLING_BACK
    assert rollbacks == {"publish": RollbackState.STARTED, "create": RollbackState.PLANNED}

    resumed = run_script({**env, "LEGATO_TEST_DIE_IN_UNDO": "publish"}, "resume", run_id)

    assert resumed.stdout.split() == [run_id, "failed"], resumed.stderr
    after = ledger(tmp_path)
    assert after["undo publish"] == 2  # it ran, the orchestrator died before its commit
    assert after["undo create"] == 1
    assert all(after[f"do {t}"] == 1 for t in ("create", "publish", "plain", "explode"))
    _, state, rollbacks = the_run(Path(env["LEGATO_HOME"]))
    assert state is RunState.FAILED
    assert set(rollbacks.values()) == {RollbackState.SUCCEEDED}
