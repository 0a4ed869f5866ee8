"""Runs the server starts or resumes run in child processes: ``python -m legato.cli run`` or
``resume``, each in a session of its own (a Ctrl-C or SIGTERM to the server does not reach
it, and the run outlives the server), its output written to a log file under the legato
home (``ui-runs/``). The server stays responsive whatever the run does, and a run that
crashes takes nothing of the server with it. A thread per child waits for it, so no exited
child is left a zombie.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LOG_FOLDER", "Launched", "Launcher"]

LOG_FOLDER = "ui-runs"
"""Where, in the legato home, the output of the runs the server started is written."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Launched:
    """A ``legato`` command the server started."""

    pid: int
    log: str
    """The log file's name in the launcher's folder of the legato home (``ui-runs/``)."""
    process: subprocess.Popen[bytes]
    path: Path
    """The log file."""

    def output(self) -> str:
        """What the command wrote so far."""
        try:
            return self.path.read_text(errors="replace")
        except OSError:
            return ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Launcher:
    """Starts ``legato`` commands for the server's profile."""

    home: Path
    profile: str | None = None
    folder: str = LOG_FOLDER
    """Where in the legato home the commands' output is written."""

    def run(self, target: str, params: Sequence[str], *, run_id: str | None = None) -> Launched:
        """``legato run TARGET -p name=value ... [--run-id ID]``."""
        argv = ["run", target]
        for pair in params:
            argv += ["-p", pair]
        if run_id is not None:
            argv += ["--run-id", run_id]
        return self._start(argv, "run")

    def resume(self, run_id: str) -> Launched:
        """``legato resume RUN``."""
        return self._start(["resume", run_id], f"resume-{run_id}")

    def _start(self, argv: list[str], what: str) -> Launched:
        folder = self.home / self.folder
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 10**9:09d}-{what}.log"
        profile = ["--profile", self.profile] if self.profile else []
        with open(folder / name, "ab") as log:
            child = subprocess.Popen(
                [sys.executable, "-m", "legato.cli", *argv, *profile, "--no-logs"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        threading.Thread(target=child.wait, name=f"legato-ui-{what}", daemon=True).start()
        return Launched(pid=child.pid, log=name, process=child, path=folder / name)
