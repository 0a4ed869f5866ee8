"""Shared fixtures. Tests use real executors, real processes and real files; only time is
faked (``legato.testing.FakeClock``) where a test needs it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from legato.choices import ExecutorName
from legato.config import ENVIRONMENT

RESOURCES = Path(__file__).parent / "resources"
sys.path.insert(0, str(RESOURCES))  # fixture pipelines import like any user module

EXECUTORS = tuple(name.value for name in ExecutorName)
"""Every executor a run can name: a new one runs every per-executor test."""


@pytest.fixture(autouse=True)
def legato_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own state folder: runs are durable by default, and no test may
    see another's runs or cache entries."""
    home = tmp_path_factory.mktemp("legato-home")
    monkeypatch.setenv("LEGATO_HOME", str(home))
    for variable in ENVIRONMENT:  # settings of whoever runs the tests do not apply
        if variable != "LEGATO_HOME":
            monkeypatch.delenv(variable, raising=False)
    return home


@pytest.fixture(params=EXECUTORS)
def executor(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once per executor."""
    return str(request.param)


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A file tasks append to (one line per execution), visible to worker processes."""
    path = tmp_path / "ledger.txt"
    path.touch()
    monkeypatch.setenv("LEGATO_TEST_LEDGER", str(path))
    return path


def ledger_lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie waiting for its parent to reap it is
    dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


__all__ = ["EXECUTORS", "RESOURCES", "alive", "ledger_lines", "os"]
