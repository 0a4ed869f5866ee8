"""Helpers for the ``legato`` command tests: the command in this process (typer's runner,
for what needs no terminal or signals) and as a real process (``python -m legato.cli``),
with a pipe or a pseudo-terminal as its standard output."""

from __future__ import annotations

import inspect
import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from legato.cli.app import app_for

RESOURCES = Path(__file__).parents[1] / "resources"
PIPELINES = RESOURCES / "cli_pipelines.py"
SLOW = RESOURCES / "cli_slow.py"


def target(name: str, file: Path = PIPELINES) -> str:
    """``path/to/file.py:name``."""
    return f"{file}:{name}"


Invoke = Callable[..., Result]


@pytest.fixture
def cli() -> Invoke:
    """Run ``legato ARGS...`` in this process; exceptions the command does not handle
    propagate (they are bugs)."""
    # Standard error apart from standard output (click < 8.2 mixes them unless told not to).
    separate = "mix_stderr" in inspect.signature(CliRunner.__init__).parameters
    runner = CliRunner(**({"mix_stderr": False} if separate else {}))

    def invoke(*args: str) -> Result:
        # The app `legato` itself parses these arguments with (see app_for).
        return runner.invoke(app_for(args), list(args), catch_exceptions=False)

    return invoke


def command(*args: str) -> list[str]:
    """The argv of ``legato ARGS...`` as a separate process."""
    return [sys.executable, "-m", "legato.cli", *args]


def legato(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``legato ARGS...`` in a new process (its standard output is a pipe)."""
    return subprocess.run(
        command(*args), capture_output=True, text=True, timeout=timeout, check=False
    )


def _default_sigint() -> None:
    # Started from a background job (CI, `pytest &`) a process inherits SIGINT ignored, and
    # Python then leaves it ignored: the command would never see the Ctrl-C a test sends.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(*args: str) -> subprocess.Popen[str]:
    """Start ``legato ARGS...`` in a new process, with Ctrl-C (SIGINT) as in a terminal."""
    return subprocess.Popen(
        command(*args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,  # noqa: PLW1509 (tests start processes from one thread)
    )


def wait_for(path: Path, timeout: float = 30) -> str:
    """The contents of ``path`` once it exists."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear within {timeout}s")
        time.sleep(0.02)
    time.sleep(0.02)  # written in one go, but let the write finish
    return path.read_text()


def run_id_of(output: str) -> str:
    """The run id in the ``run <id> ...`` line a run command ends with."""
    for line in reversed(output.splitlines()):
        if line.startswith("run "):
            return line.split()[1]
    raise AssertionError(f"no run line in:\n{output}")


def in_terminal(*args: str, timeout: float = 60) -> tuple[int, str]:
    """Run ``legato ARGS`` with a pseudo-terminal as its standard output."""
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        command(*args),
        stdin=subprocess.DEVNULL,
        stdout=secondary,
        stderr=secondary,
        env={**os.environ, "COLUMNS": "120", "TERM": "xterm"},
    )
    os.close(secondary)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([primary], [], [], 0.1)
        if ready:
            try:
                data = os.read(primary, 65536)
            except OSError:  # the terminal closed: the process ended
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(primary)
    code = proc.wait(timeout=10)
    return code, b"".join(chunks).decode("utf-8", "replace")
