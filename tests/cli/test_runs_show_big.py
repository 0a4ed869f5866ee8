"""``legato runs show`` of a run of more tasks than it lists one by one: the run summed up
per step, the tasks that failed listed up to a bound with how many more there are, and
``--tasks`` paging through them."""

from __future__ import annotations

from legato.cli.exits import OK
from legato.cli.run_overview import LISTED, SHOWN_TASKS

from .conftest import RESOURCES, Invoke, run_id_of, target

SEEING = RESOURCES / "seeing_pipelines.py"
FAILED = [x for x in range(1001) if x % 40 == 7]
"""The items of ``wide`` that fail."""


def _rows(out: str) -> list[list[str]]:
    return [[c.strip() for c in line.split("  ") if c.strip()] for line in out.splitlines()]


def test_a_big_run_is_shown_per_step_with_its_failed_tasks_bounded(cli: Invoke) -> None:
    assert SHOWN_TASKS < 1002
    run_id = run_id_of(cli("run", target("wide", SEEING)).stdout)
    shown = cli("runs", "show", run_id)
    assert shown.exit_code == OK, shown.stderr
    out = shown.stdout
    rows = _rows(out)
    assert ["tasks", f"1,002: {1002 - len(FAILED)} succeeded · {len(FAILED)} failed"] in rows
    assert ["numbers", "1", "1 succeeded"] in rows
    assert ["checked (map)", "1,001", f"976 succeeded · {len(FAILED)} failed"] in rows
    assert "checked[0]" not in out  # no row per item
    listed = [r for r in rows if r and r[0].startswith("checked[")]
    assert [r[0] for r in listed] == [f"checked[{x}]" for x in FAILED[:LISTED]]
    assert listed[0][1:] == ["failed", "1", listed[0][3], "ValueError: item 7 is bad"]
    assert f"… and {len(FAILED) - LISTED} more" in out
    assert f"25 failed: legato runs show {run_id} --tasks --state failed" in out
    assert f"resume it with: legato resume {run_id}" in out


def test_tasks_pages_through_a_runs_tasks(cli: Invoke) -> None:
    run_id = run_id_of(cli("run", target("wide", SEEING)).stdout)
    failed = cli("runs", "show", run_id, "--tasks", "--state", "failed", "--offset", "20")
    assert failed.exit_code == OK, failed.stderr
    rows = _rows(failed.stdout)
    assert [r[0] for r in rows[1:-1]] == [f"checked[{x}]" for x in FAILED[20:]]
    assert rows[-1] == ["tasks 21 to 25 of 25 failed"]
    first = cli("runs", "show", run_id, "--tasks", "-n", "3").stdout
    assert [r[0] for r in _rows(first)[1:4]] == ["numbers", "checked[0]", "checked[1]"]
    assert "tasks 1 to 3 of 1,002" in first
    assert f"next: legato runs show {run_id} --tasks --offset 3 --limit 3" in first
    past = cli("runs", "show", run_id, "--state", "failed", "--offset", "99").stdout
    assert past.strip() == f"no failed tasks from 99 on: run {run_id} has 25 failed tasks"
