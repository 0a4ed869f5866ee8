"""``GET /api/v1/me``: the caller's role; ``GET /api/v1/settings``: the server's effective
settings, an admin's only, passwords and secret values masked."""

from __future__ import annotations

import dataclasses

import pytest

from legato.config import load_settings
from legato.runtime.secrets import watch
from legato.server.auth import Tokens

from .test_pipeline_routes import _client


def test_the_settings_are_an_admins_with_passwords_masked(
    tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_DB_PASSWORD", "hunter2-secret")
    shown = load_settings(
        environ={
            "LEGATO_STATE_URL": "postgresql+psycopg://ana:hunter2@db.example/runs",
            "LEGATO_ARTIFACTS_URL": "s3://bucket/path?secret_key=hunter3",
            "LEGATO_STALE_AFTER": "45",
        }
    )
    shown = dataclasses.replace(shown, secrets={"db": "TEST_DB_PASSWORD"})
    watch(shown.secret_refs)  # as legato ui does when it loads them
    with _client(tokens, "viewer", settings=shown, allowed_hosts=("ml.example",)) as viewer:
        assert viewer.get("/api/v1/settings").status_code == 403
    with _client(tokens, "admin", settings=shown, allowed_hosts=("ml.example",)) as admin:
        answer = admin.get("/api/v1/settings")
    assert answer.status_code == 200
    assert "hunter" not in answer.text
    found = answer.json()
    assert found["state_url"] == "postgresql+psycopg://ana:***@db.example/runs"
    assert found["artifacts_url"] == "s3://bucket/path?secret_key=***"
    assert found["stale_after"] == 45.0
    assert found["secrets"] == {"db": "TEST_DB_PASSWORD"}
    assert found["allowed_hosts"] == ["ml.example"]
    assert set(found["pipelines"]) == {"scored", "slow"}
    assert found["writes"]
    assert found["starts_runs"]
    assert found["origins"]["stale_after"] == "LEGATO_STALE_AFTER"


def test_each_role_learns_its_role_and_no_token_learns_nothing(tokens: Tokens) -> None:
    for who in ("viewer", "operator", "admin"):
        with _client(tokens, who) as client:
            assert client.get("/api/v1/me").json() == {"role": who}
    with _client(tokens, "viewer") as client:
        assert client.get("/api/v1/me", headers={"Authorization": ""}).status_code == 401
