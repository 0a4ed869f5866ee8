"""The server's defences besides the route checks: security headers on every answer, the
login exchange and its cookie, the token file, and the refusal to listen on another
address before auth is configured."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from legato.errors import ConfigError, ParameterError
from legato.server.auth import TOKEN_FILE, Role, Tokens, create_tokens, read_tokens
from legato.server.security import COOKIE, SECURITY_HEADERS, same_origin
from legato.server.serving import login_url, server_tokens

from .conftest import headers_for


@pytest.mark.parametrize(
    ("path", "who", "status"),
    [
        ("/healthz", "none", 200),
        ("/api/v1/runs", "none", 401),
        ("/api/v1/runs", "viewer", 200),
        ("/api/v1/no-such-route", "viewer", 404),
        ("/api/v1/runs?limit=0", "viewer", 422),
    ],
)
def test_every_answer_carries_the_security_headers(
    client: TestClient, tokens: Tokens, path: str, who: str, status: int
) -> None:
    answer = client.get(path, headers=headers_for(who, tokens))
    assert answer.status_code == status
    for name, value in SECURITY_HEADERS:
        assert answer.headers[name.decode()] == value.decode()
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


def test_a_refused_host_gets_the_headers_too(client: TestClient) -> None:
    answer = client.get("/healthz", headers={"Host": "evil.example"})
    assert answer.status_code == 400
    assert "DNS rebinding" in answer.json()["error"]


def test_login_exchanges_the_token_for_a_strict_http_only_cookie(
    client: TestClient, tokens: Tokens
) -> None:
    answer = client.get(
        "/login", params={"token": tokens.token(Role.OPERATOR)}, follow_redirects=False
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    attributes = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "samesite=strict", "path=/"} <= attributes
    # The browser now sends the cookie: it authenticates as the token's role.
    client.cookies.set(COOKIE, tokens.token(Role.OPERATOR))
    assert client.get("/api/v1/runs").status_code == 200


def test_login_with_a_wrong_token_sets_nothing(client: TestClient) -> None:
    answer = client.get("/login", params={"token": "y" * 43}, follow_redirects=False)
    assert answer.status_code == 401
    assert "set-cookie" not in answer.headers
    assert client.get("/login", follow_redirects=False).status_code == 422


def test_a_wrong_cookie_is_refused(client: TestClient) -> None:
    client.cookies.set(COOKIE, "z" * 43)
    assert client.get("/api/v1/runs").status_code == 401


def test_tokens_are_made_once_private_and_random(tmp_path: Path) -> None:
    path = tmp_path / "home" / TOKEN_FILE
    tokens = create_tokens(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len({tokens.token(role) for role in Role}) == 3
    assert all(len(tokens.token(role)) >= 40 for role in Role)
    assert create_tokens(path) == tokens  # never replaced
    assert read_tokens(path) == tokens
    assert tokens.role_of(tokens.admin) is Role.ADMIN
    assert tokens.role_of(tokens.admin[:-1]) is None
    assert tokens.role_of("") is None


def test_a_token_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / TOKEN_FILE
    create_tokens(path)
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        read_tokens(path)


@pytest.mark.parametrize(
    "text", ["not json", "[]", json.dumps({"viewer": "short", "operator": "x", "admin": "y"})]
)
def test_a_malformed_token_file_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / TOKEN_FILE
    path.write_text(text)
    os.chmod(path, 0o600)
    with pytest.raises(ConfigError, match="malformed"):
        read_tokens(path)


def test_another_address_is_refused_until_auth_is_configured(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match=r"before auth is configured.*127\.0\.0\.1"):
        server_tokens(tmp_path, "0.0.0.0")
    assert not (tmp_path / TOKEN_FILE).exists()
    made = server_tokens(tmp_path, "127.0.0.1")
    assert server_tokens(tmp_path, "0.0.0.0") == made
    assert server_tokens(tmp_path, "::1") == made


def test_the_login_url_names_an_address_a_browser_can_open() -> None:
    assert login_url("127.0.0.1", 8080, "t") == "http://127.0.0.1:8080/login?token=t"
    assert login_url("0.0.0.0", 80, "t") == "http://127.0.0.1:80/login?token=t"
    assert login_url("::1", 8080, "t") == "http://[::1]:8080/login?token=t"


@pytest.mark.parametrize(
    ("origin", "host", "same"),
    [
        ("http://127.0.0.1:8080", "127.0.0.1:8080", True),
        ("http://localhost:8080", "LOCALHOST:8080", True),
        ("https://127.0.0.1:8080", "127.0.0.1:8080", False),
        ("http://127.0.0.1:8080", "127.0.0.1:8081", False),
        ("http://evil.example", "127.0.0.1:8080", False),
        ("null", "127.0.0.1:8080", False),
        ("file://", "127.0.0.1:8080", False),
        ("http://127.0.0.1:8080/path", "127.0.0.1:8080", False),
        ("http://127.0.0.1:8080", None, False),
    ],
)
def test_same_origin(origin: str, host: str | None, same: bool) -> None:
    assert same_origin(origin, host) is same
