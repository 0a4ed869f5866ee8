"""Pipelines that train (register) a model and deploy it, for the deployment tests."""

from __future__ import annotations

import os

import serve_models as sm

import legato
from legato import SmokeTest, gates, pipeline, task
from legato.deployment import Deployment
from legato.model.registry import ModelVersion

GATES = [
    gates.metric_at_least("accuracy", 0.9),
    gates.not_worse_than_current("accuracy", margin=0.01),
]


@task
def train(factor: float, accuracy: float) -> ModelVersion | None:
    return legato.register_model(
        "rowsum", sm.RowSum(factor), metrics={"accuracy": accuracy}, signature=sm.SIGNATURE
    )


@task
def smoke_test(url: str) -> SmokeTest:
    """The smoke test: a live server when ``url`` is given, else an in-process load."""
    return SmokeTest(rows=[[1.0, 2.0, 3.0]], url=url or None, expect=sm.non_negative, timeout=15)


@task
def monitor(deployment: Deployment) -> str:
    """A step after the deployment that may fail (``LEGATO_TEST_FAIL_AFTER_DEPLOY``)."""
    if os.environ.get("LEGATO_TEST_FAIL_AFTER_DEPLOY"):
        raise RuntimeError("the error rate went up after the deployment")
    return f"{deployment.name}:{deployment.version}"


@pipeline
def ship(factor: float = 2.0, accuracy: float = 0.95, url: str = "") -> str:
    mv = train(factor, accuracy)
    deployed = legato.deploy(mv, alias="production", gates=GATES, smoke=smoke_test(url))
    return monitor(deployed)
