"""``legato run --capacity``: a custom resource tasks ask for, given for one run; refused
before the run exists without it, or when the text cannot be read."""

from __future__ import annotations

from pathlib import Path

import pytest

from legato.cli.exits import OK

from .conftest import RESOURCES, Invoke, target

LIMITS = RESOURCES / "resource_limits.py"


def test_a_capacity_for_one_run(cli: Invoke, ledger: Path) -> None:
    done = cli("run", target("two_db_tasks", LIMITS), "--capacity", "db=1", "-e", "inline")
    assert done.exit_code == OK, done.output
    assert "succeeded" in done.stdout.splitlines()[-1]


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ((), "asks for 1 of 'db'"),
        (("--capacity", "db"), "'db' is not NAME=AMOUNT"),
        (("--capacity", "db=-2"), "db=-2 is not an amount >= 0"),
    ],
)
def test_without_a_usable_capacity_nothing_runs(
    cli: Invoke, ledger: Path, given: tuple[str, ...], said: str
) -> None:
    done = cli("run", target("two_db_tasks", LIMITS), *given)
    assert done.exit_code != OK
    assert said in done.stderr.replace("\n", " ")
