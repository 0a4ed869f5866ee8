"""What the server changes, and only through the engine's own ways: a cancel is a request
recorded in the run store (``RunStore.request_cancel``), which the run's orchestrator reads
within a second wherever it runs, as ``legato cancel`` does; a resume or a new run is a
``legato`` command in a child process (:mod:`legato.server.launch`). Each is refused (409)
with what to do instead when the run's state does not allow it.

A new run is ``legato run TARGET -p name=value ...`` itself, so its parameters are checked
exactly as the command checks them (converted to the types the pipeline declares); the
server waits for the run to be created (the run whose recorded environment names the
child's process) and answers with its id, or with the command's own message when it
refuses (exit status 2: 422).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException

from legato.errors import ParameterError, StoreError
from legato.model.run_query import MAX_PAGE, RunQuery
from legato.model.runs import RunInfo
from legato.model.states import RUN_RESUMABLE, RunState
from legato.query.runs import CRASHED, shown_state
from legato.query.views import RunSummary, run_summary
from legato.secret_values import mask
from legato.server.launch import Launched, Launcher
from legato.store.base import RunStore

__all__ = [
    "START_WAIT",
    "Accepted",
    "OpenOnce",
    "PipelineList",
    "PipelineView",
    "StartRequest",
    "cancel_run",
    "param_pairs",
    "pipeline_names",
    "resume_run",
    "start_run",
]

START_WAIT = 30.0
"""Seconds a start waits for its run to be created (its parameters checked, its id known)
before it answers without the id."""
_USAGE = 2  # legato run's exit status for a bad parameter, target or definition
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class OpenOnce:
    """The store actions write to, opened by ``opener`` at the first action and kept (a
    server nobody asks to act opens nothing to write)."""

    def __init__(self, opener: Callable[[], RunStore]) -> None:
        self._opener = opener
        self._store: RunStore | None = None
        self._lock = threading.Lock()

    def __call__(self) -> RunStore:
        with self._lock:
            if self._store is None:
                self._store = self._opener()
            return self._store


@dataclass(frozen=True, slots=True, kw_only=True)
class Accepted:
    """A command the server started for a request: its process and log file."""

    action: str
    run_id: str | None
    """The run it acts on (None for a new run: it shows in the runs list once created)."""
    pid: int
    log: str


def _lease(info: RunInfo, stale_after: float) -> float:
    return max(stale_after, float(info.environment.get("lease", 0.0)))


def cancel_run(
    reader: RunStore, writer: RunStore, run_id: str, *, reason: str, stale_after: float
) -> RunSummary:
    """Ask run ``run_id``'s orchestrator to cancel it; the run as it now stands. A run
    already cancelled is answered as it is; one ended otherwise, or whose orchestrator is
    gone (crashed), is refused."""
    info = reader.get_run(run_id)
    now = time.time()
    if info.state is RunState.CANCELLED:
        return run_summary(info, info.state.value)
    if info.state.is_terminal:
        raise HTTPException(409, f"run {info.run_id} already ended: {info.state.value}")
    if now - info.heartbeat_at > _lease(info, stale_after):
        raise HTTPException(
            409,
            f"run {info.run_id} crashed: its orchestrator has written no heartbeat for "
            f"{now - info.heartbeat_at:.0f} s, so nothing would act on a cancel. Resume it "
            "(POST .../resume) or leave it",
        )
    asked = writer.request_cancel(info.run_id, reason)
    return run_summary(asked, shown_state(asked, stale_after, time.time()))


def resume_run(
    reader: RunStore, launcher: Launcher, run_id: str, *, stale_after: float
) -> Accepted:
    """Start ``legato resume`` for run ``run_id`` in a child process, if it can be
    resumed: it ended failed or cancelled, or it crashed, and its pipeline can be loaded
    again."""
    info = reader.get_run(run_id)
    shown = shown_state(info, stale_after, time.time())
    if info.state not in RUN_RESUMABLE or (not info.state.is_terminal and shown != CRASHED):
        raise HTTPException(
            409,
            f"run {info.run_id} is {shown}: only a failed, cancelled or crashed run can be resumed",
        )
    if not info.target:
        raise HTTPException(
            409,
            f"run {info.run_id} cannot be resumed here: its pipeline was defined where it "
            "cannot be loaded again (__main__ or a notebook); resume it from Python",
        )
    launched: Launched = launcher.resume(info.run_id)
    return Accepted(action="resume", run_id=info.run_id, pid=launched.pid, log=launched.log)


@dataclass(frozen=True, slots=True, kw_only=True)
class StartRequest:
    """A new run's parameters: each value a string as ``legato run -p name=value`` takes it
    (``"3"``, ``"adam"``, ``"[1, 2]"``), or any JSON value (given as its JSON text)."""

    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineView:
    """A pipeline the server can start: its name and target (``file.py:name`` or
    ``module:name``)."""

    name: str
    target: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineList:
    """The pipelines the server can start."""

    pipelines: tuple[PipelineView, ...]


def pipeline_names(targets: Iterable[str]) -> dict[str, str]:
    """Each target (``file.py:name`` or ``module:name``) by its pipeline's name;
    ``ParameterError`` for a target that names none, or two of one name."""
    found: dict[str, str] = {}
    for target in targets:
        _, sep, name = target.rpartition(":")
        if not sep or not _NAME.match(name):
            raise ParameterError(
                f"pipeline target {target!r} names no pipeline: write it path/to/file.py:name "
                "or package.module:name"
            )
        if name in found and found[name] != target:
            raise ParameterError(
                f"two pipelines are named {name!r} ({found[name]}, {target}): serve one"
            )
        found[name] = target
    return found


def param_pairs(params: dict[str, Any]) -> list[str]:
    """``params`` (a JSON object) as ``legato run -p`` takes them: ``name=value``, a string
    value as it is, any other as its JSON text."""
    pairs = []
    for name, value in params.items():
        if not _NAME.match(name):
            raise HTTPException(422, f"parameter name {name[:60]!r} is not a Python identifier")
        text = value if isinstance(value, str) else json.dumps(value)
        pairs.append(f"{name}={text}")
    return pairs


def start_run(
    reader: RunStore,
    launcher: Launcher,
    target: str,
    params: dict[str, Any],
    *,
    wait: float = START_WAIT,
) -> Accepted:
    """Start ``legato run TARGET -p ...`` in a child process, and wait until its run is
    created (answered with its id) or the command refuses the parameters, the target or
    the pipeline (``legato run``'s own checks, exit status 2: a 422 with its message). A
    run not created within ``wait`` seconds is answered without its id."""
    since = time.time() - 1.0
    launched = launcher.run(target, param_pairs(params))
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        found = _run_of(reader, since, launched.pid)
        if found is not None:
            return Accepted(action="run", run_id=found, pid=launched.pid, log=launched.log)
        code = launched.process.poll()
        if code is not None:
            found = _run_of(reader, since, launched.pid)
            if found is not None:
                return Accepted(action="run", run_id=found, pid=launched.pid, log=launched.log)
            said = _ANSI.sub("", launched.output()).strip() or f"exit status {code}"
            status = 422 if code == _USAGE else 500
            raise HTTPException(status, mask(f"legato run refused to start: {said}"))
        time.sleep(0.05)
    return Accepted(action="run", run_id=None, pid=launched.pid, log=launched.log)


def _run_of(reader: RunStore, since: float, pid: int) -> str | None:
    """The run created since ``since`` by process ``pid`` (its recorded environment names
    the process that made it; the name a server knows a pipeline by need not be the one
    its runs record)."""
    try:
        page = reader.find_runs(RunQuery(created_from=since, limit=MAX_PAGE))
    except StoreError:  # the child is making the database's tables
        return None
    for info in page.runs:
        if info.environment.get("pid") == pid:
            return info.run_id
    return None
