"""``legato runs``, ``runs show``, ``logs``, ``artifacts``, ``artifacts get`` and
``cache clear``: reading what the run store and the artifact store hold."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from legato.cli.choices import CRASHED
from legato.cli.exits import FAILED, OK, USAGE
from legato.config import load_settings
from legato.engine.storage import open_storage
from legato.model.artifacts import ArtifactRef
from legato.model.states import RunState
from legato.store.base import Storage

from .conftest import Invoke, run_id_of, target


def _storage() -> Storage:
    return open_storage(load_settings())


def _outputs(run_id: str) -> dict[str, ArtifactRef]:
    return {r.key: r.output for r in _storage().runs.task_records(run_id) if r.output is not None}


def _rows(output: str) -> list[list[str]]:
    return [line.split() for line in output.splitlines()[1:] if line.strip()]


def test_runs_lists_newest_first_and_filters(cli: Invoke, legato_home: Path) -> None:
    store = legato_home / "legato.db"
    assert cli("runs").stdout.startswith(f"no run store at {store}: ")
    greet_id = run_id_of(cli("run", target("greet")).stdout)
    broken_id = run_id_of(cli("run", target("broken")).stdout)
    listed = cli("runs")
    assert listed.exit_code == OK
    assert listed.stdout.splitlines()[0].split() == [
        "run",
        "pipeline",
        "state",
        "started",
        "duration",
    ]
    rows = _rows(listed.stdout)
    assert [row[:3] for row in rows] == [
        [broken_id, "broken", "failed"],
        [greet_id, "greet", "succeeded"],
    ]
    assert [r[0] for r in _rows(cli("runs", "--state", "failed").stdout)] == [broken_id]
    assert [r[0] for r in _rows(cli("runs", "--pipeline", "greet").stdout)] == [greet_id]
    assert [r[0] for r in _rows(cli("runs", "list", "-n", "1").stdout)] == [broken_id]
    assert cli("runs", "--state", "cancelled").stdout.strip() == f"no runs in {store} match"
    assert cli("runs", "--state", "bogus").exit_code == USAGE


@pytest.mark.parametrize("state", [*(state.value for state in RunState), CRASHED])
def test_runs_state_accepts_every_run_state(cli: Invoke, state: str) -> None:
    # The choices derive from RunState: a state the engine records can be filtered on.
    cli("run", target("greet"))  # a store, with a run of none of the states below
    result = cli("runs", "--state", state)
    assert result.exit_code == OK, result.stderr
    if state != "succeeded":
        assert result.stdout.startswith("no runs in ")
        assert result.stdout.strip().endswith(" match")


def test_runs_show_takes_a_prefix_and_shows_params_environment_tasks_and_errors(
    cli: Invoke,
) -> None:
    run_id = run_id_of(cli("run", target("broken"), "-p", "what=zap").stdout)
    shown = cli("runs", "show", run_id[:12])
    assert shown.exit_code == OK
    out = shown.stdout
    assert f"run       {run_id}" in out
    assert "pipeline  broken  (" in out
    assert "params    what='zap'" in out
    assert "python    3." in out
    assert "host      " in out
    table = out.split("\ntask ", 1)[1].split("\n\n", 1)[0]
    rows = {line.split()[0]: line.split() for line in table.splitlines()[1:]}
    assert rows["explode"][1:3] == ["failed", "1"]
    assert rows["shout"][1] == "upstream_failed"
    assert "Traceback (most recent call last):" in out
    assert "ValueError: bad input: zap" in out
    assert f"resume it with: legato resume {run_id}" in out


def test_runs_show_of_an_unknown_run(cli: Invoke) -> None:
    result = cli("runs", "show", "zzzz")
    assert result.exit_code == USAGE
    assert "zzzz" in result.stderr


def test_logs_of_a_run_and_of_one_task(cli: Invoke) -> None:
    run_id = run_id_of(cli("run", target("fanout")).stdout)
    greet_id = run_id_of(cli("run", target("greet"), "-p", "name=Lin").stdout)
    everything = cli("logs", greet_id)
    assert everything.exit_code == OK
    assert everything.stdout.splitlines() == [
        "==> hello · attempt 1 · succeeded <==",
        "hello Lin",
        "a warning",
        "WARNING cli_pipelines: logged for Lin",
    ]
    one = cli("logs", greet_id[:10], "hello")
    assert one.stdout == everything.stdout
    assert cli("logs", run_id).stdout == f"run {run_id} captured no output\n"
    unknown = cli("logs", greet_id, "nosuch")
    assert unknown.exit_code == USAGE
    assert "has no task 'nosuch'; its tasks: hello, shout" in unknown.stderr


def test_artifacts_lists_outputs_and_get_writes_the_stored_bytes(
    cli: Invoke, tmp_path: Path
) -> None:
    run_id = run_id_of(cli("run", target("outputs")).stdout)
    refs = _outputs(run_id)
    listed = cli("artifacts", run_id[:10])
    assert listed.exit_code == OK
    rows = {line.split()[0]: line.split() for line in listed.stdout.splitlines()[2:]}
    big, small = refs["big"], refs["small"]
    assert big.location is not None
    assert small.inline is not None
    assert rows["big"][1] == "json"
    assert rows["big"][-2:] == [big.location, big.checksum]
    assert rows["small"][-2:] == ["inline", small.checksum]

    got = cli("artifacts", "get", run_id, "big", "-o", str(tmp_path / "big.json"))
    assert got.exit_code == OK, got.stderr
    root = _storage().artifacts.local_root
    assert root is not None
    stored = (Path(root) / big.location).read_bytes()
    assert (tmp_path / "big.json").read_bytes() == stored
    assert json.loads(stored) == "x" * 100_000
    assert f"to {tmp_path / 'big.json'}" in got.stderr

    inline = cli("artifacts", "get", run_id, "small", "-o", str(tmp_path / "small.json"))
    assert inline.exit_code == OK
    assert (tmp_path / "small.json").read_bytes() == small.inline

    to_stdout = cli("artifacts", "get", run_id, "small", "-o", "-")
    assert to_stdout.stdout_bytes == small.inline


def test_artifacts_get_refuses_altered_bytes_and_writes_nothing(
    cli: Invoke, tmp_path: Path
) -> None:
    run_id = run_id_of(cli("run", target("outputs")).stdout)
    big = _outputs(run_id)["big"]
    root = _storage().artifacts.local_root
    assert root is not None
    assert big.location is not None
    stored = Path(root) / big.location
    stored.chmod(0o644)
    stored.write_bytes(stored.read_bytes().replace(b"xxx", b"xyx", 1))
    result = cli("artifacts", "get", run_id, "big", "-o", str(tmp_path / "big.json"))
    assert result.exit_code == FAILED
    assert "does not match its record" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_artifacts_get_of_a_task_without_output(cli: Invoke, tmp_path: Path) -> None:
    run_id = run_id_of(cli("run", target("broken")).stdout)
    missing = cli("artifacts", "get", run_id, "explode", "-o", str(tmp_path / "x"))
    assert missing.exit_code == FAILED
    assert "has no stored output (it is failed)" in missing.stderr
    unknown = cli("artifacts", "get", run_id, "nope", "-o", str(tmp_path / "x"))
    assert unknown.exit_code == USAGE
    assert "tasks with outputs: independent" in unknown.stderr


@pytest.mark.parametrize("task", [None, "hello"])
def test_cache_clear_makes_tasks_run_again(
    cli: Invoke, task: str | None, legato_home: Path
) -> None:
    cli("run", target("greet"))
    assert "cached     hello" in cli("run", target("greet")).stdout
    args = ["cache", "clear"] + (["--task", task] if task else ["--yes"])
    cleared = cli(*args)
    assert cleared.exit_code == OK
    expected = "cleared 1 cache entry of task 'hello'" if task else "cleared 2 cache entries"
    assert cleared.stdout.strip() == f"{expected} in {legato_home / 'legato.db'}"
    again = cli("run", target("greet")).stdout
    assert "started    hello" in again
    assert ("cached     shout" in again) is (task is not None)
