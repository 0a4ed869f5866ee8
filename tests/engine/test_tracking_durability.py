"""A task's tracked values are committed in the same transaction as its success: an
orchestrator killed right after that commit has lost none of them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from legato.model.tracking import TrackKind
from legato.store.open import open_run_store

SCRIPT = Path(__file__).resolve().parents[1] / "resources" / "tracking_crash.py"


@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_metrics_survive_a_kill_right_after_the_success_commit(
    tmp_path: Path, executor: str
) -> None:
    env = {
        **os.environ,
        "LEGATO_HOME": str(tmp_path / "home"),
        "LEGATO_CRASH_AT": "state_committed",
        "LEGATO_CRASH_SIGNAL": "KILL",
    }
    done = subprocess.run(
        [sys.executable, str(SCRIPT), executor],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == -9, done.stderr  # killed at the crash point, not finished

    store = open_run_store(f"sqlite:///{tmp_path / 'home' / 'legato.db'}")
    try:
        (run,) = store.list_runs()
        states = {t.key: t.state.value for t in store.task_records(run.run_id)}
        assert states["fit"] == "succeeded"
        assert states["report"] in {"ready", "running"}  # killed while it ran
        tracked = store.read_tracked(run.run_id)
    finally:
        store.close()
    metrics = {(t.name, t.step): t.value for t in tracked if t.kind is TrackKind.METRIC}
    assert metrics == {("loss", 0): 1.0, ("loss", 1): 0.5, ("loss", 2): pytest.approx(1 / 3)}
    assert [(t.name, t.value) for t in tracked if t.kind is TrackKind.PARAM] == [("lr", 0.1)]
