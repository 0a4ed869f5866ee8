"""What ``legato run`` and ``legato runs show`` say about a run that failed and rolled back."""

from __future__ import annotations

from pathlib import Path

from legato.cli.exits import FAILED, OK

from .conftest import RESOURCES, Invoke, run_id_of, target


def test_runs_show_lists_the_rollback_and_says_not_to_resume(cli: Invoke, ledger: Path) -> None:
    ran = cli("run", target("saga", RESOURCES / "rollback_pipeline.py"))
    assert ran.exit_code == FAILED
    assert "undone     publish" in ran.stdout + ran.stderr
    run_id = run_id_of(ran.stdout)

    shown = cli("runs", "show", run_id)

    assert shown.exit_code == OK
    out = shown.stdout
    assert "failed  failed: explode; rolled back 2 tasks" in out
    table = out.split("\nrollback\n", 1)[1]
    rows = [line.split() for line in table.splitlines()[1:3]]
    assert [row[:3] for row in rows] == [
        ["publish", "succeeded", "1"],
        ["create", "succeeded", "1"],
    ]
    assert "its work was rolled back: start a new run" in out
    assert "resume it with" not in out
