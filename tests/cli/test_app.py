"""The root of the ``legato`` command: the app that parses a command line holds only the
command it names, and says and does what the whole app would."""

from __future__ import annotations

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from legato.cli.app import app, app_for

NAMES = sorted(get_command(app).commands)  # type: ignore[attr-defined]


def test_every_command_and_group_is_named() -> None:
    assert {"run", "runs", "graph", "models", "schedules"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_a_named_command_is_parsed_by_a_root_holding_it_alone(name: str) -> None:
    narrowed = get_command(app_for([name, "--help"]))
    assert sorted(narrowed.commands) == [name]  # type: ignore[attr-defined]
    runner = CliRunner()
    whole = runner.invoke(app, [name, "--help"], prog_name="legato")
    alone = runner.invoke(app_for([name, "--help"]), [name, "--help"], prog_name="legato")
    assert (alone.exit_code, alone.output) == (whole.exit_code, whole.output)
    assert f"legato {name}" in alone.output


@pytest.mark.parametrize("args", [[], ["--help"], ["--version"], ["rnu"], ["-x", "run"]])
def test_anything_else_is_parsed_by_the_whole_app(args: list[str]) -> None:
    assert app_for(args) is app
