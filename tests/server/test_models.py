"""The model registry through the API: models, versions with their lineage, alias history;
promote and roll back (admin), recorded with who did it."""

from __future__ import annotations

from typing import Any

import pytest
import server_pipelines as sp
from starlette.testclient import TestClient

import legato
from legato.server.auth import Tokens

from .conftest import headers_for

MODELS = "/api/v1/models"


@pytest.fixture
def versions(storage: Any) -> list[legato.RunResult[Any]]:
    """Two versions of model ``churn``, each registered by a run."""
    return [
        legato.run(sp.registered, {"accuracy": accuracy}, executor="inline", store=storage)
        for accuracy in (0.8, 0.9)
    ]


@pytest.fixture
def admin(client: TestClient, tokens: Tokens) -> TestClient:
    client.headers.update(headers_for("admin", tokens))
    return client


def test_models_and_their_versions_with_lineage(admin: TestClient, versions: Any) -> None:
    assert admin.get(MODELS).json()["models"] == [
        {"name": "churn", "versions": 2, "latest": 2, "aliases": {}}
    ]
    detail = admin.get(f"{MODELS}/churn").json()
    first, second = detail["versions"]
    assert first["version"] == 1
    assert first["run_id"] == versions[0].run_id
    assert first["task"] == "train_model"
    assert first["attempt"] == 1
    assert first["metrics"] == {"accuracy": 0.8}
    assert first["params"]["depth"] == 3
    assert first["params"]["accuracy"] == 0.8
    assert set(first["inputs"]) == {"prepare"}
    assert first["artifact"]["serializer"]
    assert second["metrics"] == {"accuracy": 0.9}
    assert admin.get(f"{MODELS}/churn/versions/2").json() == second
    assert detail["history"] == []


def test_promote_and_roll_back_are_recorded(admin: TestClient, versions: Any) -> None:
    alias = f"{MODELS}/churn/aliases/production"
    one = admin.post(alias, json={"version": 1, "reason": "first"})
    assert one.status_code == 200, one.text
    assert one.json()["version"] == 1
    assert one.json()["previous"] is None
    admin.post(alias, json={"version": 2, "reason": "better"})
    back = admin.post(f"{alias}/rollback", json={"reason": "worse in production"})
    assert back.status_code == 200, back.text
    assert back.json()["version"] == 1
    assert back.json()["previous"] == 2
    detail = admin.get(f"{MODELS}/churn").json()
    assert detail["aliases"] == {"production": 1}
    history = detail["history"]
    assert [(h["action"], h["version"], h["previous"]) for h in history] == [
        ("set", 1, None),
        ("set", 2, 1),
        ("rollback", 1, 2),
    ]
    assert history[2]["reason"] == "worse in production"
    assert history[2]["actor"].startswith("legato ui admin from ")


def test_registry_refusals(admin: TestClient, versions: Any) -> None:
    assert admin.get(f"{MODELS}/nosuchmodel").status_code == 404
    assert admin.get(f"{MODELS}/churn/versions/9").status_code == 404
    assert admin.get(f"{MODELS}/bad name!").status_code == 422
    refused = admin.post(f"{MODELS}/churn/aliases/production/rollback", json={})
    assert refused.status_code == 409
    assert "nothing to roll back" in refused.json()["error"]
    missing = admin.post(f"{MODELS}/churn/aliases/production", json={"version": 7})
    assert missing.status_code == 404
    assert "has no version 7" in missing.json()["error"]
