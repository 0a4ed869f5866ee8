"""``legato.liveness``: whether a run's orchestrator lives, judged on real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from legato.liveness import orchestrator_alive, orchestrator_pid, owner_token, started_at


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    """A real process of this host, killed at the end."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def _token(pid: int, host: str | None = None) -> str:
    return f"{host or owner_token().split(':')[0]}:{pid}:0123456789ab"


def test_a_token_names_this_host_and_process() -> None:
    assert orchestrator_pid(owner_token()) == os.getpid()
    assert orchestrator_pid(_token(4242, host="elsewhere")) is None
    assert orchestrator_pid("not-a-token") is None


def test_a_live_process_that_wrote_the_heartbeat_is_alive(
    child: subprocess.Popen[bytes],
) -> None:
    assert orchestrator_alive(_token(child.pid), heartbeat_at=time.time()) is True


def test_a_killed_orchestrator_is_dead_at_once(child: subprocess.Popen[bytes]) -> None:
    heartbeat = time.time()
    child.kill()
    child.wait()
    assert orchestrator_alive(_token(child.pid), heartbeat_at=heartbeat) is False


def test_a_zombie_is_dead(child: subprocess.Popen[bytes]) -> None:
    heartbeat = time.time()
    child.kill()
    deadline = time.monotonic() + 10
    while orchestrator_alive(_token(child.pid), heartbeat_at=heartbeat) is not False:
        assert time.monotonic() < deadline, "a killed, unreaped child still counts as alive"
        time.sleep(0.01)


def test_a_process_started_after_the_heartbeat_cannot_be_the_orchestrator(
    child: subprocess.Popen[bytes],
) -> None:
    started = started_at(child.pid)
    if started is None:
        pytest.skip("this system does not tell when a process started")
    # A heartbeat written before the pid's process started: the pid was reused.
    assert orchestrator_alive(_token(child.pid), heartbeat_at=started - 60) is None


def test_what_cannot_be_told_here(child: subprocess.Popen[bytes]) -> None:
    now = time.time()
    assert orchestrator_alive(_token(child.pid, host="elsewhere"), heartbeat_at=now) is None
    assert orchestrator_alive(owner_token(), heartbeat_at=now) is None  # this very process
