"""``legato doctor``: the settings in effect, where they come from, and whether the run
store, the artifact store and the executor they name work here.

It changes nothing in the stores: the run store is opened read-only (no database created, no
schema upgraded), and temporary files left by interrupted artifact writes are only counted.
``--fix`` does both: it brings the run store's schema up to date and removes the orphaned
temporary files. (The artifact store's check writes one probe file, and deletes it, in a
folder that exists: one not made yet is only checked to be creatable.)
"""

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
from legato.engine.executor_choice import executor_for
from legato.store.artifacts import FsspecArtifactStore
from legato.store.artifacts.temps import Swept
from legato.store.base import RunStore
from legato.store.open import open_run_store
from legato.store.sql import SqlRunStore

__all__ = ["Check", "doctor_command"]


@dataclass(frozen=True, slots=True)
class Check:
    """One check's outcome."""

    name: str
    ok: bool
    detail: str


def doctor_command(*, profile: str | None, fix: bool = False) -> int:
    """Print the settings and the checks; exit status 1 if any check fails. ``fix``: upgrade
    the run store's schema and remove orphaned temporary files first."""
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
        _attempt("run store", settings.state_url, lambda: _check_run_store(settings, fix)),
        _attempt("artifact store", settings.artifacts_url, lambda: _check_artifacts(settings)),
        _attempt("temporary files", settings.artifacts_url, lambda: _check_temps(settings, fix)),
        _attempt("executor", settings.executor or "threads", lambda: _check_executor(settings)),
    ]
    _print_checks(checks)
    return OK if all(c.ok for c in checks) else FAILED


def _settings_table(settings: Settings) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()

    def row(key: str, value: str) -> None:
        origin = settings.origins.get(key)
        table.add_row(key, Text(mask(value if origin is None else f"{value}  ({origin})")))

    table.add_row("profile", f"{settings.profile}  (from {settings.source})")
    table.add_row("project", Text(settings.project.describe()))
    row("home", str(settings.home))
    row("state_url", settings.state_url)
    row("artifacts_url", settings.artifacts_url)
    row("executor", settings.executor or "threads (the default)")
    row(
        "concurrency",
        f"{settings.concurrency} workers" if settings.concurrency else "one worker per CPU core",
    )
    row("failure_policy", settings.failure_policy or "each pipeline's own")
    row("stale_after", f"{settings.stale_after:g}s")
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


def _check_run_store(settings: Settings, fix: bool) -> str:
    if fix:  # opening it to write creates or upgrades the schema
        open_run_store(settings.state_url).close()
    store = open_run_store(settings.state_url, read_only=True)
    try:
        latest = store.list_runs(limit=1)
        missing = _missing_database(store)
    finally:
        store.close()
    where = mask(settings.state_url)
    if missing is not None:
        _check_creatable(missing)
        return f"{where}: no database yet (the first run creates it)"
    if not latest:
        return f"{where}: opened, schema up to date, no runs yet"
    run = latest[0]
    return f"{where}: opened, latest run {run.run_id} ({timestamp(run.created_at)})"


def _missing_database(store: RunStore) -> Path | None:
    """The SQLite file of ``store`` when it does not exist yet (a read-only store reads it
    as empty)."""
    if not isinstance(store, SqlRunStore) or store.engine.url.get_backend_name() != "sqlite":
        return None
    path = Path(store.engine.url.database or "")
    return None if path.exists() else path


def _check_creatable(path: Path) -> None:
    """Raise ``OSError`` when the first run could not create the file ``path``: its nearest
    existing folder is a file, or cannot be written."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is not a folder: the database cannot be created")
    if not os.access(folder, os.W_OK):
        raise PermissionError(f"{folder} cannot be written: the database cannot be created")


def _check_artifacts(settings: Settings) -> str:
    """Write a probe, read it back, delete it; a local folder not made yet is not made (a
    ``.legato`` folder marks a project), only checked to be creatable."""
    store = FsspecArtifactStore(settings.artifacts_url, read_only=True)
    probe = f"doctor-{uuid.uuid4().hex}.probe"
    data = os.urandom(64)
    root = store.local_root
    if root is not None and not Path(root).exists():
        _check_creatable(Path(root) / "tmp")
        return f"{mask(store.url)}: no folder yet (the first run creates it)"
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


def _check_temps(settings: Settings, fix: bool) -> str:
    """Count (``fix``: remove) the temporary files that interrupted writes left behind."""
    store = FsspecArtifactStore(settings.artifacts_url, read_only=True)
    if store.local_root is None:
        return "not looked for in a remote store"
    swept: Swept | None = store.sweep() if fix else None
    if swept is not None and swept.failed:
        temp, error = swept.failed[0]
        raise OSError(
            f"{_files(len(swept.failed))} left by interrupted writes could not be removed, "
            f"such as {temp.path}: {error.strerror or error}"
        )
    found = store.temp_files()
    orphans = [t for t in found if t.orphan]
    kept = len(found) - len(orphans)
    parts = []
    if swept is not None:
        removed = f"removed {_files(len(swept.removed))} left by interrupted writes"
        parts.append(f"{removed} ({size(swept.size)})" if swept.removed else "none to remove")
    if orphans:
        parts.append(
            f"{_files(len(orphans))} left by interrupted writes "
            f"({size(sum(t.size for t in orphans))}): `legato doctor --fix` removes them"
        )
    if kept:
        parts.append(
            f"{_files(kept)} of writes in progress (or of writers on other machines, "
            "removed once a day old)"
        )
    return "; ".join(parts) if parts else "none left by interrupted writes"


def _files(count: int) -> str:
    return f"{count} file{'s' if count != 1 else ''}"


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
