"""``legato serve`` as a real process: predictions, hot switch of the alias, refusal of bad
requests, names and addresses."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import serve_models as sm
from typer.testing import CliRunner

from legato.cli import app
from legato.errors import IntegrityError
from legato.registry import Registry
from legato.serve.app import create_app

from .conftest import Server, publish, start_server

ROWS = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]


@pytest.fixture
def server(registry: Registry) -> Iterator[Server]:
    """A server of its own (tests that move the alias)."""
    publish(registry, 1.0)
    started = start_server("rowsum@production", "--poll", "0.1")
    yield started
    started.stop()


def test_predict_health_and_metadata(shared_server: Server) -> None:
    answer = httpx.post(f"{shared_server.url}/predict", json={"inputs": ROWS})
    assert answer.status_code == 200
    assert answer.json() == {"predictions": [6.0, 15.0], "model": "rowsum", "version": 1}
    assert httpx.post(f"{shared_server.url}/predict", json=ROWS).json()["predictions"] == [
        6.0,
        15.0,
    ]
    assert httpx.get(f"{shared_server.url}/health").json() == {
        "status": "ok",
        "model": "rowsum",
        "version": 1,
    }
    meta = httpx.get(f"{shared_server.url}/metadata").json()
    assert (meta["name"], meta["version"], meta["follows"]) == ("rowsum", 1, True)
    assert meta["metrics"] == {"accuracy": 0.95}
    assert meta["signature"]["shape"] == [None, 3]


def test_the_alias_moves_under_a_loop_of_requests_and_none_fails(
    server: Server, registry: Registry
) -> None:
    seen: list[tuple[int, int, list[float]]] = []
    stop = threading.Event()

    def hammer() -> None:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            while not stop.is_set():
                r = client.post("/predict", json={"inputs": ROWS})
                body = r.json()
                seen.append((r.status_code, body.get("version", 0), body.get("predictions")))

    workers = [threading.Thread(target=hammer) for _ in range(4)]
    for w in workers:
        w.start()
    time.sleep(0.3)
    publish(registry, 2.0)  # production moves to version 2
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not any(v == 2 for _, v, _ in seen[-20:]):
        time.sleep(0.05)
    time.sleep(0.3)
    stop.set()
    for w in workers:
        w.join()

    assert seen
    assert {status for status, _, _ in seen} == {200}  # zero failed requests
    assert {v for _, v, _ in seen} == {1, 2}
    for _, version, predictions in seen:  # each answer wholly from one version
        assert predictions == [6.0 * version, 15.0 * version]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b'{"inputs": [[1, 2]]}', 422, "has 2 items, the model takes 3"),
        (b'{"inputs": [[1, 2, 1' + b"0" * 400 + b"]]}", 422, "input[0][2] is an integer of 1329"),
        (b'{"inputs": [[1, "\\ud800", 3]]}', 422, "input[0][1] is '\\ud800', the model takes"),
        (b'{"inputs": [[1, 2, 3' + b"0" * 5000 + b"]]}", 400, "not valid JSON"),
        (b'{"inputs": [[1, "x", 3]]}', 422, "the model takes float64"),
        (b'{"inputs": [[1, true, 3]]}', 422, "the model takes float64"),
        (b'{"inputs": [1, 2, 3]}', 422, "must be a list"),
        (b'{"inputs": "1,2,3"}', 422, "must be a list of rows"),
        (b'{"columns": {"input": [1]}}', 422, "this model takes rows of numbers"),
        (b'{"inputs": [], "rows": []}', 422, "exactly one of"),
        (b'{"inputs": []}', 422, "no rows"),
        (b'"hello"', 422, "send a JSON list of rows"),
        (b"not json at all", 400, "not valid JSON"),
        (b"\xff\xfe\x00", 400, "not valid JSON"),
        (b"", 400, "no body"),
        (b"[" * 100_000 + b"]" * 100_000, 413, "larger than"),
        (b"[" * 20_000 + b"]" * 20_000, 400, "not valid JSON"),
        (b'{"inputs": [[1, 2, 3]]' + b" " * 200_000 + b"}", 413, "larger than"),
    ],
)
def test_malformed_requests_are_refused_with_a_reason_never_a_500(
    shared_server: Server, body: bytes, status: int, message: str
) -> None:
    answer = httpx.post(
        f"{shared_server.url}/predict", content=body, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == status, answer.text
    assert message in answer.json()["error"]


def test_nan_and_infinities_are_taken_and_answered_as_null(shared_server: Server) -> None:
    answer = httpx.post(
        f"{shared_server.url}/predict", content=b'{"inputs": [[1, NaN, 3], [Infinity, 0, 0]]}'
    )
    assert answer.status_code == 200
    assert answer.text == '{"predictions":[null,null],"model":"rowsum","version":1}'


def test_a_version_no_alias_names_is_tried_without_being_served(
    server: Server, registry: Registry
) -> None:
    registry.register("rowsum", sm.RowSum(5.0), signature=sm.SIGNATURE)

    tried = httpx.post(f"{server.url}/versions/2/predict", json={"inputs": ROWS})
    served = httpx.post(f"{server.url}/predict", json={"inputs": ROWS})
    current = httpx.post(f"{server.url}/versions/1/predict", json={"inputs": ROWS})
    misfit = httpx.post(f"{server.url}/versions/2/predict", json={"inputs": [[1, 2]]})
    unknown = httpx.post(f"{server.url}/versions/9/predict", json={"inputs": ROWS})
    malformed = httpx.post(f"{server.url}/versions/x/predict", json={"inputs": ROWS})
    time.sleep(0.3)  # three polls: the alias has not moved, nothing was swapped in

    assert tried.json() == {"predictions": [30.0, 75.0], "model": "rowsum", "version": 2}
    assert served.json()["version"] == current.json()["version"] == 1
    assert httpx.get(f"{server.url}/health").json()["version"] == 1
    assert (misfit.status_code, misfit.json()["error"]) == (
        422,
        "input[0] has 2 items, the model takes 3",
    )
    assert unknown.status_code == malformed.status_code == 404
    assert "version 9" in unknown.json()["error"]
    assert "'x' is not a valid model version" in malformed.json()["error"]


def test_a_huge_body_without_a_length_is_cut_off_at_the_limit(shared_server: Server) -> None:
    def chunks():  # chunked transfer: no Content-Length to check up front
        yield b'{"inputs": ['
        for _ in range(10_000):
            yield b"[1, 2, 3]," * 10
        yield b"[1, 2, 3]]}"

    answer = httpx.post(f"{shared_server.url}/predict", content=chunks())
    assert answer.status_code == 413


def test_only_post_predicts(shared_server: Server) -> None:
    assert httpx.get(f"{shared_server.url}/predict").status_code == 405


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd", "a/b", "/abs/path", "..", "rowsum@../x", "rowsum:../1", "x" * 200, ""],
)
def test_path_like_and_malformed_model_names_are_refused(name: str, legato_home: Path) -> None:
    result = CliRunner().invoke(app, ["serve", name, "--port", "1"])
    assert result.exit_code == 2
    assert "not a valid" in result.output or "not a model reference" in result.output
    assert not list(legato_home.rglob("passwd"))


def test_off_loopback_needs_a_token(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    publish(registry, 1.0)
    refused = CliRunner().invoke(app, ["serve", "rowsum@production", "--host", "0.0.0.0"])
    assert refused.exit_code == 2
    assert "refusing to serve on 0.0.0.0 without a token" in refused.output

    monkeypatch.setenv("LEGATO_SERVE_TOKEN", "s3cret-token")
    server = start_server("rowsum@production", "--host", "0.0.0.0")
    try:
        assert httpx.get(f"{server.url}/health").status_code == 200
        assert httpx.post(f"{server.url}/predict", json=ROWS).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert httpx.post(f"{server.url}/predict", json=ROWS, headers=wrong).status_code == 401
        assert httpx.get(f"{server.url}/metadata").status_code == 401
        assert httpx.post(f"{server.url}/versions/1/predict", json=ROWS).status_code == 401
        good = {"Authorization": "Bearer s3cret-token"}
        answer = httpx.post(f"{server.url}/predict", json=ROWS, headers=good)
        assert answer.status_code == 200
        assert answer.json()["predictions"] == [6.0, 15.0]
    finally:
        server.stop()


def test_a_model_whose_stored_bytes_were_altered_is_never_served(
    registry: Registry, legato_home: Path
) -> None:
    mv = publish(registry, 1.0, padding=100_000)
    assert mv.artifact.location is not None
    digest = mv.artifact.checksum.split(":")[-1]
    (path,) = [p for p in legato_home.rglob("*") if p.is_file() and digest in str(p)]
    path.write_bytes(path.read_bytes()[:-3] + b"xyz")
    with pytest.raises(IntegrityError):
        create_app(registry, "rowsum@production")
    result = CliRunner().invoke(app, ["serve", "rowsum@production", "--port", "1"])
    assert result.exit_code == 1
    assert "checksum" in result.output
