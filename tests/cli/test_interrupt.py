"""Stopping runs: Ctrl-C in the terminal that runs it, ``legato cancel`` from another one,
and a run whose orchestrator was killed; following logs; the live view on a terminal."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from legato.cli.exits import CANCELLED, FAILED, OK
from legato.config import load_settings
from legato.engine.storage import open_storage
from legato.model.states import RunState

from .conftest import SLOW, in_terminal, legato, start, target, wait_for


def _state(run_id: str) -> RunState:
    return open_storage(load_settings()).runs.get_run(run_id).state


def test_ctrl_c_cancels_the_run_which_exits_130_and_resumes(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    proc = start("run", target("gated", SLOW), "-p", f"gate={gate}")
    run_id = wait_for(Path(f"{gate}.started"))
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == CANCELLED, err
    assert "cancelling interrupted (Ctrl-C)" in out
    assert f"run {run_id} cancelled in " in out
    assert f"legato resume {run_id}" in out
    assert _state(run_id) is RunState.CANCELLED
    gate.touch()
    resumed = legato("resume", run_id)
    assert resumed.returncode == OK, resumed.stderr
    assert "started    wait_for_gate  attempt 2" in resumed.stdout
    assert f"run {run_id} succeeded in " in resumed.stdout
    assert _state(run_id) is RunState.SUCCEEDED


def test_cancel_from_another_process(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    proc = start("run", target("gated", SLOW), "-p", f"gate={gate}")
    run_id = wait_for(Path(f"{gate}.started"))
    cancelled = legato("cancel", run_id[:12])
    out, _ = proc.communicate(timeout=30)
    assert cancelled.returncode == OK, cancelled.stderr
    assert f"asked run {run_id} to cancel" in cancelled.stdout
    assert f"run {run_id} cancelled; resume it with: legato resume {run_id}" in (cancelled.stdout)
    assert proc.returncode == CANCELLED
    assert "cancelling cancelled by " in out
    assert "(legato cancel)" in out
    assert _state(run_id) is RunState.CANCELLED
    again = legato("cancel", run_id)
    assert again.returncode == OK
    assert "already cancelled" in again.stdout


def test_a_run_whose_orchestrator_died_shows_as_crashed_and_cannot_be_cancelled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = tmp_path / "gate"
    proc = start("run", target("gated", SLOW), "-p", f"gate={gate}")
    run_id = wait_for(Path(f"{gate}.started"))
    proc.kill()
    proc.communicate(timeout=30)
    refused = legato("cancel", run_id)
    assert refused.returncode == FAILED
    assert f"its orchestrator (process {proc.pid}) is gone" in refused.stderr
    assert f"legato resume {run_id}" in refused.stderr
    monkeypatch.setenv("LEGATO_STALE_AFTER", "2")  # the shortest lease allowed
    time.sleep(2.2)
    listed = legato("runs", "--state", "crashed")
    assert listed.returncode == OK
    assert [line.split()[:3] for line in listed.stdout.splitlines()[1:]] == [
        [run_id, "gated", "crashed"]
    ]
    assert legato("runs", "--state", "running").stdout.strip().endswith(" match")
    gate.touch()
    resumed = legato("resume", run_id)
    assert resumed.returncode == OK, resumed.stderr


def test_logs_follow_prints_until_the_run_ends(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    proc = start("run", target("gated", SLOW), "-p", f"gate={gate}", "--no-logs")
    run_id = wait_for(Path(f"{gate}.started"))
    follower = start("logs", run_id, "--follow")
    time.sleep(1.0)  # it prints what is stored and keeps polling
    assert follower.poll() is None
    gate.touch()
    out, err = follower.communicate(timeout=30)
    assert follower.returncode == OK, err
    header, *lines = out.splitlines()
    # The attempt as it was when its first output was read: running, or already done.
    assert header in (
        "==> wait_for_gate · attempt 1 · running <==",
        "==> wait_for_gate · attempt 1 · succeeded <==",
    )
    assert lines == ["waiting for the gate", "the gate is open"]
    proc.communicate(timeout=30)
    assert proc.returncode == OK


def test_on_a_terminal_the_live_view_runs_and_ends_with_the_summary(tmp_path: Path) -> None:
    code, screen = in_terminal("run", target("flaky"), "-p", f"marker={tmp_path / 'marker'}")
    assert code == OK, screen
    assert "retrying" in screen
    assert "flaky_step" in screen
    assert "overhead per task:" in screen
    assert "attempts" in screen  # the summary table
