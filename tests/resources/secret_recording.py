"""Tasks that hand a secret to every legato call that records a user's value, one way each,
for the tests that prove none of it is stored: tracked values, tags, artifacts, model
registrations, alias changes and deployments. One task also registers and promotes a clean
model, so that a ``legato serve`` of it can be asked about the secret."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Any

import serve_models as sm

import legato
from legato import pipeline, task
from legato.deployment import gates
from legato.errors import SecretValueError
from legato.runtime.tracking import current_registry


def _registry() -> legato.Registry:
    registry = current_registry()
    assert registry is not None, "the run's registry is reachable from every executor here"
    return registry


def _file_named_after(secret: str) -> Path:
    path = Path(tempfile.mkdtemp()) / f"{secret}.txt"  # outside the state folder
    path.write_text("the report")
    return path


def _version_one() -> legato.ModelVersion:
    return _registry().get("clean", 1)


WAYS: dict[str, Any] = {
    "log_param value": lambda s: legato.log_param("api_key", s),
    "log_param value inside": lambda s: legato.log_param("url", f"https://u:{s}@db/x"),
    "log_param name": lambda s: legato.log_param(s, 1),
    "log_params": lambda s: legato.log_params({"config": {"nested": [s]}}),
    "log_metric name": lambda s: legato.log_metric(s, 1.0),
    "log_metrics": lambda s: legato.log_metrics({f"loss-{s}": 0.5}),
    "set_tags value": lambda s: legato.set_tags(owner=s),
    "set_tags mapping": lambda s: legato.set_tags({"owner": f"team {s}"}),
    "set_tags name": lambda s: legato.set_tags({s: "x"}),
    "log_artifact name": lambda s: legato.log_artifact(b"data", s),
    "log_artifact path": lambda s: legato.log_artifact(_file_named_after(s), "report"),
    "log_artifact object": lambda s: legato.log_artifact({"token": s}, "config"),
    "register_model tags": lambda s: legato.register_model("m", sm.RowSum(1.0), tags={"k": s}),
    "register_model name": lambda s: legato.register_model(s, sm.RowSum(1.0)),
    "register_model metrics": lambda s: legato.register_model(
        "m", sm.RowSum(1.0), metrics={s: 1.0}
    ),
    "register_model signature": lambda s: legato.register_model(
        "m", sm.RowSum(1.0), signature={"inputs": [{"name": s, "dtype": "float64"}]}
    ),
    "set_alias alias": lambda s: _registry().set_alias("clean", s, 1, reason="x"),
    "set_alias reason": lambda s: _registry().set_alias("clean", "staging", 1, reason=s),
    "set_alias actor": lambda s: _registry().set_alias("clean", "staging", 1, reason="x", actor=s),
    "rollback reason": lambda s: _registry().rollback("clean", "production", to=1, reason=s),
    "remove_alias reason": lambda s: _registry().remove_alias("clean", "production", reason=s),
    "deploy alias": lambda s: legato.deploy(_version_one(), alias=s),
    "deploy gate": lambda s: legato.deploy(
        _version_one(), alias="staging", gates=[gates.metric_at_least(s, 0.0)]
    ),
}
"""Each way a task can hand legato the secret ``s`` to record."""


@task
def clean() -> int:
    """A model registered and promoted with nothing secret about it: what ``legato serve``
    serves in the tests."""
    mv = legato.register_model(
        "clean", sm.RowSum(1.0), signature=sm.SIGNATURE, tags={"team": "vision"}
    )
    assert mv is not None
    _registry().set_alias("clean", "production", mv.version, reason="first")
    return mv.version


@task
def leak(way: str, version: int) -> str:
    """Hand the secret to legato the way named ``way`` (after ``clean``, whose model and
    alias some ways need)."""
    WAYS[way](legato.secret("canary"))
    return f"{way}: recorded"


@task
def swallow(version: int) -> str:
    """Catch legato's refusal and carry on: the attempt must fail all the same."""
    with contextlib.suppress(SecretValueError):  # a careless task swallowing it
        legato.log_param("api_key", legato.secret("canary"))
    return "swallowed"


@pipeline
def every_way() -> list[str]:
    version = clean()
    swallow(version)
    return leak.map(list(WAYS), legato.unmapped(version))


@task(retries=2)
def careless_with_retries() -> str:
    legato.set_tags(owner=legato.secret("canary"))
    return "tagged"


@pipeline
def retried() -> str:
    return careless_with_retries()
