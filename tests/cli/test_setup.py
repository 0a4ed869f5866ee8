"""``legato doctor``, profiles and secrets, ``legato graph``, ``--version`` and ``--help``
(fast: it loads neither the engine nor the stores)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from legato import __version__
from legato.cli.exits import FAILED, OK, USAGE

from .conftest import Invoke, run_id_of, target


def test_doctor_on_a_healthy_setup(cli: Invoke, legato_home: Path) -> None:
    cli("run", target("large"))  # an output written to the artifact folder
    result = cli("doctor")
    assert result.exit_code == OK, result.stdout
    out = result.stdout
    assert out.startswith(f"legato {__version__} · Python ")
    assert f"state_url       sqlite:///{legato_home / 'legato.db'}" in out
    assert f"artifacts_url   {legato_home / 'artifacts'}" in out
    for check in ("settings", "run store", "artifact store", "executor"):
        assert any(line.split()[:1] == ["ok"] and check in line for line in out.splitlines())
    assert "threads: " in out
    assert " CPUs, " in out
    assert " GPU" in out
    assert out.rstrip().endswith("everything works")
    assert not list((legato_home / "artifacts" / "tmp").iterdir())  # the probe is gone


@pytest.mark.parametrize(
    ("variable", "check"),
    [("LEGATO_STATE_URL", "run store"), ("LEGATO_ARTIFACTS_URL", "artifact store")],
)
def test_doctor_on_a_broken_setup_says_what_fails_and_exits_1(
    cli: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, check: str
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    value = f"sqlite:///{blocker}/legato.db" if variable == "LEGATO_STATE_URL" else str(blocker)
    monkeypatch.setenv(variable, value)
    result = cli("doctor")
    assert result.exit_code == FAILED
    failing = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert len(failing) == 1
    assert check in failing[0]
    assert str(blocker) in failing[0]
    assert result.stdout.rstrip().endswith(f"1 check failed: {check}")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with a legato.toml of two profiles and a secret, as the working folder."""
    (tmp_path / "legato.toml").write_text(
        f"""
[secrets]
token = "CLI_TEST_TOKEN"

[profiles.dev]
executor = "inline"

[profiles.prod]
state_url = "sqlite:///{tmp_path / "prod.db"}"
artifacts_url = "{tmp_path / "prod-artifacts"}"
executor = "processes"
concurrency = 2
"""
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_doctor_shows_the_profile_in_effect_and_where_it_comes_from(
    cli: Invoke, project: Path
) -> None:
    result = cli("doctor", "--profile", "prod")
    assert result.exit_code == OK, result.stdout
    out = result.stdout
    assert f"profile         prod  (from {project / 'legato.toml'})" in out
    assert f"state_url       sqlite:///{project / 'prod.db'}" in out
    assert "concurrency     2 workers" in out
    assert "secrets         token (CLI_TEST_TOKEN: NOT SET)" in out
    assert "processes: 2 workers" in out


def test_an_unknown_profile(cli: Invoke, project: Path) -> None:
    doctor = cli("doctor", "--profile", "staging")
    assert doctor.exit_code == FAILED
    assert "profile 'staging'" in doctor.stdout
    assert "is not defined" in doctor.stdout
    run = cli("run", target("greet"), "--profile", "staging")
    assert run.exit_code == USAGE
    assert "profile 'staging'" in run.stderr


def test_run_uses_the_profiles_executor_and_store(cli: Invoke, project: Path) -> None:
    result = cli("run", target("greet"), "--profile", "dev")
    assert result.exit_code == OK, result.output
    assert "executor inline" in result.stdout.splitlines()[0]
    prod = cli("run", target("greet"), "--profile", "prod", "--no-logs")
    assert prod.exit_code == OK, prod.output
    assert "executor processes" in prod.stdout.splitlines()[0]
    assert (project / "prod.db").exists()
    prod_runs = cli("runs", "--profile", "prod").stdout
    assert run_id_of(prod.stdout) in prod_runs
    assert run_id_of(result.stdout) not in prod_runs


def test_secrets_are_masked_in_task_output(
    cli: Invoke, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLI_TEST_TOKEN", "s3cr3t-v4lue")
    result = cli("run", target("leaky"))
    assert result.exit_code == OK, result.output
    assert "reveal | token is ***" in result.stdout
    logs = cli("logs", run_id_of(result.stdout))
    assert "s3cr3t-v4lue" not in result.stdout + logs.stdout
    assert "token is ***" in logs.stdout


def test_graph_formats(cli: Invoke, tmp_path: Path) -> None:
    text = cli("graph", target("fanout"))
    assert text.exit_code == OK
    assert (
        text.stdout.splitlines()[0]
        == "pipeline fanout: 4 tasks (3 map items), parameters: offset=0"
    )
    mermaid = cli("graph", target("fanout"), "--format", "mermaid")
    assert mermaid.stdout.startswith("flowchart")
    dot = cli("graph", target("fanout"), "-f", "dot", "-o", str(tmp_path / "g.dot"))
    assert dot.exit_code == OK
    assert dot.stdout == ""
    assert (tmp_path / "g.dot").read_text().startswith('digraph "fanout"')
    assert cli("graph", target("fanout"), "-f", "png").exit_code == USAGE


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_graph_as_svg_with_graphviz(cli: Invoke) -> None:
    svg = cli("graph", target("fanout"), "--format", "svg")
    assert svg.exit_code == OK, svg.stderr
    assert "<svg" in svg.stdout
    assert "total" in svg.stdout


def test_graph_as_svg_without_graphviz_says_what_to_do(
    cli: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    result = cli("graph", target("fanout"), "--format", "svg")
    assert result.exit_code == FAILED
    assert "install Graphviz" in result.stderr
    assert "--format dot" in result.stderr
    assert "--format mermaid" in result.stderr


def test_version(cli: Invoke) -> None:
    result = cli("--version")
    assert result.exit_code == OK
    assert result.stdout == f"legato {__version__}\n"


def test_help_loads_neither_the_engine_nor_the_stores() -> None:
    code = (
        "import json, runpy, sys\n"
        "sys.argv = ['legato', '--help']\n"
        "try:\n"
        "    runpy.run_module('legato.cli', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    help_text, _, loaded_json = done.stdout.rstrip().rpartition("\n")
    for command in ("run", "resume", "runs", "logs", "cancel", "graph", "artifacts", "doctor"):
        assert f" {command} " in help_text
    loaded = set(json.loads(loaded_json))
    heavy = {"sqlalchemy", "alembic", "fsspec", "pydantic", "cloudpickle", "numpy"}
    assert not {m.split(".")[0] for m in loaded} & heavy
    assert not [m for m in loaded if m.startswith(("legato.engine", "legato.store"))]
