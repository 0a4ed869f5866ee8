"""Which store commands look in: found from any subfolder of the project, named in every
"nothing found" message, and never created by a command that only looks."""

from __future__ import annotations

from pathlib import Path

import pytest

from legato.cli.exits import FAILED, OK, USAGE

from .conftest import Invoke, legato, run_id_of, target


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository without legato settings, with no LEGATO_HOME: the default store."""
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "notebooks").mkdir()
    monkeypatch.delenv("LEGATO_HOME")
    return root


def _stores_under(folder: Path) -> list[Path]:
    return sorted(folder.rglob(".legato")) + sorted(folder.rglob("*.db"))


def test_commands_in_a_subfolder_read_the_runs_recorded_from_the_repository_root(
    cli: Invoke, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo)
    run_id = run_id_of(cli("run", target("greet")).stdout)
    monkeypatch.chdir(repo / "notebooks")
    listed = cli("runs")
    assert listed.exit_code == OK, listed.stderr
    assert run_id in listed.stdout
    assert cli("runs", "show", run_id[:8]).exit_code == OK
    # and a run started there records into the same store
    second = run_id_of(cli("run", target("greet")).stdout)
    monkeypatch.chdir(repo)
    assert second in cli("runs").stdout
    assert _stores_under(repo) == [repo / ".legato", repo / ".legato" / "legato.db"]


LISTS = [("runs",), ("runs", "--state", "failed"), ("models", "list"), ("cache", "clear")]
LOOKUPS = [
    ("runs", "show", "01abc"),
    ("logs", "01abc"),
    ("artifacts", "01abc"),
    ("artifacts", "get", "01abc", "train", "-o", "out.bin"),
    ("runs", "compare", "01abc", "01abd"),
    ("cancel", "01abc", "--wait", "0"),
    ("resume", "01abc"),
    ("models", "show", "digits@production"),
    ("models", "promote", "digits", "1"),
    ("models", "rollback", "digits"),
    ("models", "delete", "digits", "1"),
    ("serve", "digits@production", "--port", "1"),
]


@pytest.mark.parametrize("args", LISTS, ids=" ".join)
def test_a_listing_without_a_store_says_where_it_looked_and_creates_none(
    cli: Invoke, repo: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    monkeypatch.chdir(repo / "notebooks")
    result = cli(*args)
    assert result.exit_code == OK, result.stderr
    said = result.stdout.replace("\n", " ")
    assert said.startswith("no run store at ../.legato/legato.db: nothing has been recorded")
    assert f"the default store (.legato) of the project root, {repo}, the repository root" in said
    assert f"from {repo / 'notebooks'} up to {repo}" in said
    assert _stores_under(repo) == []


@pytest.mark.parametrize("args", LOOKUPS, ids=" ".join)
def test_a_lookup_without_a_store_is_a_usage_error_that_creates_none(
    cli: Invoke, repo: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    monkeypatch.chdir(repo)
    result = cli(*args)
    assert result.exit_code == USAGE, result.stdout + result.stderr
    said = result.stderr.replace("\n", " ")
    wanted = "model 'digits" if args[0] in ("models", "serve") else "run"
    assert said.startswith(f"error: cannot find {wanted}")
    assert ("'digits" if args[0] in ("models", "serve") else "'01abc'") in said
    assert ": no run store at .legato/legato.db: nothing has been recorded there yet" in said
    assert _stores_under(repo) == []


def test_the_message_names_the_setting_that_named_the_store(
    cli: Invoke, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "legato.toml").write_text(
        'default_profile = "dev"\n[profiles.dev]\nstate_url = "sqlite:///state/runs.db"\n'
    )
    monkeypatch.chdir(repo / "notebooks")
    said = cli("runs").stdout.replace("\n", " ")
    assert said.startswith("no run store at ../state/runs.db: ")
    assert f"Looked there because profiles.dev.state_url in {repo / 'legato.toml'} names it." in (
        said
    )
    (repo / "legato.toml").unlink()
    elsewhere = repo.parent / "elsewhere"
    monkeypatch.setenv("LEGATO_HOME", str(elsewhere))
    said = cli("runs").stdout.replace("\n", " ")
    assert said.startswith(f"no run store at {elsewhere / 'legato.db'}: ")  # not in the project
    assert "the default store in the home folder LEGATO_HOME names" in said
    monkeypatch.setenv("LEGATO_STATE_URL", "sqlite:///other.db")
    assert "because LEGATO_STATE_URL names it." in cli("runs").stdout.replace("\n", " ")


def test_nothing_found_in_a_store_that_exists_names_it(
    cli: Invoke, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo)
    run_id_of(cli("run", target("greet")).stdout)
    monkeypatch.chdir(repo / "notebooks")
    store = "../.legato/legato.db"
    assert cli("runs", "--pipeline", "nope").stdout.strip() == f"no runs in {store} match"
    models = cli("models", "list").stdout.replace("\n", " ")
    assert models.startswith(f"no models registered yet in {store} ")
    unknown = cli("runs", "show", "zzzz")
    assert unknown.exit_code == USAGE
    assert str(repo / ".legato" / "legato.db") in unknown.stderr.replace("\n", "")
    model = cli("models", "show", "digits")
    assert model.exit_code == USAGE
    assert str(repo / ".legato" / "legato.db") in model.stderr.replace("\n", "")
    (repo / "failing.py").write_text(
        "from legato import pipeline, task\n\n\n@task\ndef fail() -> int:\n"
        "    raise ValueError('no')\n\n\n@pipeline\ndef failing() -> int:\n"
        "    return fail()\n"
    )
    failed = run_id_of(cli("run", str(repo / "failing.py:failing")).stdout)
    outputs = cli("artifacts", failed).stdout.strip()
    assert outputs == f"run {failed} has no stored outputs or logged artifacts in {store}"


def test_legato_home_naming_a_file_is_a_usage_error_that_says_how_to_fix_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    afile = tmp_path / "home.txt"
    afile.write_text("not a folder")
    monkeypatch.setenv("LEGATO_HOME", str(afile))
    for args in (("run", target("greet")), ("runs",), ("models", "list")):
        done = legato(*args)
        assert done.returncode == USAGE, done.stderr
        said = done.stderr.replace("\n", " ")
        assert "Traceback" not in said
        assert said.startswith(f"error: environment: LEGATO_HOME: {afile} is a file, not a folder")
        assert "point LEGATO_HOME at a folder, or unset it" in said
    doctor = legato("doctor")
    assert doctor.returncode == FAILED
    assert "LEGATO_HOME" in doctor.stdout
    assert afile.read_text() == "not a folder"
