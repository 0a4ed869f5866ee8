"""A run whose orchestrator died, as ``legato runs``, ``runs show``, ``logs``, ``cancel`` and
``resume`` see it: all judge the orchestrator alive or dead the same way
(``legato.liveness.orchestrator_alive``), on real processes."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from legato.cli.exits import FAILED, OK
from legato.cli.formats import duration
from legato.config import load_settings
from legato.engine.storage import open_storage
from legato.model.runs import RunInfo

from .conftest import SLOW, legato, start, target, wait_for


def _info(run_id: str) -> RunInfo:
    return open_storage(load_settings()).runs.get_run(run_id)


def _listed(run_id: str) -> list[str]:
    rows = [line.split() for line in legato("runs").stdout.splitlines()[1:]]
    (row,) = [r for r in rows if r[0] == run_id]
    return row


@pytest.fixture
def gated(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str, Path]]:
    """``legato run`` of a pipeline whose task waits for a gate file: the process, the run
    id once its task runs, and the gate."""
    gate = tmp_path / "gate"
    proc = start("run", target("gated", SLOW), "-p", f"gate={gate}")
    try:
        yield proc, wait_for(Path(f"{gate}.started")), gate
    finally:
        proc.kill()
        proc.communicate(timeout=30)


def test_a_killed_orchestrators_run_is_crashed_at_once_and_ran_until_its_last_heartbeat(
    gated: tuple[subprocess.Popen[str], str, Path],
) -> None:
    proc, run_id, gate = gated
    time.sleep(3.0)  # it runs a while (its task waits) before it dies
    killed = time.time()
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    info = _info(run_id)
    assert killed - info.heartbeat_at < 2.0  # heartbeats come every second, whatever the lease
    assert time.time() - info.heartbeat_at < load_settings().stale_after  # not stale yet

    row = _listed(run_id)
    assert row[2] == "crashed"
    assert row[-1] == duration(info.heartbeat_at - info.created_at)  # no "…": not growing
    assert legato("runs", "--state", "crashed").stdout.split()[5] == run_id
    none_running = legato("runs", "--state", "running").stdout.strip()
    assert none_running.startswith("no runs in ")
    assert none_running.endswith(" match")
    shown = legato("runs", "show", run_id).stdout
    assert "crashed  (no heartbeat since" in shown
    assert f"duration {duration(info.heartbeat_at - info.created_at)} " in shown
    assert f"resume it with: legato resume {run_id}" in shown
    follow = legato("logs", run_id, "--follow", timeout=20)  # ends: the run will not
    assert follow.returncode == OK
    assert "waiting for the gate" in follow.stdout

    gate.touch()
    resumed = legato("resume", run_id)  # as resume judges it: gone, taken over at once
    assert resumed.returncode == OK, resumed.stderr
    assert _listed(run_id)[2] == "succeeded"


def test_a_live_orchestrator_is_running_whatever_its_heartbeat_says(
    gated: tuple[subprocess.Popen[str], str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    proc, run_id, _ = gated
    monkeypatch.setenv("LEGATO_STALE_AFTER", "2")  # the shortest lease allowed
    proc.send_signal(signal.SIGSTOP)  # alive, but writes no heartbeat
    try:
        time.sleep(2.5)
        assert time.time() - _info(run_id).heartbeat_at > 2
        assert _listed(run_id)[2] == "running"
        refused = legato("resume", run_id)
        assert refused.returncode == FAILED
        assert f"still driven by process {proc.pid}" in refused.stderr
        cancelled = legato("cancel", run_id, "--wait", "0")
        assert cancelled.returncode == OK, cancelled.stderr
        assert f"asked run {run_id} to cancel" in cancelled.stdout
    finally:
        proc.send_signal(signal.SIGCONT)
    proc.communicate(timeout=30)
    assert _listed(run_id)[2] == "cancelled"
