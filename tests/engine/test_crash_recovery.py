"""Crash recovery, for real: the orchestrator process is killed (SIGKILL) or terminated
(SIGTERM) at each named crash point, then the run is resumed in a new process.

Every cell must end succeeded with the right output; tasks whose success was committed
before the crash run 0 more times, and a task in flight at the crash at most once more
(counted with a ledger file the tasks append to).
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
from pathlib import Path

import pytest

from legato._crash import POINTS
from legato.model.states import TaskState
from legato.store.open import open_run_store

SCRIPT = Path(__file__).parents[1] / "resources" / "crash_pipeline.py"
EXPECTED = 0 + 1 + 4 + 6  # squares of 0, 1, 2 plus a chain of 6 increments


def run_script(
    env: dict[str, str], *args: str, script: Path = SCRIPT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def base_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["LEGATO_HOME"] = str(tmp_path / "home")
    env["LEGATO_TEST_LEDGER"] = str(tmp_path / "ledger.txt")
    env.pop("LEGATO_CRASH_AT", None)
    return env


def ledger(tmp_path: Path) -> collections.Counter[str]:
    path = tmp_path / "ledger.txt"
    return collections.Counter(path.read_text().split()) if path.exists() else collections.Counter()


def committed_keys(home: Path) -> tuple[str, set[str]]:
    """The run id and the tasks whose success the store holds (committed before the crash)."""
    store = open_run_store(str(home / "legato.db"))
    try:
        (run,) = store.list_runs()
        done = {
            record.key
            for record in store.task_records(run.run_id)
            if record.state is TaskState.SUCCEEDED and not record.mapped
        }
        return run.run_id, done
    finally:
        store.close()


def ledger_name(task_key: str) -> str:
    # step_3 -> step2 (the third call), square[1] -> square1, items -> items, total -> total
    if task_key.startswith("step"):
        _, _, n = task_key.partition("_")
        return f"step{int(n) - 1 if n else 0}"
    if task_key.startswith("square["):
        return f"square{task_key[7:-1]}"
    return task_key


CELLS = [
    *[(point, signal_name, False) for signal_name in ("KILL", "TERM") for point in POINTS],
    # Every append made by the store's append process, which outlives the orchestrator by
    # the transaction it is in.
    *[(point, "KILL", True) for point in POINTS],
]


@pytest.mark.parametrize(("point", "signal_name", "offload"), CELLS)
def test_crash_at_each_point_then_resume(
    tmp_path: Path, point: str, signal_name: str, offload: bool
) -> None:
    env = base_env(tmp_path)
    if offload:
        env["LEGATO_TEST_OFFLOAD"] = "1"
    hit = 1 if point in ("run_created", "run_finalised") else 3
    crashed = run_script(
        {**env, "LEGATO_CRASH_AT": f"{point}@{hit}", "LEGATO_CRASH_SIGNAL": signal_name}, "run"
    )
    if signal_name == "KILL":
        assert crashed.returncode == -9, crashed.stderr
    else:  # handled: the run is cancelled cleanly, or killed before the handler exists
        assert crashed.returncode in (130, -15, 0), crashed.stderr
    before = ledger(tmp_path)
    run_id, done = committed_keys(Path(env["LEGATO_HOME"]))

    resumed = run_script(env, "resume", run_id)

    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert resumed.stdout.split() == [run_id, "succeeded", str(EXPECTED)]
    after = ledger(tmp_path)
    expected_names = {f"step{i}" for i in range(6)} | {"items", "total"}
    expected_names |= {f"square{i}" for i in range(3)}
    assert set(after) == expected_names
    for key in done:
        name = ledger_name(key)
        assert after[name] == before[name] == 1, f"{key} ran again after its commit"
    for name, count in after.items():
        assert count <= 2, f"{name} ran {count} times"
        assert count - before[name] <= 1


@pytest.mark.parametrize(
    ("executor", "offload"), [("inline", False), ("threads", True)], ids=["inline", "offloaded"]
)
def test_kill_after_task_37_of_a_100_task_chain(
    tmp_path: Path, executor: str, offload: bool
) -> None:
    env = {**base_env(tmp_path), "LEGATO_TEST_LONG": "1", "LEGATO_TEST_EXECUTOR": executor}
    if offload:
        env["LEGATO_TEST_OFFLOAD"] = "1"
    crashed = run_script({**env, "LEGATO_CRASH_AT": "state_committed@37"}, "run")
    assert crashed.returncode == -9
    run_id, done = committed_keys(Path(env["LEGATO_HOME"]))
    assert len(done) >= 37  # the batch that held the 37th success was committed whole

    resumed = run_script(env, "resume", run_id)

    assert resumed.stdout.split() == [run_id, "succeeded", "100"], resumed.stderr
    after = ledger(tmp_path)
    assert all(after[f"step{i}"] == 1 for i in range(37)), after
    assert all(after[f"step{i}"] <= 2 for i in range(100)), after
