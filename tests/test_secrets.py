"""Secrets come from environment variables the profile names, and their values appear nowhere
legato writes: captured output, recorded errors, the run store, the artifact store, the
terminal. Proved with a canary value, on every executor."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import secret_tasks as st

import legato
from legato.config import load_settings
from legato.engine.storage import open_storage
from legato.errors import ConfigError, ParameterError
from legato.model.errors import ErrorInfo, ErrorKind
from legato.model.runs import LogEntry
from legato.model.states import RunState, TaskState
from legato.runtime.logs import LogSink, join_entries
from legato.runtime.secrets import check_params, mask, mask_error, register

PROFILES = """\
home = "state"

[profiles.test.secrets]
canary = "LEGATO_TEST_CANARY"
"""


@pytest.fixture
def canary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh secret value in LEGATO_TEST_CANARY, referenced by profile ``test`` of a
    legato.toml in the working folder, whose state lives in ``./state``."""
    value = f"canary-5f3e9a{uuid.uuid4().hex}"
    monkeypatch.setenv("LEGATO_TEST_CANARY", value)
    monkeypatch.delenv("LEGATO_HOME")
    (tmp_path / "legato.toml").write_text(PROFILES)
    monkeypatch.chdir(tmp_path)
    return value


def files_containing(folder: Path, needle: str) -> list[str]:
    """Every file under ``folder`` whose raw bytes contain ``needle``."""
    data = needle.encode()
    return [str(p) for p in folder.rglob("*") if p.is_file() and data in p.read_bytes()]


# --------------------------------------------------------------------------- end to end


@pytest.mark.parametrize("executor", ["inline", "threads", "processes"])
def test_a_canary_secret_appears_nowhere(
    executor: str, canary: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    result = legato.run(st.leaky, executor=executor, profile="test")

    assert result.state is RunState.FAILED
    # The recorded error, message and traceback.
    error = result.tasks["careless"].error
    assert error is not None
    assert "***" in error.message
    assert canary not in error.message
    assert canary not in error.traceback
    assert canary not in result.tasks["careless"].reason
    # The captured output: every stream, also what the task read from os.environ itself.
    storage = open_storage(load_settings())
    # Joined per task and stream: with threads the two tasks write at the same time, so
    # their chunks interleave in the run's log.
    streams: dict[tuple[str, str], str] = {}
    for entry in storage.runs.read_logs(result.run_id):
        streams[entry.key, entry.stream] = streams.get((entry.key, entry.stream), "") + entry.text
    text = "\n".join(streams.values())
    assert "connecting with ***" in text
    assert "logged the password ***" in text
    assert "straight from the environment: ***" in text
    assert canary not in text
    # The raw bytes of the run store (database, WAL) and the artifact store.
    state = tmp_path / "state"
    assert (state / "legato.db").exists()
    assert result.tasks["reads_environ"].state is TaskState.SUCCEEDED  # it stored an output
    assert files_containing(state, canary) == []
    assert files_containing(state, "connecting with ***")  # the masked text is there
    # What reached the terminal (worker processes write to the same descriptors).
    out, err = capfd.readouterr()
    assert canary not in out + err


def test_a_secret_split_over_writes_is_masked_in_the_stored_line(canary: str) -> None:
    result = legato.run(st.in_pieces, executor="threads", profile="test")

    assert result.ok
    logs = open_storage(load_settings()).runs.read_logs(result.run_id)
    text = "".join(entry.text for entry in logs)
    assert canary not in text
    assert "***" in text


@pytest.mark.parametrize("token", ["{}", "postgresql://user:{}@db/prod"])
def test_a_parameter_holding_a_secret_is_refused_before_the_run_exists(
    canary: str, token: str, tmp_path: Path
) -> None:
    with pytest.raises(ParameterError) as caught:
        legato.run(st.with_token, {"token": token.format(canary)}, profile="test")

    message = str(caught.value)
    assert canary not in message
    assert "'token'" in message
    assert "secret 'canary'" in message
    assert "LEGATO_TEST_CANARY" in message
    assert "legato.secret" in message
    assert open_storage(load_settings()).runs.list_runs() == []
    assert files_containing(tmp_path / "state", canary) == []


def test_a_parameter_of_the_wrong_type_holding_a_secret_is_refused_without_quoting_it(
    canary: str,
) -> None:
    with pytest.raises(ParameterError) as caught:
        legato.run(st.with_token, {"token": [canary]}, profile="test")
    assert canary not in str(caught.value)


def test_an_undeclared_secret_fails_the_task_naming_it_and_the_declared_ones(
    canary: str,
) -> None:
    result = legato.run(st.asks_for_undeclared, executor="processes", profile="test")

    error = result.tasks["undeclared"].error
    assert error is not None
    assert error.type_name == "legato.errors.ConfigError"
    assert "'no_such_secret'" in error.message
    assert "profile 'test'" in error.message
    assert "'canary'" in error.message  # what is declared
    assert "legato.toml" in error.message


# --------------------------------------------------------------------------- legato.secret


def test_secret_outside_a_run_uses_the_selected_profile(
    canary: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEGATO_PROFILE", "test")
    assert legato.secret("canary") == canary
    assert mask(f"x{canary}y") == "x***y"


def test_a_secret_whose_variable_is_unset_names_the_secret_and_the_variable(
    canary: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEGATO_PROFILE", "test")
    monkeypatch.delenv("LEGATO_TEST_CANARY")
    with pytest.raises(ConfigError) as caught:
        legato.secret("canary")
    message = str(caught.value)
    assert "'canary'" in message
    assert "LEGATO_TEST_CANARY" in message
    assert "not set" in message


def test_an_undeclared_secret_names_the_file_and_where_to_declare_it(
    canary: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError) as caught:
        legato.secret("canary")  # no profile selected: top-level [secrets] is empty
    message = str(caught.value)
    assert str(tmp_path / "legato.toml") in message
    assert "secrets.canary" in message
    assert "[profiles.default.secrets]" in message or "[secrets]" in message


def test_without_any_config_file_the_error_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"no legato\.toml"):
        legato.secret("anything")


# --------------------------------------------------------------------------- masking


def test_mask_replaces_every_registered_form() -> None:
    value = f"s3cr3t-{uuid.uuid4().hex}\\path\n"
    register(value, "secret 'x'")
    assert mask(f"a {value} b") == "a *** b"
    assert mask(f"a {value!r} b") == "a '***' b"  # repr escapes the backslash and newline
    assert mask("nothing here") == "nothing here"


def test_a_longer_secret_containing_a_shorter_one_is_masked_whole() -> None:
    short = f"short{uuid.uuid4().hex}"
    register(short)
    register(short + "-and-longer")
    assert mask(f"[{short}-and-longer]") == "[***]"


def test_recorded_errors_are_masked() -> None:
    value = f"tok-{uuid.uuid4().hex}"
    register(value)
    error = ErrorInfo(
        kind=ErrorKind.RAISED,
        type_name="builtins.ValueError",
        message=f"bad {value}",
        traceback=f"Traceback...\nValueError: bad {value}\n",
    )
    masked = mask_error(error)
    assert masked.message == "bad ***"
    assert value not in masked.traceback


def test_log_entries_are_joined_then_masked() -> None:
    value = f"tok-{uuid.uuid4().hex}"
    register(value)

    def entry(text: str) -> LogEntry:
        return LogEntry(run_id="r", key="k", attempt=1, stream="stdout", text=text, at=0.0)

    joined = join_entries([entry(value[:6]), entry(value[6:]), entry(" end\n")])
    assert [e.text for e in joined] == ["*** end\n"]
    sink = LogSink()
    sink.add([entry(value[:3]), entry(value[3:] + "\n")])
    assert [e.text for e in sink.drain()] == ["***\n"]


def test_check_params_looks_inside_containers() -> None:
    value = f"tok-{uuid.uuid4().hex}"
    register(value, "secret 'api'")
    check_params({"n": 3, "name": "fine"})
    for params in ({"x": {"nested": [value]}}, {"x": (1, f"a{value}")}, {"x": {value: 1}}):
        with pytest.raises(ParameterError, match="secret 'api'"):
            check_params(params)
