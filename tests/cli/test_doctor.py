"""``legato doctor`` changes nothing in the stores; ``--fix`` upgrades the run store's schema
and removes the temporary files of interrupted writes, which a run killed mid-write leaves
behind (and the next run removes by itself)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from legato.cli.exits import FAILED, OK
from legato.store.sql.connect import current_revision, make_engine, upgrade
from legato.store.sql.schema import HEAD

from .conftest import Invoke, command, target


def _line(output: str, check: str) -> str:
    (found,) = [line for line in output.splitlines() if f" {check} " in line]
    return found


def _temps(home: Path) -> list[Path]:
    return sorted((home / "artifacts" / "tmp").glob("*.tmp"))


def _killed_mid_write() -> None:
    """A run of a pipeline whose output is written in one 4 MiB write, SIGKILLed once that
    write has reached the temporary file."""
    env = {**os.environ, "LEGATO_CRASH_AT": "artifact_partial"}
    killed = subprocess.run(
        command("run", target("large")),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_doctor_counts_what_a_killed_run_left_and_fix_removes_it(
    cli: Invoke, legato_home: Path
) -> None:
    _killed_mid_write()
    (orphan,) = _temps(legato_home)
    assert orphan.stat().st_size >= 4 << 20

    counted = cli("doctor")
    assert counted.exit_code == OK, counted.stdout
    line = _line(counted.stdout, "temporary files")
    assert line.startswith("ok")
    assert "1 file left by interrupted writes (4.0 MiB)" in line
    assert "legato doctor --fix" in counted.stdout
    assert _temps(legato_home) == [orphan]  # counted, not removed

    fixed = cli("doctor", "--fix")
    assert fixed.exit_code == OK, fixed.stdout
    assert "removed 1 file left by interrupted writes (4.0 MiB)" in fixed.stdout
    assert _temps(legato_home) == []
    assert "none left by interrupted writes" in cli("doctor").stdout


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_the_next_run_removes_what_a_killed_run_left(legato_home: Path) -> None:
    _killed_mid_write()
    assert len(_temps(legato_home)) == 1
    after = subprocess.run(
        command("run", target("greet")), capture_output=True, text=True, timeout=120, check=False
    )
    assert after.returncode == OK, after.stderr
    assert _temps(legato_home) == []


def test_doctor_creates_no_database_and_no_artifact_folder(cli: Invoke, legato_home: Path) -> None:
    result = cli("doctor")
    assert result.exit_code == OK, result.stdout
    assert "no database yet (the first run creates it)" in _line(result.stdout, "run store")
    assert "no folder yet (the first run creates it)" in _line(result.stdout, "artifact store")
    assert list(legato_home.iterdir()) == []
    cli("doctor", "--fix")
    assert (legato_home / "legato.db").exists()


def test_doctor_upgrades_no_schema_unless_told_to(cli: Invoke, legato_home: Path) -> None:
    engine = make_engine(f"sqlite:///{legato_home / 'legato.db'}")
    upgrade(engine, "0001")
    result = cli("doctor")
    assert result.exit_code == FAILED
    line = _line(result.stdout, "run store")
    assert line.startswith("FAIL")
    assert "older than this legato's" in result.stdout
    assert "legato doctor --fix" in result.stdout
    with engine.connect() as c:
        assert current_revision(c) == "0001"
    fixed = cli("doctor", "--fix")
    assert fixed.exit_code == OK, fixed.stdout
    with engine.connect() as c:
        assert current_revision(c) == HEAD
    engine.dispose()
