"""``legato doctor``: the settings in effect, where they come from, and whether the run
store, the artifact store and the executor they name work here."""

from __future__ import annotations

import contextlib
import importlib
import os
import platform
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table
from rich.text import Text

from legato._version import __version__
from legato.cli.exits import FAILED, OK, CommandError
from legato.cli.formats import console, size, timestamp
from legato.cli.settings import load, mask
from legato.config import Settings
from legato.engine.run import executor_for
from legato.store.artifacts import FsspecArtifactStore
from legato.store.open import open_run_store

__all__ = ["Check", "doctor_command"]


@dataclass(frozen=True, slots=True)
class Check:
    """One check's outcome."""

    name: str
    ok: bool
    detail: str


def doctor_command(*, profile: str | None) -> int:
    """Print the settings and the checks; exit status 1 if any check fails."""
    out = console()
    out.print(
        f"legato {__version__} · Python {platform.python_version()} "
        f"({platform.python_implementation()}) · {platform.platform()}",
        markup=False,
    )
    try:
        settings = load(profile)
    except CommandError as exc:
        _print_checks([Check("settings", False, exc.message)])
        return FAILED
    out.print(_settings_table(settings))
    checks = [
        Check("settings", True, f"profile {settings.profile!r} from {settings.source}"),
        _attempt("run store", settings.state_url, lambda: _check_run_store(settings)),
        _attempt("artifact store", settings.artifacts_url, lambda: _check_artifacts(settings)),
        _attempt("executor", settings.executor or "threads", lambda: _check_executor(settings)),
    ]
    _print_checks(checks)
    return OK if all(c.ok for c in checks) else FAILED


def _settings_table(settings: Settings) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("profile", f"{settings.profile}  (from {settings.source})")
    table.add_row("home", str(settings.home))
    table.add_row("state_url", Text(mask(settings.state_url)))
    table.add_row("artifacts_url", Text(mask(settings.artifacts_url)))
    table.add_row("executor", settings.executor or "threads (the default)")
    table.add_row(
        "concurrency",
        f"{settings.concurrency} workers" if settings.concurrency else "one worker per CPU core",
    )
    table.add_row("failure_policy", settings.failure_policy or "each pipeline's own")
    table.add_row("stale_after", f"{settings.stale_after:g}s")
    secrets = [
        f"{name} ({variable}: {'set' if os.environ.get(variable) else 'NOT SET'})"
        for name, variable in sorted(settings.secrets.items())
    ]
    table.add_row("secrets", ", ".join(secrets) or "none")
    return table


def _attempt(name: str, subject: str, check: Callable[[], str]) -> Check:
    try:
        return Check(name, True, check())
    except Exception as exc:
        detail = f"{subject}: {type(exc).__name__}: {exc}"
        if not isinstance(exc, OSError | ValueError) and os.environ.get("LEGATO_DEBUG"):
            detail += "\n" + traceback.format_exc()
        return Check(name, False, detail)


def _check_run_store(settings: Settings) -> str:
    store = open_run_store(settings.state_url)
    try:
        latest = store.list_runs(limit=1)
    finally:
        store.close()
    where = mask(settings.state_url)
    if not latest:
        return f"{where}: opened, schema up to date, no runs yet"
    run = latest[0]
    return f"{where}: opened, latest run {run.run_id} ({timestamp(run.created_at)})"


def _check_artifacts(settings: Settings) -> str:
    """Write a probe, read it back, delete it."""
    store = FsspecArtifactStore(settings.artifacts_url)
    probe = f"doctor-{uuid.uuid4().hex}.probe"
    data = os.urandom(64)
    root = store.local_root
    if root is not None:
        path = Path(root) / "tmp" / probe
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.write_bytes(data)
            back = path.read_bytes()
        finally:
            path.unlink(missing_ok=True)
    else:
        fsspec = importlib.import_module("fsspec")  # remote stores only
        fs, base = fsspec.core.url_to_fs(settings.artifacts_url)
        key = f"{base.rstrip('/')}/tmp/{probe}"
        try:
            fs.pipe_file(key, data)
            back = bytes(fs.cat_file(key))
        finally:
            with contextlib.suppress(FileNotFoundError):
                fs.rm_file(key)
    if back != data:
        raise OSError("a probe written to the artifact store read back different bytes")
    return f"{mask(store.url)}: writable (a probe was written, read back and deleted)"


def _check_executor(settings: Settings) -> str:
    executor = executor_for(None, settings)
    capacity = executor.capacity
    gpus = f"{capacity.gpus} GPU{'s' if capacity.gpus != 1 else ''}"
    return (
        f"{executor.name}: {capacity.slots} worker{'s' if capacity.slots != 1 else ''}, "
        f"{capacity.cpus:g} CPUs, {size(capacity.memory)} memory, {gpus}"
    )


def _print_checks(checks: list[Check]) -> None:
    out = console()
    out.print()
    table = Table(box=None, pad_edge=False, show_header=False, show_edge=False)
    table.add_column()
    table.add_column(style="bold")
    table.add_column()
    for check in checks:
        mark = Text("ok", style="green") if check.ok else Text("FAIL", style="bold red")
        table.add_row(mark, check.name, Text(mask(check.detail)))
    out.print(table)
    failed = [c.name for c in checks if not c.ok]
    if failed:
        plural = "s" if len(failed) > 1 else ""
        out.print(f"{len(failed)} check{plural} failed: {', '.join(failed)}", style="red")
    else:
        out.print("everything works", style="green", markup=False)
