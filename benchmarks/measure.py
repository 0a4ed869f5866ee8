"""Running one configuration as fresh processes and reducing the runs to medians.

Whole-process figures are taken from outside, the way the peers' ``harness.py`` takes them:
wall time is a monotonic clock around the child, peak RSS is ``ru_maxrss`` from ``os.wait4``
(the largest single process among the child and the descendants it waited for, not their
sum). In-process figures come from the ``BENCH {json}`` line the child prints.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["PYCACHE", "Measured", "Process", "measured_env", "median", "run_process"]

PYCACHE = Path(tempfile.gettempdir()) / "legato-bench-pycache"
"""Where measured processes keep their bytecode caches (outside the source trees)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Process:
    """One run of a child process."""

    wall_s: float
    """Seconds from start to exit, measured outside."""
    peak_rss_mb: float
    """``ru_maxrss`` of the child and its waited-for descendants, in MiB."""
    exit: int
    bench: Mapping[str, Any]
    """The child's ``BENCH`` record (empty if it printed none)."""


@dataclass(slots=True, kw_only=True)
class Measured:
    """All recorded runs of one configuration."""

    runs: list[Process] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.runs) and all(r.exit == 0 and r.bench.get("ok", False) for r in self.runs)

    def med(self, key: str) -> float | None:
        """The median of an in-process figure over the runs that have it."""
        return median(r.bench.get(key) for r in self.runs)

    @property
    def wall_s(self) -> float | None:
        return median(r.wall_s for r in self.runs)

    @property
    def peak_rss_mb(self) -> float | None:
        return median(r.peak_rss_mb for r in self.runs)


def median(values: Iterable[Any]) -> float | None:
    """The median of the numbers among ``values`` (None when there are none)."""
    numbers = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    return statistics.median(numbers) if numbers else None


def measured_env(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` for a measured process, with Python's bytecode caches on (in :data:`PYCACHE`),
    as an installed legato has them: an environment that turns them off
    (``PYTHONDONTWRITEBYTECODE``) has every fresh process compile legato's modules from
    source (a third of the append process's instructions; a worker's first imports)."""
    measured = dict(env)
    measured.pop("PYTHONDONTWRITEBYTECODE", None)
    measured["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return measured


def run_process(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    log: Path,
    timeout: float,
) -> Process:
    """Run ``argv`` to its end (killing its process group after ``timeout`` seconds)."""
    started = time.monotonic()
    with log.open("wb") as out:
        child = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                os.killpg(child.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(child.pid, 0)
                break
            time.sleep(0.002)
    wall = time.monotonic() - started
    with contextlib.suppress(ProcessLookupError):  # what the run left in its process group
        os.killpg(child.pid, signal.SIGKILL)
    bench: dict[str, Any] = {}
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("BENCH "):
            bench = json.loads(line[len("BENCH ") :])
    return Process(
        wall_s=wall,
        peak_rss_mb=usage.ru_maxrss / 1024.0,
        exit=os.waitstatus_to_exitcode(status),
        bench=bench,
    )


class Homes:
    """Fresh ``LEGATO_HOME`` folders under one temporary root, removed at the end."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="legato-bench-"))

    def new(self) -> Path:
        return Path(tempfile.mkdtemp(dir=self.root))

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
