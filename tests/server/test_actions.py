"""Cancel and resume through the API. A run started by another process (``legato run``, on
the threads and the processes executor) is cancelled through the API on SQLite and on
PostgreSQL: the request is recorded in the store and the run's own orchestrator acts on it.
A resume starts ``legato resume`` in a child process that outlives the request."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import server_pipelines as sp
from starlette.testclient import TestClient

import legato
from legato.config import load_settings
from legato.engine.storage import open_storage
from legato.errors import StoreError
from legato.model.run_query import RunQuery
from legato.model.runs import RunInfo
from legato.model.states import RunState
from legato.server.app import create_app
from legato.server.auth import Tokens
from legato.server.launch import LOG_FOLDER
from store.conftest import postgres_schema, postgres_server, postgres_url  # noqa: F401

from .conftest import BASE, headers_for, server_config
from .processes import RESOURCES

RUN = "/api/v1/runs/{}"


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The run store the runs and the server share: the home's SQLite file, or a
    PostgreSQL schema (``LEGATO_STATE_URL``, seen by the server and the run's process)."""
    if request.param == "postgres":
        monkeypatch.setenv("LEGATO_STATE_URL", request.getfixturevalue("postgres_url"))
    open_storage(load_settings())  # the tables, as a first run would make them
    return str(request.param)


@pytest.fixture
def operator(tokens: Tokens) -> Iterator[TestClient]:
    """A client of a server made now (after the backend is chosen), as an operator."""
    app = create_app(server_config(tokens))
    with TestClient(app, base_url=BASE, headers=headers_for("operator", tokens)) as client:
        yield client


def _start(pipeline: str, *params: str, executor: str = "threads") -> subprocess.Popen[str]:
    argv = [
        sys.executable,
        "-m",
        "legato.cli",
        "run",
        f"{RESOURCES / 'server_pipelines.py'}:{pipeline}",
    ]
    for pair in params:
        argv += ["-p", pair]
    return subprocess.Popen(
        [*argv, "--executor", executor, "--no-logs"],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(check: Any, what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = check()
        except StoreError:  # the other process is making the database's tables
            found = None
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{what} within {timeout}s")


def _running_run(since: float, pipeline: str, pid: int) -> RunInfo:
    """The run process ``pid`` made, once a few of its tasks have moved."""
    store = open_storage(load_settings(), read_only=True).runs

    def running() -> RunInfo | None:
        page = store.find_runs(RunQuery(pipeline=pipeline, created_from=since, limit=20))
        for info in page.runs:
            if info.environment.get("pid") == pid and len(store.read_events(info.run_id)) > 3:
                return info
        return None

    found: RunInfo = _wait_for(running, "the run did not start")
    return found


@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_a_run_of_another_process_is_cancelled_through_the_api(
    backend: str, executor: str, operator: TestClient
) -> None:
    since = time.time() - 1
    process = _start("slow", "pause=0.3", executor=executor)
    try:
        info = _running_run(since, "slow", process.pid)
        answer = operator.post(RUN.format(info.run_id) + "/cancel")
        assert answer.status_code == 200, answer.text
        assert answer.json()["cancel_requested"]
        assert process.wait(timeout=60) == 130, process.stderr.read() if process.stderr else ""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    shown = operator.get(RUN.format(info.run_id)).json()
    assert shown["run"]["state"] == "cancelled"
    assert "through the API by operator" in shown["cancel_reason"]
    tasks = operator.get(RUN.format(info.run_id) + "/tasks").json()["tasks"]
    assert {t["state"] for t in tasks} <= {"succeeded", "cancelled"}
    assert "cancelled" in {t["state"] for t in tasks}
    again = operator.post(RUN.format(info.run_id) + "/cancel")
    assert again.status_code == 200  # already cancelled: answered as it is
    assert again.json()["state"] == "cancelled"


def test_a_cancel_is_refused_for_an_ended_or_crashed_run(
    operator: TestClient, scored_runs: Any, storage: Any
) -> None:
    ended = operator.post(RUN.format(scored_runs[0].run_id) + "/cancel")
    assert ended.status_code == 409
    assert "already ended: succeeded" in ended.json()["error"]
    storage.runs.create_run(
        RunInfo(
            run_id="gone",
            pipeline="slow",
            state=RunState.RUNNING,
            created_at=time.time() - 900,
            heartbeat_at=time.time() - 800,
            owner="elsewhere:1:x",
        )
    )
    crashed = operator.post(RUN.format("gone") + "/cancel")
    assert crashed.status_code == 409
    assert "crashed" in crashed.json()["error"]
    assert storage.runs.get_run("gone").cancel_requested_at is None
    assert operator.post(RUN.format("nosuchrun") + "/cancel").status_code == 404


def test_a_failed_run_is_resumed_in_a_child_process(
    operator: TestClient,
    storage: Any,
    tmp_path: Path,
    legato_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The run's target is the module server_pipelines: the resume's process imports it.
    monkeypatch.setenv("PYTHONPATH", str(RESOURCES))
    failed = legato.run(
        sp.once, {"marker": str(tmp_path / "marker")}, executor="inline", store=storage
    )
    assert failed.state is RunState.FAILED
    answer = operator.post(RUN.format(failed.run_id) + "/resume")
    assert answer.status_code == 202, answer.text
    accepted = answer.json()
    assert accepted["action"] == "resume"
    assert accepted["run_id"] == failed.run_id

    def ended() -> str | None:
        (task,) = operator.get(RUN.format(failed.run_id) + "/tasks").json()["tasks"]
        state = operator.get(RUN.format(failed.run_id)).json()["run"]["state"]
        resumed = len(task["attempts"]) == 2
        return state if resumed and state in ("succeeded", "failed") else None

    assert _wait_for(ended, "the resume did not end") == "succeeded", (
        legato_home / LOG_FOLDER / accepted["log"]
    ).read_text()
    tasks = operator.get(RUN.format(failed.run_id) + "/tasks").json()["tasks"]
    assert [a["state"] for a in tasks[0]["attempts"]] == ["failed", "succeeded"]


def test_a_resume_is_refused_unless_the_run_can_be_resumed(
    operator: TestClient, scored_runs: Any, storage: Any
) -> None:
    done = operator.post(RUN.format(scored_runs[0].run_id) + "/resume")
    assert done.status_code == 409
    assert "only a failed, cancelled or crashed run" in done.json()["error"]
    storage.runs.create_run(
        RunInfo(
            run_id="live",
            pipeline="slow",
            state=RunState.RUNNING,
            created_at=time.time(),
            heartbeat_at=time.time(),
            owner="elsewhere:1:x",
        )
    )
    assert operator.post(RUN.format("live") + "/resume").status_code == 409
    storage.runs.create_run(
        RunInfo(
            run_id="notebook",
            pipeline="slow",
            state=RunState.FAILED,
            created_at=time.time(),
            heartbeat_at=time.time(),
            owner="elsewhere:1:x",
        )
    )
    refused = operator.post(RUN.format("notebook") + "/resume")
    assert refused.status_code == 409
    assert "cannot be loaded again" in refused.json()["error"]
