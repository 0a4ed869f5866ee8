"""A secret handed to any call that records a user's value is refused, so its value is
nowhere: not in the database file and its WAL, not under the artifact root, not in captured
output, not in any answer of ``legato serve``. Proved with a canary value on the threads and
processes executors."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import secret_recording as sr
import secret_tasks as st

import legato
from legato.config import load_settings
from legato.engine.storage import open_storage
from legato.errors import SecretValueError
from legato.model.states import RunState, TaskState
from legato.registry import open_registry

from .conftest import Server, start_server

PROFILES = """\
home = "state"

[profiles.test.secrets]
canary = "LEGATO_TEST_CANARY"
"""

API = {
    "log_param": "legato.log_param",
    "log_params": "legato.log_param",
    "log_metric": "legato.log_metric",
    "log_metrics": "legato.log_metric",
    "set_tags": "legato.set_tags",
    "log_artifact": "legato.log_artifact",
    "register_model": "legato.register_model",
    "set_alias": "Registry.set_alias",
    "rollback": "Registry.rollback",
    "remove_alias": "Registry.remove_alias",
    "deploy": "legato.deploy",
}
"""The call each way of :data:`secret_recording.WAYS` must be refused by (its first word)."""


@pytest.fixture
def canary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh secret value in LEGATO_TEST_CANARY, declared by profile ``test`` of a
    legato.toml in the working folder, whose state lives in ``./state``."""
    value = f"canary-7c1d{uuid.uuid4().hex}"
    monkeypatch.setenv("LEGATO_TEST_CANARY", value)
    monkeypatch.setenv("LEGATO_PROFILE", "test")
    monkeypatch.delenv("LEGATO_HOME")
    (tmp_path / "legato.toml").write_text(PROFILES)
    monkeypatch.chdir(tmp_path)
    return value


@pytest.fixture
def serve_clean(canary: str) -> Iterator[Callable[[], Server]]:
    """Starts ``legato serve clean@production`` of the canary's state folder (once the test
    has registered the model); stops it after the test."""
    servers: list[Server] = []

    def start() -> Server:
        servers.append(start_server("clean@production", "--profile", "test"))
        return servers[-1]

    yield start
    for server in servers:
        assert canary not in server.stop()  # what the server wrote to its stderr


def files_containing(folder: Path, needle: str) -> list[str]:
    """Every file under ``folder`` whose raw bytes contain ``needle``."""
    data = needle.encode()
    return [str(p) for p in folder.rglob("*") if p.is_file() and data in p.read_bytes()]


@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_a_secret_handed_to_any_recording_call_is_stored_and_served_nowhere(
    executor: str,
    canary: str,
    tmp_path: Path,
    serve_clean: Callable[[], Server],
    capfd: pytest.CaptureFixture[str],
) -> None:
    result = legato.run(sr.every_way, executor=executor, failure_policy="keep_going")

    assert result.state is RunState.FAILED
    assert result.tasks["clean"].state is TaskState.SUCCEEDED
    for i, way in enumerate(sr.WAYS):  # each refused, with a message that says what to do
        record = result.tasks[f"leak[{i}]"]
        assert record.state is TaskState.FAILED, way
        assert record.error is not None
        assert record.error.type_name == "legato.errors.SecretValueError", (way, record.error)
        message = record.error.message
        assert message.startswith(API[way.split()[0]] + ": "), (way, message)
        assert "secret 'canary' (environment variable LEGATO_TEST_CANARY)" in message
        assert "nothing of it was recorded" in message
        assert "legato.secret(...)" in message
        assert "never record them" in message
        assert canary not in message + record.error.traceback + record.reason
    # A task that catches the refusal and carries on fails all the same.
    swallowed = result.tasks["swallow"]
    assert swallowed.state is TaskState.FAILED
    assert swallowed.error is not None
    assert swallowed.error.type_name == "legato.errors.SecretValueError"
    assert "legato.log_param: the value of parameter 'api_key'" in swallowed.error.message
    # Run parameters: refused before the run exists (and its message does not quote it).
    with pytest.raises(SecretValueError) as refused:
        legato.run(st.with_token, {"token": f"Bearer {canary}"})
    assert canary not in str(refused.value)

    # Nothing of the secret was stored: the registry holds the clean model alone...
    with open_registry() as registry:
        assert registry.models() == ["clean"]
        assert [v.version for v in registry.versions("clean")] == [1]
        assert registry.aliases("clean") == {"production": 1}
        assert len(registry.history("clean")) == 1
    storage = open_storage(load_settings())
    tracked = storage.runs.read_tracked(result.run_id)
    assert tracked == []  # every tracked value was refused
    logs = "".join(entry.text for entry in storage.runs.read_logs(result.run_id))
    assert canary not in logs
    storage.runs.close()
    # ...and the raw bytes of the database, its WAL and the artifact root hold none of it.
    state = tmp_path / "state"
    assert (state / "legato.db").exists()
    assert files_containing(state, canary) == []
    assert files_containing(state, "clean")  # the grep does see what was stored

    # What legato serve answers, good requests and bad.
    server = serve_clean()
    answers = [
        httpx.get(f"{server.url}/metadata"),
        httpx.get(f"{server.url}/health"),
        httpx.post(f"{server.url}/predict", json={"inputs": [[1.0, 2.0, 3.0]]}),
        httpx.post(f"{server.url}/predict", json={"inputs": [[1.0, canary, 3.0]]}),
        httpx.post(f"{server.url}/predict", content=canary.encode()),
        httpx.post(f"{server.url}/predict", json={canary: [[1.0, 2.0, 3.0]]}),
        httpx.get(f"{server.url}/{canary}"),
        httpx.get(f"{server.url}/metadata", headers={"Host": f"{canary}.example"}),
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 422, 400, 422, 404, 400]
    assert answers[0].json()["tags"] == {"team": "vision"}
    assert "***" in answers[3].json()["error"]  # the value it would have quoted, masked
    for answer in answers:
        assert canary not in answer.text
        assert not any(canary in value for value in answer.headers.values())
    # What reached the terminal (worker processes write to the same descriptors).
    out, err = capfd.readouterr()
    assert canary not in out + err


def test_a_refusal_is_not_retried_it_would_be_refused_again(canary: str) -> None:
    result = legato.run(sr.retried, executor="inline")

    record = result.tasks["careless_with_retries"]
    assert record.state is TaskState.FAILED
    assert record.attempt == 1  # although two retries were allowed
    assert record.error is not None
    assert record.error.type_name == "legato.errors.SecretValueError"
