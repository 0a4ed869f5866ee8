"""Every registry field a caller sets is refused when it holds a secret's value, before
anything is stored; reasons a deployment composes from a failure are masked instead, so
its rollback still happens."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from legato.cli import app
from legato.deployment import SmokeTest, run_deployment
from legato.errors import DeploymentError, ParameterError, SecretValueError
from legato.registry import Lineage, Registry, open_registry
from legato.secret_values import register


@pytest.fixture
def secret() -> str:
    """A fresh value known to this process as secret 'api_key'."""
    value = f"sk-{uuid.uuid4().hex}"
    register(value, "secret 'api_key' (environment variable API_KEY)")
    return value


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


REGISTRATIONS: dict[str, Callable[[str], dict[str, Any]]] = {
    "the model name": lambda s: {"name": s},
    "tag 'owner'": lambda s: {"tags": {"owner": f"team {s}"}},
    "a tag name": lambda s: {"tags": {s: "x"}},
    "a metric name": lambda s: {"metrics": {s: 0.5}},
    "the signature": lambda s: {"signature": {"inputs": [{"name": s, "dtype": "float64"}]}},
    "parameter 'dsn'": lambda s: {"lineage": Lineage(params={"dsn": {"url": [s]}})},
    "environment entry 'argv'": lambda s: {"lineage": Lineage(environment={"argv": ["-k", s]})},
    "the lineage (run, task, fingerprint)": lambda s: {"lineage": Lineage(task=s)},
}


@pytest.mark.parametrize("field", list(REGISTRATIONS))
def test_a_registration_holding_a_secret_is_refused_and_stores_nothing(
    registry: Registry, secret: str, artifacts_url: str, field: str
) -> None:
    given = {"name": "digits", **REGISTRATIONS[field](secret)}

    with pytest.raises(SecretValueError) as caught:
        registry.register(model={"weights": [1, 2]}, **given)

    error = caught.value
    assert isinstance(error, ParameterError)
    assert (error.api, error.field) == ("Registry.register", field)
    assert str(error).startswith(f"Registry.register: {field} contains the value of secret")
    assert "'api_key' (environment variable API_KEY)" in str(error)
    assert "legato.secret(...)" in str(error)
    assert secret not in str(error)
    assert registry.models() == []
    assert files_under(Path(artifacts_url)) == []  # not even the model's bytes


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda r, s: r.set_alias("digits", s, 1, reason="ok"), "the alias"),
        (lambda r, s: r.set_alias("digits", "staging", 1, reason=f"ok {s}"), "the reason"),
        (lambda r, s: r.set_alias("digits", "staging", 1, reason="ok", actor=s), "the actor"),
        (lambda r, s: r.rollback("digits", "production", to=1, reason=s), "the reason"),
        (lambda r, s: r.rollback("digits", reason="ok", actor=s), "the actor"),
        (lambda r, s: r.remove_alias("digits", "production", reason=s), "the reason"),
    ],
)
def test_an_alias_change_holding_a_secret_is_refused_and_changes_nothing(
    registry: Registry, secret: str, call: Callable[[Registry, str], Any], field: str
) -> None:
    for _ in range(2):
        registry.register("digits", {"weights": [1, 2]})
    registry.set_alias("digits", "production", 1, reason="first")
    registry.set_alias("digits", "production", 2, reason="second")

    with pytest.raises(SecretValueError) as caught:
        call(registry, secret)

    assert caught.value.field == field
    assert secret not in str(caught.value)
    assert registry.aliases("digits") == {"production": 2}
    assert [c.reason for c in registry.history("digits")] == ["first", "second"]


def test_a_failed_smoke_test_says_why_with_the_secret_masked_and_still_moves_back(
    registry: Registry, secret: str
) -> None:
    for _ in range(2):
        registry.register("digits", _Doubler())
    registry.set_alias("digits", "production", 1, reason="first")

    def leaky_check(predictions: list[Any]) -> bool:
        raise RuntimeError(f"could not reach the checker with {secret}")

    smoke = SmokeTest(rows=[[1.0]], expect=leaky_check)
    with pytest.raises(DeploymentError, match="was not promoted to 'production'") as refused:
        run_deployment(registry, "digits:2", smoke=smoke, actor="ci")
    assert "could not reach the checker with ***" in str(refused.value)
    assert secret not in str(refused.value)
    assert [c.reason for c in registry.history("digits")] == ["first"]  # never moved

    # An earlier attempt of the same deploy promoted it (it crashed after): this attempt's
    # failed smoke test moves it back, with the reason masked, not refused for its secret.
    registry.set_alias("digits", "production", 2, reason="deployed", actor="ci")
    with pytest.raises(DeploymentError, match="'production' was moved back to version 1"):
        run_deployment(registry, "digits:2", smoke=smoke, actor="ci")

    assert registry.aliases("digits") == {"production": 1}
    last = registry.history("digits", "production")[-1]
    assert (last.action, last.version) == ("rollback", 1)
    assert "could not reach the checker with ***" in last.reason
    assert secret not in last.reason


def test_a_deployment_to_an_alias_or_through_a_gate_holding_a_secret_is_refused(
    registry: Registry, secret: str
) -> None:
    from legato.deployment import gates

    registry.register("digits", _Doubler(), metrics={"accuracy": 0.9})
    with pytest.raises(SecretValueError, match=r"^legato\.deploy: the alias contains"):
        run_deployment(registry, "digits:1", alias=f"a{secret}", actor="ci")
    with pytest.raises(SecretValueError, match=r"^legato\.deploy: a gate contains"):
        run_deployment(registry, "digits:1", gates=[gates.metric_at_least(secret, 0.5)])
    assert registry.aliases("digits") == {}


class _Doubler:
    def predict(self, rows: Any) -> list[float]:
        return [2 * sum(row) for row in rows]


# --------------------------------------------------------------------------- the profile's


PROFILE = """\
[secrets]
api_key = "LEGATO_TEST_REGISTRY_KEY"
"""


@pytest.fixture
def declared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A secret the working folder's legato.toml declares, whose variable is set, and that
    no task has read: only the profile makes it known."""
    value = f"declared-{uuid.uuid4().hex}"
    monkeypatch.setenv("LEGATO_TEST_REGISTRY_KEY", value)
    (tmp_path / "legato.toml").write_text(PROFILE)
    monkeypatch.chdir(tmp_path)
    return value


def test_open_registry_refuses_the_secrets_its_profile_declares(declared: str) -> None:
    with open_registry() as registry, pytest.raises(SecretValueError) as caught:
        registry.register("digits", {"w": 1}, tags={"key": declared})
    assert "secret 'api_key' (environment variable LEGATO_TEST_REGISTRY_KEY)" in str(caught.value)


def test_models_promote_with_a_secret_in_its_reason_is_a_usage_error(declared: str) -> None:
    with open_registry() as registry:
        registry.register("digits", {"w": 1})

    result = CliRunner().invoke(
        app, ["models", "promote", "digits", "1", "--reason", f"key {declared}"]
    )

    assert result.exit_code == 2
    assert "Registry.set_alias: the reason contains the value of secret 'api_key'" in (
        result.output.replace("\n", " ")
    )
    assert declared not in result.output
    with open_registry() as registry:
        assert registry.aliases("digits") == {}
