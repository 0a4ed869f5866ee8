"""Commands that only read, on a legato home nothing may be written to: they work, and change
nothing; a command that writes fails as it does on any home it cannot write.

How the home is made read-only, for real: tests usually run as root, whom file modes do not
stop, so there each command runs in a mount namespace of its own (``unshare --mount``) in
which the home is bind-mounted read-only; the kernel refuses every write under it (EROFS),
root's included, and nothing outside the command sees the mount. As any other user the
files and folders lose their write bits (chmod), which the kernel enforces for that user.
Either way the test also checks that no file of the home changed.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from legato.cli.exits import FAILED, OK

from .conftest import command, legato, run_id_of, target

Run = Callable[..., subprocess.CompletedProcess[str]]
Home = tuple[Run, str, list[str]]
"""How to run a command on the read-only home, how its database was left, the run ids."""

_READ_ONLY_MOUNT = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && exec "$@"'


def _read_only_runner(home: Path) -> Iterator[Run]:
    """``run(*args)``: ``legato ARGS...`` as a process that cannot write under ``home``."""
    if os.geteuid() != 0:
        for path in [home, *home.rglob("*")]:
            path.chmod(path.stat().st_mode & ~0o222)
        try:
            yield legato
        finally:
            for path in [home, *home.rglob("*")]:
                path.chmod(path.stat().st_mode | 0o200)
        return
    if shutil.which("unshare") is None:
        pytest.skip("as root a read-only home needs unshare(1) and a read-only bind mount")
    probe = subprocess.run(
        ["unshare", "--mount", "sh", "-c", _READ_ONLY_MOUNT, str(home), "true"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot bind-mount the home read-only here: {probe.stderr.strip()}")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        argv = ["unshare", "--mount", "sh", "-c", _READ_ONLY_MOUNT, str(home), *command(*args)]
        return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)

    yield run


def _snapshot(home: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(home)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(home.rglob("*"))
    }


REGISTER = """
import legato
with legato.open_registry() as registry:
    registry.register("digits", {"weights": [1, 2, 3]}, metrics={"accuracy": 0.93})
"""


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A home with two runs (one with a stored output) and a registered model, written by
    processes that have ended; and the ids of the runs."""
    home = tmp_path_factory.mktemp("read-only-home")
    env = {**os.environ, "LEGATO_HOME": str(home)}
    runs = []
    for name in ("outputs", "greet"):
        done = subprocess.run(
            command("run", target(name)),
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        runs.append(run_id_of(done.stdout))
    subprocess.run([sys.executable, "-c", REGISTER], env=env, check=True, timeout=120)
    return home, runs


@pytest.fixture(params=["folded", "log left"])
def read_only_home(
    request: pytest.FixtureRequest,
    recorded: tuple[Path, list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Home]:
    """A copy of the recorded home, read-only for the commands run through it: its SQLite
    database either folded into one file (as a writer that closed leaves it) or with its
    write-ahead log and shared-memory files beside it (as an orchestrator still running, or
    killed, leaves them)."""
    source, runs = recorded
    home = tmp_path / "home"
    shutil.copytree(source, home)
    database = home / "legato.db"
    writer = sqlite3.connect(database)
    writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if request.param == "folded":
        writer.close()
        assert not database.with_name("legato.db-wal").exists()
    else:
        writer.execute("PRAGMA wal_autocheckpoint = 0")
        writer.execute("UPDATE runs SET reason = 'kept in the log' WHERE run_id = ?", (runs[1],))
        writer.commit()
        assert database.with_name("legato.db-wal").stat().st_size > 0
    monkeypatch.setenv("LEGATO_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    before = _snapshot(home)
    yield from ((run, request.param, runs) for run in _read_only_runner(home))
    if request.param != "folded":
        writer.close()
    else:
        assert _snapshot(home) == before


def test_commands_that_read_work_on_a_read_only_home(read_only_home: Home) -> None:
    run, database, (with_output, greeted) = read_only_home
    listed = run("runs")
    assert listed.returncode == OK, listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines()[1:]] == [greeted, with_output]
    shown = run("runs", "show", greeted)
    assert shown.returncode == OK, shown.stderr
    assert "succeeded" in shown.stdout
    assert ("kept in the log" in shown.stdout) == (database == "log left")  # the log is read
    logs = run("logs", greeted)
    assert logs.returncode == OK, logs.stderr
    assert "hello world" in logs.stdout
    artifacts = run("artifacts", with_output)
    assert artifacts.returncode == OK, artifacts.stderr
    assert "objects/" in artifacts.stdout
    got = run("artifacts", "get", with_output, "big", "-o", "-")
    assert got.returncode == OK, got.stderr
    assert got.stdout == '"' + "x" * 100_000 + '"'
    compared = run("runs", "compare", with_output, greeted)
    assert compared.returncode == OK, compared.stderr
    metrics = run("metrics", greeted)
    assert metrics.returncode == OK, metrics.stderr
    assert "logged no metrics" in metrics.stdout
    models = run("models", "list")
    assert models.returncode == OK, models.stderr
    assert "digits" in models.stdout
    model = run("models", "show", "digits:1")
    assert model.returncode == OK, model.stderr
    assert "accuracy=0.93" in model.stdout
    graph = run("graph", target("greet"))
    assert graph.returncode == OK, graph.stderr
    doctor = run("doctor")
    checks = {}
    for line in doctor.stdout.splitlines():
        words = line.split()
        if words and words[0] in ("ok", "FAIL"):
            checks[" ".join(words[1:3])] = words[0]
    assert checks["run store"] == "ok", doctor.stdout  # read
    assert checks["temporary files"] == "ok", doctor.stdout  # counted
    assert checks["artifact store"] == "FAIL", doctor.stdout  # its probe cannot be written
    assert doctor.returncode == FAILED


def test_a_command_that_writes_fails_clearly_on_a_read_only_home(read_only_home: Home) -> None:
    run, _, _ = read_only_home
    result = run("run", target("greet"))
    assert result.returncode == FAILED
    assert "in the run store at sqlite:///" in result.stderr or (
        "cannot open the run store at sqlite:///" in result.stderr
    ), result.stderr
    assert "unable to open database file" in result.stderr or (
        "attempt to write a readonly database" in result.stderr
    ), result.stderr
    assert "run " not in result.stdout


def test_a_log_that_needs_its_shared_memory_file_is_refused_clearly(
    recorded: tuple[Path, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write-ahead log without the ``-shm`` file SQLite reads it through (copied apart
    from it, say): a read-only folder cannot get one, and reading the database without its
    log would show an older state."""
    source, _ = recorded
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(source / "legato.db", home / "legato.db")
    writer = sqlite3.connect(home / "legato.db")
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute("UPDATE runs SET reason = 'only in the log'")
    writer.commit()
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("legato.db", "legato.db-wal"):
        shutil.copy(home / name, copy / name)
    writer.close()
    monkeypatch.setenv("LEGATO_HOME", str(copy))
    runner = _read_only_runner(copy)
    run = next(runner)
    try:
        result = run("runs")
    finally:
        runner.close()
    assert result.returncode == FAILED
    assert "cannot be read here" in result.stderr, result.stderr
    assert "legato.db-wal" in result.stderr
