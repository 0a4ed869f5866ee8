"""``legato run`` and ``legato resume``: progress lines off a terminal, the end-of-run table,
exit statuses, and the errors that stop a run before it exists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from legato.cli.exits import FAILED, OK, USAGE
from legato.config import load_settings
from legato.engine.storage import open_storage
from legato.model.events import RunStarted
from legato.store.base import RunStore

from .conftest import RESOURCES, Invoke, legato, run_id_of, target


def _store() -> RunStore:
    return open_storage(load_settings()).runs


def test_a_run_as_a_process_prints_progress_lines_logs_and_the_summary() -> None:
    done = legato("run", target("greet"), "-p", "name=Ada", "-p", "times=2")
    assert done.returncode == OK, done.stderr
    out = done.stdout
    run_id = run_id_of(out)
    lines = out.splitlines()
    assert lines[0] == f"run {run_id} of pipeline greet: 2 tasks, executor threads"
    assert any(line.split()[1:3] == ["started", "hello"] for line in lines[1:3])
    assert any(line.split()[1:3] == ["succeeded", "hello"] and " in " in line for line in lines)
    # What the task printed, to stdout, stderr and logging, prefixed with the task.
    assert "hello | hello Ada" in lines
    assert "hello | a warning" in lines
    assert "hello | WARNING cli_pipelines: logged for Ada" in lines
    header = next(line for line in lines if line.startswith("task "))
    assert header.split() == ["task", "state", "attempts", "duration", "cache"]
    assert any(line.split()[:3] == ["shout", "succeeded", "1"] for line in lines)
    last = lines[-1]
    assert last.startswith(f"run {run_id} succeeded in ")
    assert "2 tasks" in last
    assert "overhead per task: " in last
    assert last.endswith(" ms")
    assert done.stderr == ""


def test_parameters_reach_the_pipeline_with_their_types(cli: Invoke) -> None:
    result = cli(
        "run",
        target("typed"),
        "-p",
        "n=3",
        "-p",
        "sizes=[1, 2]",
        "-p",
        "mode=SLOW",
        "-p",
        "when=2024-02-29",
        "-p",
        "maybe=null",
        "-p",
        "path=x/y.csv",
    )
    assert result.exit_code == OK, result.output
    run_id = run_id_of(result.stdout)
    records = {r.key: r for r in _store().task_records(run_id)}
    ref = records["describe"].output
    assert ref is not None
    assert ref.inline is not None
    described = json.loads(ref.inline)
    assert described["n"] == "int:3"
    assert described["sizes"] == "list:[1, 2]"
    assert described["mode"] == "Mode:Mode.SLOW"
    assert described["when"] == "date:2024-02-29"
    assert described["maybe"] == "NoneType:None"
    assert described["path"] == "PosixPath:x/y.csv"
    assert described["untyped"] == "str:text"


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["-p", "times=lots"], ["parameter 'times'", "expects an integer", "not 'lots'"]),
        (["-p", "colour=red"], ["no parameter 'colour'", "name: str = 'world'"]),
        (["-p", "times"], ["-p name=value"]),
        (["--executor", "quantum"], ["unknown executor 'quantum'"]),
        (["--refresh", "nosuch"], ["refresh names 'nosuch'"]),
    ],
)
def test_usage_errors_exit_2_before_any_run_exists(
    cli: Invoke, args: list[str], fragments: list[str]
) -> None:
    result = cli("run", target("greet"), *args)
    assert result.exit_code == USAGE
    assert result.stderr.startswith("error: ")
    for fragment in fragments:
        assert fragment in result.stderr
    assert _store().list_runs() == []


def test_a_missing_required_parameter_is_a_usage_error(cli: Invoke) -> None:
    result = cli("run", target("typed"))
    assert result.exit_code == USAGE
    assert "needs parameter 'n'" in result.stderr
    assert "-p n=" in result.stderr


@pytest.mark.parametrize(
    ("where", "fragment"),
    [
        (str(RESOURCES / "no_such_file.py") + ":p", "no such file"),
        (target("nothing_here"), "has no attribute 'nothing_here'"),
        (target("hello"), "not a @pipeline"),
        ("no_such_package.module:p", "cannot import module 'no_such_package.module'"),
        (str(RESOURCES / "cli_import_error.py") + ":p", "RuntimeError: cannot import me"),
    ],
)
def test_targets_that_cannot_be_loaded(cli: Invoke, where: str, fragment: str) -> None:
    result = cli("run", where)
    assert result.exit_code == USAGE
    assert fragment in result.stderr


def test_a_target_may_be_a_module_of_the_working_folder(
    cli: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(RESOURCES)
    result = cli("run", "cli_pipelines:greet")
    assert result.exit_code == OK, result.output


def test_a_failed_run_exits_1_with_each_error_and_how_to_resume(cli: Invoke) -> None:
    result = cli("run", target("broken"), "-p", "what=oops")
    assert result.exit_code == FAILED
    out = result.stdout
    run_id = run_id_of(out)
    assert "failed     explode  ValueError: bad input: oops" in out
    assert "not run    shout" in out
    assert any(line.split()[:2] == ["shout", "upstream_failed"] for line in out.splitlines())
    assert f"run {run_id} failed in " in out
    assert "failed: explode  ValueError: bad input: oops" in out
    assert f"legato resume {run_id}" in out


def test_retries_and_cache_hits_are_shown_as_they_happen(cli: Invoke, tmp_path: Path) -> None:
    marker = str(tmp_path / "marker")
    first = cli("run", target("flaky"), "-p", f"marker={marker}")
    assert first.exit_code == OK, first.output
    assert "retrying   flaky_step  attempt 1 of 2 failed (ConnectionError: first attempt" in (
        first.stdout
    )
    assert any(
        line.split()[:3] == ["flaky_step", "succeeded", "2"] for line in first.stdout.splitlines()
    )
    again = cli("run", target("flaky"), "-p", f"marker={marker}")
    first_id = run_id_of(first.stdout)
    assert f"cached     flaky_step  hit from run {first_id}" in again.stdout
    assert f"hit from run {first_id}" in again.stdout.split("task ")[1]
    assert "1 task, 1 cached · " in again.stdout
    fresh = cli("run", target("flaky"), "-p", f"marker={marker}", "--no-cache")
    assert "cached " not in fresh.stdout
    assert "started    flaky_step" in fresh.stdout


def test_fail_fast_and_keep_going_set_the_runs_policy(cli: Invoke) -> None:
    for flag, policy in (("--fail-fast", "fail_fast"), ("--keep-going", "keep_going")):
        result = cli("run", target("broken"), flag)
        assert result.exit_code == FAILED
        events = _store().read_events(run_id_of(result.stdout))
        started = events[0]
        assert isinstance(started, RunStarted)
        assert started.failure_policy == policy


def test_no_logs_keeps_task_output_off_the_screen(cli: Invoke) -> None:
    result = cli("run", target("greet"), "--no-logs")
    assert result.exit_code == OK
    assert "hello |" not in result.stdout
    logs = cli("logs", run_id_of(result.stdout), "hello")
    assert "hello world" in logs.stdout  # still stored


def test_a_fan_out_lists_its_items_under_the_map(cli: Invoke) -> None:
    result = cli("run", target("fanout"), "-p", "offset=1")
    assert result.exit_code == OK, result.output
    out = result.stdout
    assert "mapped     square  over 3 items" in out
    table = out.split("task ", 1)[1].splitlines()
    names = [line.split()[0] for line in table[1:] if line.strip() and not line.startswith("run ")]
    assert names == ["square", "square[0]", "square[1]", "square[2]", "total"]


def test_a_large_run_lists_only_what_did_not_succeed(cli: Invoke) -> None:
    result = cli("run", target("chain"))
    assert result.exit_code == OK
    run_id = run_id_of(result.stdout)
    assert f"(100 succeeded tasks not listed: legato runs show {run_id})" in result.stdout
    assert "100 tasks" in result.stdout.splitlines()[-1]


def test_resume_continues_a_failed_run_from_another_folder(
    cli: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failed = cli("run", target("broken"))
    run_id = run_id_of(failed.stdout)
    monkeypatch.chdir(tmp_path)  # the run recorded its file, not a module name
    again = cli("resume", run_id[:10])
    assert again.exit_code == FAILED  # it fails the same way: the code did not change
    out = again.stdout
    assert out.splitlines()[0] == f"resuming run {run_id} of pipeline broken"
    assert "started    explode  attempt 2" in out
    assert "independent" in out
    assert "started    independent" not in out


def test_resume_of_an_unknown_run_is_a_usage_error(cli: Invoke) -> None:
    result = cli("resume", "nosuchrun")
    assert result.exit_code == USAGE
    assert "nosuchrun" in result.stderr


def test_help_documents_the_exit_statuses(cli: Invoke) -> None:
    result = cli("run", "--help")
    assert result.exit_code == OK
    text = " ".join(result.stdout.split())
    for fragment in ("0 the run succeeded", "1 it failed", "2 nothing ran", "130 it was cancelled"):
        assert fragment in text


GATED = RESOURCES / "gated_pipelines.py"


@pytest.mark.parametrize("flag", ["--no-cache", "--refresh=gate"])
def test_resume_keeps_the_runs_cache_flags(
    cli: Invoke, tmp_path: Path, ledger: Path, flag: str
) -> None:
    """``legato resume`` of a run started with ``--no-cache`` or ``--refresh`` reuses
    nothing the run refused: here, the result an earlier run stored for the failed task."""
    fail_flag = tmp_path / "flag"
    param = f"flag={fail_flag}"
    first = cli("run", target("gated", GATED), "-p", param)
    assert first.exit_code == OK, first.output
    fail_flag.touch()
    failed = cli("run", target("gated", GATED), "-p", param, flag)
    assert failed.exit_code == FAILED, failed.output
    fail_flag.unlink()
    ledger.write_text("")
    resumed = cli("resume", run_id_of(failed.stdout))
    assert resumed.exit_code == OK, resumed.output
    assert "cached     gate" not in resumed.stdout
    assert "started    gate  attempt 2" in resumed.stdout
    table = resumed.stdout.split("task ", 1)[1].splitlines()
    row = next(line for line in table if line.split()[:1] == ["gate"])
    assert row.split()[1:3] == ["succeeded", "2"]
    assert "hit from run" not in row
    assert ledger.read_text().split() == ["gate"]
