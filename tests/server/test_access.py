"""Who may call what, generated from the app's route table: every route (streams and the
OpenAPI schema included) by every credential (none, wrong, viewer, operator, admin); and on
every route, a rebinding ``Host`` refused, and on every route that changes state or streams,
a foreign ``Origin`` refused whatever the token."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from legato.server.app import SecuredApp
from legato.server.auth import Role, Tokens

from .conftest import BASE, CREDENTIALS, headers_for
from .routes import Endpoint, endpoints, status_of


def _call(app: SecuredApp, endpoint: Endpoint, headers: dict[str, str]) -> int:
    body = {} if endpoint.changes_state else None
    return status_of(app, endpoint.method, endpoint.path, headers, body)


def _expected(endpoint: Endpoint, who: str) -> str:
    if endpoint.role is None:
        return "answered"
    if who in ("none", "wrong"):
        return "401"
    return "answered" if Role(who).allows(endpoint.role) else "403"


def _outcome(status: int) -> str:
    if status in (401, 403):
        return str(status)
    assert status < 500, f"server error {status}"
    return "answered"


def test_the_route_table_declares_every_role_by_what_a_route_does(app: SecuredApp) -> None:
    table = endpoints(app)
    assert {e.template for e in table} >= {"/healthz", "/login", "/api/v1/runs"}
    for endpoint in table:
        if endpoint.changes_state:
            assert endpoint.role in (Role.OPERATOR, Role.ADMIN), endpoint
        elif endpoint.role is None:
            assert endpoint.template in ("/healthz", "/login"), endpoint


@pytest.mark.parametrize("who", CREDENTIALS)
def test_every_route_with_every_credential(app: SecuredApp, tokens: Tokens, who: str) -> None:
    wrong = []
    for endpoint in endpoints(app):
        got = _outcome(_call(app, endpoint, headers_for(who, tokens)))
        if got != _expected(endpoint, who):
            wrong.append(
                f"{endpoint.method} {endpoint.path}: {got}, not {_expected(endpoint, who)}"
            )
    assert not wrong, "\n".join(wrong)


def test_an_unauthenticated_answer_says_how_to_authenticate(client: TestClient) -> None:
    answer = client.get("/api/v1/runs")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert "ui-tokens.json" in answer.json()["error"]


def test_a_rebinding_host_is_refused_on_every_route(app: SecuredApp, tokens: Tokens) -> None:
    admin = headers_for("admin", tokens)
    for endpoint in endpoints(app):
        for host in ("evil.example", "evil.example:8080", "127.0.0.1.evil.example"):
            status = _call(app, endpoint, {**admin, "Host": host})
            assert status == 400, (endpoint, host, status)


def test_a_foreign_origin_cannot_change_state_or_open_a_stream(
    app: SecuredApp, tokens: Tokens
) -> None:
    admin = headers_for("admin", tokens)
    guarded = [e for e in endpoints(app) if e.changes_state or e.streams]
    for endpoint in guarded:
        for origin in (
            "http://evil.example",
            "http://127.0.0.1:9999",
            "null",
            "https://127.0.0.1:8080",
        ):
            status = _call(app, endpoint, {**admin, "Origin": origin})
            assert status == 403, (endpoint, origin, status)
        same = _call(app, endpoint, {**admin, "Origin": BASE})
        assert same != 403, endpoint


def test_a_foreign_origin_may_read_what_cors_keeps_from_it(
    client: TestClient, tokens: Tokens
) -> None:
    # A cross-site read is answered but not shared with the page: no CORS header allows it.
    answer = client.get(
        "/api/v1/runs", headers={**headers_for("viewer", tokens), "Origin": "http://evil.example"}
    )
    assert answer.status_code == 200
    assert "access-control-allow-origin" not in answer.headers
