"""A killed orchestrator leaves no task running behind it: its worker processes, and what
their tasks started, die with it (a resumed run would otherwise run them twice at once)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import alive

SCRIPT = Path(__file__).resolve().parents[1] / "resources" / "orphan_run.py"


def test_workers_and_their_children_die_with_a_killed_orchestrator(tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    orchestrator = subprocess.Popen(
        [sys.executable, str(SCRIPT), str(pid_file)],
        env={**os.environ, "LEGATO_HOME": str(tmp_path / "home")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not pid_file.exists():
            assert time.monotonic() < deadline, "the task never started"
            assert orchestrator.poll() is None, "the orchestrator ended early"
            time.sleep(0.05)
        worker, child = map(int, pid_file.read_text().split())
        assert alive(worker)
        assert alive(child)

        orchestrator.send_signal(signal.SIGKILL)
        orchestrator.wait(timeout=10)

        deadline = time.monotonic() + 10
        while alive(worker) or alive(child):
            assert time.monotonic() < deadline, (
                f"still running 10 s after the orchestrator died: "
                f"worker {alive(worker)}, the task's child {alive(child)}"
            )
            time.sleep(0.05)
    finally:
        if orchestrator.poll() is None:
            orchestrator.kill()
        if pid_file.exists():
            for pid in map(int, pid_file.read_text().split()):
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)
