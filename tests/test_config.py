"""Settings and profiles: finding the file, choosing the profile, environment overrides, and
errors that name the file, the key and the value expected."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

import legato
from legato import pipeline, task
from legato.choices import ExecutorName, FailurePolicy
from legato.cli.app import app as cli_app
from legato.cli.exits import OK, USAGE
from legato.config import (
    ENVIRONMENT,
    EXECUTOR_NAMES,
    FAILURE_POLICIES,
    Settings,
    load_settings,
)
from legato.engine import executor_choice
from legato.errors import ConfigError, DefinitionError, UnknownRunError
from legato.store.open import open_run_store

FULL = """\
default_profile = "dev"
home = "state"
stale_after = 12

[secrets]
api_key = "SHARED_API_KEY"

[profiles.dev]
executor = "threads"

[profiles.test]
home = "/tmp/legato-test-home"
executor = "inline"
concurrency = 1
failure_policy = "fail_fast"

[profiles.prod]
state_url = "postgresql+psycopg://legato@db/legato"
artifacts_url = "s3://bucket/legato"
executor = "processes"
concurrency = 8

[profiles.prod.secrets]
db_password = "PROD_DB_PASSWORD"
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def load(cwd: Path, profile: str | None = None, **env: str) -> Settings:
    return load_settings(profile, cwd=cwd, environ=env)


def error(cwd: Path, profile: str | None = None, **env: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(cwd, profile, **env)
    return caught.value


# --------------------------------------------------------------------------- finding the file


def test_without_a_file_the_defaults_live_in_dot_legato_of_the_working_folder(
    tmp_path: Path,
) -> None:
    settings = load(tmp_path)
    assert settings.profile == "default"
    assert settings.source == "defaults"
    assert settings.home == tmp_path / ".legato"
    assert settings.state_url == f"sqlite:///{tmp_path}/.legato/legato.db"
    assert settings.artifacts_url == str(tmp_path / ".legato" / "artifacts")
    assert settings.executor is None
    assert settings.concurrency is None
    assert settings.failure_policy is None
    assert settings.stale_after == 30.0
    assert dict(settings.secrets) == {}


def test_the_file_is_found_from_a_subfolder_and_paths_are_relative_to_it(tmp_path: Path) -> None:
    path = write(tmp_path, "legato.toml", FULL)
    deep = tmp_path / "src" / "pkg"
    deep.mkdir(parents=True)

    settings = load(deep)

    assert settings.source == str(path)
    assert settings.profile == "dev"  # default_profile
    assert settings.home == tmp_path / "state"  # not src/pkg/state
    assert settings.state_url == f"sqlite:///{tmp_path}/state/legato.db"
    assert settings.artifacts_url == str(tmp_path / "state" / "artifacts")


def test_without_home_the_project_root_is_the_files_folder(tmp_path: Path) -> None:
    write(tmp_path, "legato.toml", 'executor = "inline"\n')
    sub = tmp_path / "notebooks"
    sub.mkdir()
    assert load(sub).home == tmp_path / ".legato"


def test_pyproject_tool_legato_is_read(tmp_path: Path) -> None:
    write(
        tmp_path,
        "pyproject.toml",
        '[project]\nname = "x"\n\n[tool.legato]\nhome = "st"\n'
        '[tool.legato.profiles.test]\nexecutor = "inline"\n'
        '[tool.legato.profiles.test.secrets]\ntoken = "TOKEN"\n',
    )
    settings = load(tmp_path, "test")
    assert settings.source == str(tmp_path / "pyproject.toml")
    assert settings.home == tmp_path / "st"
    assert settings.executor == "inline"
    assert dict(settings.secrets) == {"token": "TOKEN"}


def test_a_pyproject_without_tool_legato_is_passed_over(tmp_path: Path) -> None:
    write(tmp_path, "legato.toml", 'executor = "processes"\n')
    write(tmp_path / "app", "pyproject.toml", '[project]\nname = "app"\n')
    settings = load(tmp_path / "app")
    assert settings.source == str(tmp_path / "legato.toml")
    assert settings.executor == "processes"


def test_the_nearest_folder_wins_and_legato_toml_before_pyproject(tmp_path: Path) -> None:
    write(tmp_path, "legato.toml", 'executor = "processes"\n')
    app = tmp_path / "app"
    write(app, "pyproject.toml", '[tool.legato]\nexecutor = "inline"\n')
    assert load(app).executor == "inline"
    write(app, "legato.toml", 'executor = "threads"\n')
    assert load(app).executor == "threads"


def test_an_edited_file_is_read_again(tmp_path: Path) -> None:
    path = write(tmp_path, "legato.toml", 'executor = "inline"\n')
    assert load(tmp_path).executor == "inline"
    path.write_text('executor = "processes"\n')
    os.utime(path, ns=(1, 1))  # a new mtime even on a coarse clock
    assert load(tmp_path).executor == "processes"


# --------------------------------------------------------------------------- profiles


@pytest.mark.parametrize(
    ("argument", "variable", "expected"),
    [
        ("prod", "test", "prod"),  # the argument first
        (None, "test", "test"),  # then LEGATO_PROFILE
        (None, None, "dev"),  # then default_profile
    ],
)
def test_profile_selection_order(
    tmp_path: Path, argument: str | None, variable: str | None, expected: str
) -> None:
    write(tmp_path, "legato.toml", FULL)
    env = {"LEGATO_PROFILE": variable} if variable else {}
    assert load(tmp_path, argument, **env).profile == expected


def test_without_default_profile_no_profile_applies(tmp_path: Path) -> None:
    write(tmp_path, "legato.toml", FULL.replace('default_profile = "dev"\n', ""))
    settings = load(tmp_path)
    assert settings.profile == "default"
    assert settings.executor is None  # only dev sets it


def test_top_level_keys_are_defaults_that_profiles_override(tmp_path: Path) -> None:
    write(tmp_path, "legato.toml", FULL)

    test = load(tmp_path, "test")
    assert test.home == Path("/tmp/legato-test-home")
    assert test.state_url == "sqlite:////tmp/legato-test-home/legato.db"
    assert (test.executor, test.concurrency, test.failure_policy) == ("inline", 1, "fail_fast")
    assert test.stale_after == 12.0  # from the top level

    prod = load(tmp_path, "prod")
    assert prod.state_url == "postgresql+psycopg://legato@db/legato"
    assert prod.artifacts_url == "s3://bucket/legato"
    assert prod.home == tmp_path / "state"
    assert (prod.executor, prod.concurrency) == ("processes", 8)
    # secrets tables merge name by name
    assert dict(prod.secrets) == {"api_key": "SHARED_API_KEY", "db_password": "PROD_DB_PASSWORD"}
    assert dict(load(tmp_path, "dev").secrets) == {"api_key": "SHARED_API_KEY"}


def test_relative_urls_in_a_file_are_relative_to_it(tmp_path: Path) -> None:
    write(
        tmp_path,
        "legato.toml",
        'state_url = "sqlite:///db/runs.db?timeout=5"\nartifacts_url = "~/arts"\n',
    )
    (tmp_path / "sub").mkdir()
    settings = load(tmp_path / "sub")
    assert settings.state_url == f"sqlite:///{tmp_path}/db/runs.db?timeout=5"
    assert settings.artifacts_url == str(Path("~/arts").expanduser())


def test_the_default_profile_name_needs_no_table(tmp_path: Path) -> None:
    write(tmp_path, "legato.toml", FULL)
    assert load(tmp_path, "default").executor is None


# --------------------------------------------------------------------------- environment


def test_environment_variables_override_the_profile(tmp_path: Path) -> None:
    write(tmp_path, "legato.toml", FULL)
    settings = load(
        tmp_path,
        "prod",
        LEGATO_STATE_URL="sqlite:///other.db",
        LEGATO_ARTIFACTS_URL="local-arts",
        LEGATO_EXECUTOR="threads",
        LEGATO_CONCURRENCY="3",
        LEGATO_FAILURE_POLICY="fail_fast",
        LEGATO_STALE_AFTER="2.5",
    )
    # relative values in the environment are relative to the working folder
    assert settings.state_url == f"sqlite:///{tmp_path}/other.db"
    assert settings.artifacts_url == str(tmp_path / "local-arts")
    assert (settings.executor, settings.concurrency) == ("threads", 3)
    assert settings.failure_policy == "fail_fast"
    assert settings.stale_after == 2.5


def test_legato_home_moves_the_default_store_and_artifacts(tmp_path: Path) -> None:
    write(tmp_path, "legato.toml", FULL)
    (tmp_path / "sub").mkdir()
    settings = load(tmp_path / "sub", LEGATO_HOME="here")
    assert settings.home == tmp_path / "sub" / "here"
    assert settings.state_url == f"sqlite:///{tmp_path}/sub/here/legato.db"
    assert settings.artifacts_url == str(tmp_path / "sub" / "here" / "artifacts")


def test_origins_say_where_each_value_was_set(tmp_path: Path) -> None:
    path = write(tmp_path, "legato.toml", FULL)
    settings = load(tmp_path, "prod", LEGATO_CONCURRENCY="2")
    assert dict(settings.origins) == {
        "home": f"home in {path}",
        "stale_after": f"stale_after in {path}",
        "state_url": f"profiles.prod.state_url in {path}",
        "artifacts_url": f"profiles.prod.artifacts_url in {path}",
        "executor": f"profiles.prod.executor in {path}",
        "concurrency": "LEGATO_CONCURRENCY",
    }
    (tmp_path / "other" / ".git").mkdir(parents=True)  # a repository: the file is not its
    assert dict(load(tmp_path / "other").origins) == {}


def test_an_empty_variable_counts_as_unset(tmp_path: Path) -> None:
    write(tmp_path, "legato.toml", FULL)
    assert load(tmp_path, "prod", LEGATO_EXECUTOR="", LEGATO_CONCURRENCY="").concurrency == 8


def test_every_documented_variable_is_read() -> None:
    assert set(ENVIRONMENT) == {
        "LEGATO_PROFILE",
        "LEGATO_HOME",
        "LEGATO_STATE_URL",
        "LEGATO_ARTIFACTS_URL",
        "LEGATO_EXECUTOR",
        "LEGATO_CONCURRENCY",
        "LEGATO_FAILURE_POLICY",
        "LEGATO_RAY_ADDRESS",
        "LEGATO_CAPACITY",
        "LEGATO_STALE_AFTER",
    }
    docs = (Path(__file__).parents[1] / "docs" / "profiles.md").read_text()
    for variable in ENVIRONMENT:
        assert f"`{variable}`" in docs


# Each name list is defined once (legato.choices); these hold every user to it, by what each
# accepts rather than by comparing lists, with near misses that none may accept.
NEAR_MISSES = (
    "thread",
    "Threads",
    "process",
    "Ray",
    "dask",
    "keep-going",
    "fail-fast",
    "stop",
    "x",
)


def _config_accepts(folder: Path, key: str, value: str) -> bool:
    write(folder, "legato.toml", f'{key} = "{value}"\n')
    try:
        load(folder)
    except ConfigError:
        return False
    return True


def _engine_builds(name: str) -> bool:
    try:
        executor = executor_choice.make_executor(name, max_workers=1)
    except DefinitionError:
        return False
    executor.close()  # never opened: nothing started
    return True


def _cli_accepts_executor(name: str) -> bool:
    greet = f"{Path(__file__).parent / 'resources' / 'cli_pipelines.py'}:greet"
    result = CliRunner().invoke(cli_app, ["run", greet, "--executor", name, "--no-logs"])
    assert result.exit_code in (OK, USAGE), result.output
    return result.exit_code == OK


def _pipeline_accepts(policy: str) -> bool:
    def flow() -> None:
        pass

    try:
        pipeline(failure_policy=policy)(flow)
    except DefinitionError:
        return False
    return True


def test_config_engine_and_cli_accept_exactly_the_same_executor_names(tmp_path: Path) -> None:
    names = {name.value for name in ExecutorName}
    assert names == {"inline", "threads", "processes", "ray"}  # a new one is a deliberate change
    for name in (*names, *NEAR_MISSES):
        accepted = {
            "config": _config_accepts(tmp_path, "executor", name),
            "engine": _engine_builds(name),
            "cli": _cli_accepts_executor(name),
        }
        assert set(accepted.values()) == {name in names}, (name, accepted)
    assert set(EXECUTOR_NAMES) == names


def test_config_pipelines_and_cli_accept_exactly_the_same_failure_policies(
    tmp_path: Path,
) -> None:
    policies = {policy.value for policy in FailurePolicy}
    for policy in (*policies, *NEAR_MISSES):
        accepted = {
            "config": _config_accepts(tmp_path, "failure_policy", policy),
            "pipeline": _pipeline_accepts(policy),
        }
        assert set(accepted.values()) == {policy in policies}, (policy, accepted)
    assert set(FAILURE_POLICIES) == policies
    # legato run --fail-fast/--keep-going: one flag per policy, no policy left out.
    assert {FailurePolicy.FAIL_FAST, FailurePolicy.KEEP_GOING} == set(FailurePolicy)


# --------------------------------------------------------------------------- errors


def assert_names(exc: ConfigError, source: str, key: str, expected: str) -> None:
    message = str(exc)
    assert source in message, message
    assert key in message, message
    assert expected in message, message
    assert (exc.source, exc.key) == (source, key)


def test_an_unknown_key_suggests_the_closest(tmp_path: Path) -> None:
    path = write(tmp_path, "legato.toml", '[profiles.dev]\nexecuter = "threads"\n')
    exc = error(tmp_path)
    assert_names(exc, str(path), "profiles.dev.executer", "did you mean 'executor'?")
    assert exc.line == 2
    assert "line 2" in str(exc)


def test_an_unknown_top_level_key(tmp_path: Path) -> None:
    path = write(tmp_path, "legato.toml", "stale_afer = 3\n")
    exc = error(tmp_path)
    assert_names(exc, str(path), "stale_afer", "'stale_after'")
    assert exc.line == 1


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ('concurrency = "four"', "concurrency", "a whole number of at least 1"),
        ("concurrency = 0", "concurrency", "a whole number of at least 1"),
        ("concurrency = true", "concurrency", "a whole number of at least 1"),
        ('executor = "thread"', "executor", "did you mean 'threads'?"),
        ("executor = 3", "executor", "one of 'inline', 'threads', 'processes'"),
        ('failure_policy = "stop"', "failure_policy", "one of 'keep_going', 'fail_fast'"),
        ("stale_after = -1", "stale_after", "a number of seconds of at least 2"),
        ("stale_after = 1.5", "stale_after", "the run owner's lease"),
        ("home = 7", "home", "a folder path"),
        ('state_url = "legato.db"', "state_url", "a SQLAlchemy URL"),
        ('artifacts_url = ""', "artifacts_url", "a folder or an fsspec URL"),
        ('secrets = "DB"', "secrets", "a table of name"),
        ("profiles = 3", "profiles", "tables: [profiles.<name>]"),
        ('default_profile = "stage"', "default_profile", "a [profiles.stage] table"),
    ],
)
def test_a_wrong_value_names_file_key_and_expected_value(
    tmp_path: Path, text: str, key: str, expected: str
) -> None:
    path = write(tmp_path, "legato.toml", text + "\n")
    assert_names(error(tmp_path), str(path), key, expected)


def test_errors_inside_a_profile_name_the_profile_key(tmp_path: Path) -> None:
    path = write(tmp_path, "legato.toml", '[profiles.prod]\nfailure_policy = "fail-fast"\n')
    exc = error(tmp_path, "dev")  # every profile is checked, not only the selected one
    assert_names(exc, str(path), "profiles.prod.failure_policy", "did you mean 'fail_fast'?")
    assert exc.line == 2


def test_errors_in_pyproject_name_the_key_as_written_there(tmp_path: Path) -> None:
    path = write(tmp_path, "pyproject.toml", "[tool.legato.profiles.ci]\nconcurrency = 1.5\n")
    exc = error(tmp_path)
    assert_names(exc, str(path), "tool.legato.profiles.ci.concurrency", "a whole number")
    assert exc.line == 2


def test_an_unknown_profile_lists_the_known_ones(tmp_path: Path) -> None:
    path = write(tmp_path, "legato.toml", FULL)
    exc = error(tmp_path, "tset")
    assert_names(exc, str(path), "profiles", "one of 'dev', 'prod', 'test'")
    assert "did you mean 'test'?" in str(exc)
    assert "the profile argument" in str(exc)
    assert "LEGATO_PROFILE" in str(error(tmp_path, LEGATO_PROFILE="staging"))


def test_a_profile_without_any_file_is_an_error(tmp_path: Path) -> None:
    exc = error(tmp_path, LEGATO_PROFILE="prod")
    assert_names(exc, "LEGATO_PROFILE", "profile", "a legato.toml defining [profiles.prod]")


def test_malformed_toml_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "legato.toml", '[profiles.dev]\nexecutor = "threads"\nconcurrency 4\n')
    exc = error(tmp_path)
    assert exc.source == str(path)
    assert exc.line == 3
    assert f"{path}, line 3" in str(exc)
    assert "TOML syntax" in str(exc)


def test_a_secret_value_pasted_into_the_file_is_refused_and_not_shown(tmp_path: Path) -> None:
    pasted = "hunter2!@#$"
    path = write(tmp_path, "legato.toml", f'[secrets]\ndb_password = "{pasted}"\n')
    exc = error(tmp_path)
    assert_names(exc, str(path), "secrets.db_password", "the name of an environment variable")
    assert pasted not in str(exc)
    assert exc.line == 2


def test_a_bad_environment_variable_names_it(tmp_path: Path) -> None:
    exc = error(tmp_path, LEGATO_CONCURRENCY="many")
    assert_names(exc, "environment", "LEGATO_CONCURRENCY", "a whole number of at least 1")
    exc = error(tmp_path, LEGATO_EXECUTOR="dask")
    assert_names(exc, "environment", "LEGATO_EXECUTOR", "one of 'inline'")
    exc = error(tmp_path, LEGATO_STALE_AFTER="soon")
    assert_names(exc, "environment", "LEGATO_STALE_AFTER", "a number of seconds")


def test_legato_home_naming_a_file_is_refused_with_how_to_fix_it(tmp_path: Path) -> None:
    afile = write(tmp_path, "notes.txt", "not a folder")
    exc = error(tmp_path, LEGATO_HOME=str(afile))
    assert_names(exc, "environment", "LEGATO_HOME", "a folder for legato's runs")
    assert f"{afile} is a file, not a folder" in str(exc)
    assert "point LEGATO_HOME at a folder, or unset it" in str(exc)


def test_home_in_the_file_naming_a_file_is_refused_at_its_line(tmp_path: Path) -> None:
    write(tmp_path, "notes.txt", "not a folder")
    path = write(tmp_path, "legato.toml", 'executor = "inline"\nhome = "notes.txt"\n')
    exc = error(tmp_path)
    assert_names(exc, str(path), "home", "point home at a folder, or remove the key")
    assert exc.line == 2


def test_a_file_where_the_default_home_would_be_is_refused(tmp_path: Path) -> None:
    write(tmp_path, ".legato", "left by something else")
    exc = error(tmp_path)
    assert_names(exc, "defaults", "home", "move that file away")
    assert f"{tmp_path / '.legato'} is a file, not a folder" in str(exc)


def test_config_error_is_a_legato_error_exported_at_the_top() -> None:
    assert legato.ConfigError is ConfigError
    assert issubclass(ConfigError, legato.LegatoError)


# --------------------------------------------------------------------------- wired into runs


@task
def add_one(x: int) -> int:
    return x + 1


@task
def explode() -> None:
    raise ValueError("nope")


@pipeline
def small(x: int = 1) -> int:
    return add_one(x)


@pipeline
def failing() -> None:
    explode()


RUN_PROFILES = """\
[profiles.test]
home = "test-state"
executor = "inline"
failure_policy = "fail_fast"

[profiles.other]
state_url = "sqlite:///elsewhere/runs.db"
artifacts_url = "elsewhere/artifacts"
executor = "threads"
concurrency = 3
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write(tmp_path, "legato.toml", RUN_PROFILES)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEGATO_HOME")
    return tmp_path


def test_run_with_a_profile_stores_where_the_profile_says(project: Path) -> None:
    result = legato.run(small, {"x": 41}, profile="test")

    assert result.ok
    assert result.output == 42
    store = open_run_store(f"sqlite:///{project}/test-state/legato.db")
    try:
        info = store.get_run(result.run_id)
    finally:
        store.close()
    assert info.executor == "inline"  # the profile's
    assert info.environment["profile"] == "test"
    assert info.environment["config"] == str(project / "legato.toml")
    assert not (project / ".legato").exists()

    other = legato.run(small, profile="other")
    assert (project / "elsewhere" / "runs.db").exists()
    store = open_run_store(f"sqlite:///{project}/elsewhere/runs.db")
    try:
        assert store.get_run(other.run_id).executor == "threads"
    finally:
        store.close()


def test_legato_profile_selects_for_run_and_start(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEGATO_PROFILE", "test")
    handle = legato.start(small)
    assert handle.wait(30).ok
    assert (project / "test-state" / "legato.db").exists()


def test_the_profiles_failure_policy_applies_and_arguments_win(project: Path) -> None:
    assert legato.run(failing, profile="test").record.failure_policy == "fail_fast"
    explicit = legato.run(failing, profile="test", failure_policy="keep_going")
    assert explicit.record.failure_policy == "keep_going"
    assert legato.run(failing, profile="test", executor="threads").ok is False


def test_an_explicit_executor_wins_and_gets_the_profiles_concurrency(project: Path) -> None:
    settings = load_settings("other")
    threads = executor_choice.executor_for(None, settings)
    assert threads.name == "threads"
    assert threads.capacity.slots == 3
    processes = executor_choice.executor_for("processes", settings)
    assert processes.name == "processes"
    assert processes.capacity.slots == 3
    assert executor_choice.executor_for("inline", settings).capacity.slots == 1
    given = legato.InlineExecutor()
    assert executor_choice.executor_for(given, settings) is given


def test_resume_finds_the_run_in_the_profiles_store(project: Path) -> None:
    failed = legato.run(failing, profile="test")
    assert not failed.ok
    with pytest.raises(UnknownRunError):  # not in the default store
        legato.resume(failed.run_id, pipeline=failing, profile="other")
    again = legato.resume(failed.run_id, pipeline=failing, profile="test")
    assert again.run_id == failed.run_id
    assert again.tasks["explode"].attempt == 2


def test_a_broken_config_stops_a_run_before_it_exists(project: Path) -> None:
    write(project, "legato.toml", RUN_PROFILES + '\n[profiles.bad]\nexecutor = "gpu"\n')
    with pytest.raises(ConfigError, match=r"profiles\.bad\.executor"):
        legato.run(small, profile="test")
    assert not (project / "test-state").exists()
