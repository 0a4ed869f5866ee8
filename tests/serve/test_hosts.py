"""``legato serve`` answers only requests addressed to a loopback name or an allowed host
(DNS rebinding), over real HTTP; and a model whose file no longer matches the registry's
checksum is never served, neither at start nor when the alias moves to it."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
import serve_models as sm
from typer.testing import CliRunner

from legato.cli import app
from legato.errors import ParameterError
from legato.registry import Registry
from legato.serve.hosts import HostPolicy, host_of

from .conftest import Server, publish, start_server

ROWS = {"inputs": [[1.0, 2.0, 3.0]]}


def port_of(server: Server) -> int:
    return int(server.url.rsplit(":", 1)[1])


def ask(server: Server, route: str, host: str) -> httpx.Response:
    """``route`` (``POST /predict`` or ``GET /x``) with the ``Host`` header ``host``."""
    method, path = route.split(" ")
    return httpx.request(
        method,
        f"{server.url}{path}",
        json=ROWS if method == "POST" else None,
        headers={"Host": host},
    )


ROUTES = ["POST /predict", "GET /metadata", "GET /health", "GET /nowhere", "GET /openapi.json"]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:{port}", "127.0.0.1.evil.example", "localhost.evil"]
)
def test_a_foreign_host_is_refused_on_every_route(
    shared_server: Server, route: str, host: str
) -> None:
    answer = ask(shared_server, route, host.format(port=port_of(shared_server)))

    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error.startswith(f"Host {host.format(port=port_of(shared_server))!r} is not allowed")
    assert "localhost, 127.0.0.1, [::1] (any port)" in error
    assert "DNS rebinding" in error
    assert f"--allowed-host {host.split(':', maxsplit=1)[0]}" in error


@pytest.mark.parametrize(
    "host",
    ["localhost", "localhost:{port}", "LocalHost:{port}", "127.0.0.1:{port}", "[::1]:{port}"],
)
def test_loopback_names_pass(shared_server: Server, host: str) -> None:
    host = host.format(port=port_of(shared_server))
    assert ask(shared_server, "POST /predict", host).json()["predictions"] == [6.0]
    assert ask(shared_server, "GET /metadata", host).status_code == 200
    assert ask(shared_server, "GET /health", host).status_code == 200


@pytest.mark.parametrize("host", ["", "a b", "[not-v6]:80", "x:y"])
def test_a_malformed_host_is_refused(shared_server: Server, host: str) -> None:
    answer = ask(shared_server, "GET /health", host)
    assert answer.status_code == 400
    assert "is not allowed" in answer.json()["error"]


def test_configured_hosts_pass_and_others_are_still_refused(registry: Registry) -> None:
    publish(registry, 1.0)
    server = start_server(
        "rowsum@production", "--allowed-host", "model.internal", "--allowed-host", "*.corp.example"
    )
    try:
        port = port_of(server)
        for host in ("model.internal", f"model.internal:{port}", "api.corp.example", "localhost"):
            assert ask(server, "POST /predict", host).status_code == 200, host
        for host in ("evil.example", "corp.example", "model.internal.evil", "xcorp.example"):
            answer = ask(server, "GET /metadata", host)
            assert answer.status_code == 400, host
            assert "model.internal, *.corp.example" in answer.json()["error"]
    finally:
        server.stop()


def test_a_malformed_allowed_host_is_a_usage_error(registry: Registry) -> None:
    publish(registry, 1.0)
    for bad in ("http://x.example", "x.example:8000", "*x.example", "a/b"):
        result = CliRunner().invoke(app, ["serve", "rowsum@production", "--allowed-host", bad])
        assert result.exit_code == 2, bad
        assert "is not a host name, an address" in result.output


def test_the_host_policy() -> None:
    policy = HostPolicy.of(["Model.Internal.", "10.0.0.5", "::2", "*.corp.example"])
    assert policy.allows("model.internal:8000")
    assert policy.allows("10.0.0.5")
    assert policy.allows("[::2]:80")
    assert policy.allows("[0::2]")
    assert policy.allows("[::1]")
    assert policy.allows("a.b.corp.example")
    assert not policy.allows("corp.example")
    assert not policy.allows("10.0.0.6")
    assert not policy.allows(None)
    assert HostPolicy.of(["*"]).allows("anything.example")
    assert host_of("[::1]:8000") == "[::1]"
    assert host_of("Example.COM.:80") == "example.com"
    assert host_of("a:b:c") is None
    with pytest.raises(ParameterError):
        HostPolicy.of(["https://x"])


# --------------------------------------------------------------------------- the trust boundary


def _file_of(home: Path, checksum: str) -> Path:
    digest = checksum.rsplit(":", maxsplit=1)[-1]
    (path,) = [p for p in home.rglob("*") if p.is_file() and digest in str(p)]
    return path


def test_an_altered_version_is_not_switched_in_when_the_alias_moves_to_it(
    registry: Registry, legato_home: Path
) -> None:
    publish(registry, 1.0)
    server = start_server("rowsum@production", "--poll", "0.1")
    try:
        # Big enough to be a file of its own, not inline in its reference.
        second = registry.register("rowsum", sm.RowSum(2.0, padding=100_000))
        path = _file_of(legato_home, second.artifact.checksum)
        path.write_bytes(path.read_bytes()[:-3] + b"xyz")  # altered after registration
        registry.set_alias("rowsum", "production", second.version, reason="altered")
        deadline = time.monotonic() + 15
        health = httpx.get(f"{server.url}/health").json()
        while "warning" not in health and time.monotonic() < deadline:
            time.sleep(0.1)
            health = httpx.get(f"{server.url}/health").json()
        assert health["version"] == 1  # the verified version keeps serving
        assert "cannot load rowsum:2" in health["warning"]
        assert "checksum" in health["warning"]
        assert httpx.post(f"{server.url}/predict", json=ROWS).json()["version"] == 1
    finally:
        server.stop()
