"""Path traversal: artifacts and models are addressed by run, task, attempt, name, alias and
version, never by path. Over 200 traversal payloads in every such parameter of the run,
log, compare, artifact and model routes: no answer is a server error, none holds a file's
contents, and no file outside the artifact root is opened (an audit hook watches every
``open`` of this process while the requests are answered)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import server_pipelines as sp
from starlette.testclient import TestClient

import legato
from legato.server.auth import Tokens

from .conftest import headers_for

_opened: list[str] = []
_watching = False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _watching and event == "open" and args and isinstance(args[0], str | bytes | Path):
        _opened.append(str(args[0]))


sys.addaudithook(_audit)

_ENCODINGS = ("../", "..%2f", "%2e%2e%2f", "..\\", "....//", "%252e%252e%252f", "..%c0%af")
_SUFFIXES = ("", "%00.json")


def payloads(canary: Path) -> list[str]:
    """Traversal payloads aimed at ``canary`` (a file beside the legato home) and at
    ``/etc/passwd``: relative climbs in several encodings and depths, and absolute paths."""
    found = []
    for target in (canary.name, "etc/passwd"):
        for climb in _ENCODINGS:
            for depth in range(1, 9):
                for suffix in _SUFFIXES:
                    found.append(climb * depth + target + suffix)
    found += [str(canary), "/etc/passwd", f"file://{canary}", f"{canary}%00", "~/.ssh/id_rsa"]
    return found


@pytest.fixture
def canary(legato_home: Path) -> Iterator[Path]:
    """A file outside the artifact root (beside the legato home) no answer may read."""
    path = legato_home.parent / f"{legato_home.name}-canary.txt"
    path.write_text("CANARY-d41d8cd9 the contents of a file outside the store")
    yield path
    path.unlink()


def test_traversal_payloads_read_nothing_outside_the_artifact_root(
    client: TestClient, tokens: Tokens, scored_runs: Any, canary: Path, storage: Any
) -> None:
    global _watching
    legato.run(sp.registered, {}, executor="inline", store=storage)  # model churn, version 1
    run = scored_runs[0].run_id
    routes = [
        "/api/v1/runs/{p}",
        "/api/v1/runs/{p}/tasks",
        "/api/v1/runs/{p}/logs",
        "/api/v1/runs/{p}/metrics",
        "/api/v1/runs/{p}/events",
        f"/api/v1/runs/{run}/logs?task={{p}}",
        "/api/v1/compare?run={p}",
        "/api/v1/runs/{p}/artifacts",
        f"/api/v1/runs/{run}/tasks/{{p}}/attempts/1/output",
        f"/api/v1/runs/{run}/tasks/fit/attempts/{{p}}/output",
        f"/api/v1/runs/{run}/tasks/{{p}}/artifacts/report",
        f"/api/v1/runs/{run}/tasks/fit/artifacts/{{p}}",
        "/api/v1/models/{p}",
        "/api/v1/models/churn/versions/{p}",
    ]
    posts = ["/api/v1/models/{p}/aliases/production", "/api/v1/models/churn/aliases/{p}"]
    admin = headers_for("admin", tokens)
    sent = 0
    all_payloads = payloads(canary)
    assert len(all_payloads) >= 200
    _opened.clear()
    _watching = True
    try:
        for payload in all_payloads:
            quoted = quote(payload, safe="%")
            for route in routes:
                answer = client.get(route.format(p=quoted), headers=admin)
                # Nothing is found by a path: the name it spells is unknown, or malformed.
                assert answer.status_code in (404, 422), (route, payload, answer.text)
                assert "CANARY" not in answer.text
                assert "root:x:0:0" not in answer.text
                sent += 1
            for route in posts:
                answer = client.post(route.format(p=quoted), headers=admin, json={"version": 1})
                assert answer.status_code in (404, 422), (route, payload, answer.text)
                assert "CANARY" not in answer.text
                sent += 1
    finally:
        _watching = False
    assert sent >= 200 * len(routes)
    assert not [p for p in _opened if canary.name in p or p.endswith("passwd")], _opened
    # The watch sees what is opened: reading the canary here is caught.
    _watching = True
    try:
        canary.read_text()
    finally:
        _watching = False
    assert str(canary) in _opened
