"""A run is cancelled from anywhere through its store: another process records a request
(``RunStore.request_cancel``), the orchestrator reads it at its pulse and cancels as a Ctrl-C
would. Real orchestrator processes, threads and processes executors, SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from legato.cli.exits import CANCELLED
from legato.model.states import RunState, TaskState
from legato.store.base import RunStore
from legato.store.open import open_run_store

pytestmark = pytest.mark.timeout(120)

SLOW = Path(__file__).parents[1] / "resources" / "cli_slow.py"


def _stores() -> list[str]:
    urls = ["sqlite"]
    if os.environ.get("LEGATO_TEST_POSTGRES_URL"):
        urls.append("postgres")
    return urls


@pytest.fixture(params=_stores())
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'legato.db'}"
    return os.environ["LEGATO_TEST_POSTGRES_URL"]


@pytest.fixture
def store(store_url: str) -> Iterator[RunStore]:
    runs = open_run_store(store_url)
    try:
        yield runs
    finally:
        runs.close()


def _start(tmp_path: Path, store_url: str, executor: str, gate: Path) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env.update(
        LEGATO_HOME=str(tmp_path / "home"),
        LEGATO_STATE_URL=store_url,
        LEGATO_ARTIFACTS_URL=str(tmp_path / "artifacts"),
    )
    argv = [sys.executable, "-m", "legato.cli", "run", f"{SLOW}:gated", "-p", f"gate={gate}"]
    return subprocess.Popen(
        [*argv, "--executor", executor],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(path: Path, child: subprocess.Popen[str]) -> str:
    deadline = time.monotonic() + 60
    while not path.exists():
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)
    return path.read_text()


@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_a_run_started_elsewhere_is_cancelled_through_the_store(
    tmp_path: Path, store_url: str, store: RunStore, executor: str
) -> None:
    gate = tmp_path / "gate"  # never opened: the task would wait 60 s
    child = _start(tmp_path, store_url, executor, gate)
    run_id = _wait_for(Path(f"{gate}.started"), child)

    asked = store.request_cancel(run_id, "cancelled by a test in another process")
    assert asked.cancel_requested_at is not None

    out, err = child.communicate(timeout=30)  # well before the task's 60 s: it was stopped
    assert child.returncode == CANCELLED, err
    assert "cancelling cancelled by a test in another process" in out
    assert "the gate is open" not in out
    info = store.get_run(run_id)
    assert info.state is RunState.CANCELLED
    assert info.reason == "cancelled by a test in another process"
    waited = {r.key: r for r in store.task_records(run_id)}["wait_for_gate"]
    assert waited.state is TaskState.CANCELLED
    # The run is resumable; the resume (a take-over) is not cancelled by the old request.
    assert store.cancel_requested(run_id) == "cancelled by a test in another process"
    gate.touch()
    env = dict(os.environ, LEGATO_STATE_URL=store_url)
    env["LEGATO_ARTIFACTS_URL"] = str(tmp_path / "artifacts")
    env["LEGATO_HOME"] = str(tmp_path / "home")
    resumed = subprocess.run(
        [sys.executable, "-m", "legato.cli", "resume", run_id],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert store.get_run(run_id).state is RunState.SUCCEEDED
    assert store.cancel_requested(run_id) is None
