"""A user's mistake ends the command with one message that says what to change, and a
documented exit status: no traceback of legato's own code."""

from __future__ import annotations

from pathlib import Path

import pytest

import legato
from legato.cli.exits import CANT_WRITE, USAGE

from .conftest import Invoke, run_id_of, target

LEGATO_CODE = str(Path(legato.__file__).parent)


@pytest.mark.parametrize(
    ("where", "why"),
    [
        ("no/such/dir/out.json", "folder {tmp}/no/such/dir does not exist: create it first"),
        (".", "it is a folder: give a file name in it"),
        ("a-file/out.json", "{tmp}/a-file is not a folder"),
    ],
)
def test_artifacts_get_to_a_path_it_cannot_write(
    cli: Invoke, tmp_path: Path, where: str, why: str
) -> None:
    (tmp_path / "a-file").write_text("in the way")
    run_id = run_id_of(cli("run", target("outputs")).stdout)
    output = str(tmp_path / where)
    result = cli("artifacts", "get", run_id, "big", "-o", output)
    assert result.exit_code == CANT_WRITE
    assert result.stderr.startswith(f"error: cannot write {output}: ")
    assert why.format(tmp=tmp_path) in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]  # no temporary file left


def test_graph_to_a_folder_that_does_not_exist(cli: Invoke, tmp_path: Path) -> None:
    output = tmp_path / "missing" / "graph.mmd"
    result = cli("graph", target("greet"), "--format", "mermaid", "-o", str(output))
    assert result.exit_code == CANT_WRITE
    assert result.stderr.startswith(f"error: cannot write {output}: ")
    assert f"mkdir -p {output.parent}" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


def _legato_frames(stderr: str) -> list[str]:
    return [
        line
        for line in stderr.splitlines()
        if line.strip().startswith("File ") and (LEGATO_CODE in line or "<frozen" in line)
    ]


@pytest.mark.parametrize("command", ["run", "graph"])
def test_a_syntax_error_in_the_pipeline_file_shows_its_line_and_caret(
    cli: Invoke, tmp_path: Path, command: str
) -> None:
    file = tmp_path / "typo_pipeline.py"
    file.write_text("from legato import pipeline\n\n\ndef train(:\n    pass\n")
    result = cli(command, f"{file}:train")
    assert result.exit_code == USAGE
    assert result.stderr.splitlines() == [
        f"error: importing {file}:train failed:",
        f'  File "{file}", line 4',
        "    def train(:",
        "              ^",
        "SyntaxError: invalid syntax",
    ]


def test_an_exception_while_importing_shows_only_the_users_frames(
    cli: Invoke, tmp_path: Path
) -> None:
    (tmp_path / "config_reader_module.py").write_text(
        "def read():\n    raise KeyError('DATA_DIR')\n\n\nDATA = read()\n"
    )
    file = tmp_path / "uses_settings.py"
    file.write_text("import config_reader_module\n")
    result = cli("run", str(file))
    assert result.exit_code == USAGE
    assert _legato_frames(result.stderr) == []
    frames = [line.strip() for line in result.stderr.splitlines() if "File " in line]
    assert frames == [
        f'File "{file}", line 1, in <module>',
        f'File "{tmp_path / "config_reader_module.py"}", line 5, in <module>',
        f'File "{tmp_path / "config_reader_module.py"}", line 2, in read',
    ]
    assert result.stderr.rstrip().endswith("KeyError: 'DATA_DIR'")


def test_a_missing_dependency_of_a_pipeline_module_is_not_a_missing_module(
    cli: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "needs_dependency"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "flows.py").write_text("import a_library_nobody_installed\n")
    monkeypatch.chdir(tmp_path)
    result = cli("run", "needs_dependency.flows")
    assert result.exit_code == USAGE
    assert "check that the module is on the Python path" not in result.stderr
    assert f'File "{package / "flows.py"}", line 1, in <module>' in result.stderr
    assert "No module named 'a_library_nobody_installed'" in result.stderr
    assert _legato_frames(result.stderr) == []


def test_a_file_without_a_pipeline_says_so_and_what_it_defines(cli: Invoke, tmp_path: Path) -> None:
    file = tmp_path / "only_tasks.py"
    file.write_text(
        "from os.path import join\n"
        "from legato import task\n\n\n"
        "@task\ndef clean(x: int) -> int:\n    return x\n\n\n"
        "def main() -> None:\n    clean(1)\n"
    )
    result = cli("run", str(file))
    assert result.exit_code == USAGE
    message = " ".join(result.stderr.split())
    assert f"{file} defines no @pipeline (it defines tasks: clean; functions: main)" in message
    assert "decorate the function that calls the tasks with @pipeline" in message
    assert "<name>" not in message


def test_a_file_with_several_pipelines_suggests_a_target_that_works(cli: Invoke) -> None:
    file = target("greet").rpartition(":")[0]
    result = cli("graph", file)
    assert result.exit_code == USAGE
    message = " ".join(result.stderr.split())
    assert " pipelines (greet, typed, " in message
    assert "<name>" not in message
    suggested = message.rpartition("name one after a colon: ")[2].strip()
    assert suggested == f"{file}:greet"
    assert cli("graph", suggested).exit_code == 0


@pytest.mark.parametrize(
    "command",
    [("logs", "zzz"), ("runs", "show", "zzz"), ("artifacts", "zzz"), ("resume", "zzz")],
)
def test_an_unknown_run_suggests_a_command_that_lists_runs(
    cli: Invoke, command: tuple[str, ...]
) -> None:
    cli("run", target("greet"))  # a store, without run zzz
    result = cli(*command)
    assert result.exit_code == USAGE
    message = " ".join(result.stderr.split())
    assert "no run has id 'zzz'" in message
    assert "(`legato runs list` shows the newest runs)" in message
    assert "list_runs" not in message
    assert cli("runs", "list").exit_code == 0
