"""A mapped sub-pipeline survives its orchestrator's death: killed (SIGKILL) after some of
the items' steps were committed, the run resumed in a new process ends with the right
output, and every step whose success was committed before the crash ran only once."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest

from legato.model.states import TaskState
from legato.store.open import open_run_store

from .test_crash_recovery import base_env, run_script

SCRIPT = Path(__file__).parents[1] / "resources" / "lane_crash.py"


@pytest.mark.parametrize("executor", ["inline", "processes"])
def test_a_killed_lane_run_resumes_and_reruns_only_unfinished_steps(
    tmp_path: Path, executor: str
) -> None:
    env = base_env(tmp_path)
    env["LEGATO_TEST_EXECUTOR"] = executor
    env["LEGATO_CRASH_AT"] = "state_committed@3"
    crashed = run_script(env, "run", script=SCRIPT)
    assert crashed.returncode != 0
    store = open_run_store(str(tmp_path / "home" / "legato.db"))
    try:
        (run,) = store.list_runs()
        done = {r.key for r in store.task_records(run.run_id) if r.state is TaskState.SUCCEEDED}
    finally:
        store.close()
    assert done  # some steps were committed, and
    assert "total" not in done  # the run was cut short

    env.pop("LEGATO_CRASH_AT")
    resumed = run_script(env, "resume", run.run_id, script=SCRIPT)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.strip() == "16"
    ran = collections.Counter((tmp_path / "ledger.txt").read_text().split())
    for key in done:  # chain.train[acme] -> train-acme
        step, _, item = key.removeprefix("chain.").partition("[")
        assert ran[f"{step}-{item[:-1]}"] == 1, (key, ran)
    assert all(count <= 2 for count in ran.values()), ran
    assert set(ran) == {
        f"{s}-{c}" for s in ("clean", "train") for c in ("acme", "bolt", "crux", "dyne")
    } | {"total-all"}
