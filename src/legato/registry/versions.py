"""How a model version comes to be, in two steps that may run on two machines.

:func:`stage_version` checks what the caller gives and stores the model's bytes (a
checksummed artifact): it needs the artifact store only. :func:`record_version` gives the
staged version its number in the run store's database. ``Registry.register`` does both in
one process; a task on a Ray node stages its version there (the artifact root is the nodes'
anyway) and asks the run's driver to record it, so the nodes never hold the run store's
credentials. Either way the artifact exists before the version row that names it, and
:func:`record_run_version` completes a task's lineage from the run's own record, on the
side that holds the run store.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from legato.model.artifacts import ArtifactRef
from legato.model.registry import ModelVersion, check_model_name
from legato.registry.fields import Lineage, json_like, metrics_of, refuse_registration, tags_of
from legato.registry.signature import check_signature
from legato.store.artifacts import check_location
from legato.store.base import ArtifactStore, ModelStore, RunStore

__all__ = ["record_run_version", "record_version", "stage_version"]


def stage_version(
    artifacts: ArtifactStore,
    name: str,
    model: Any,
    *,
    metrics: Mapping[str, float] | None,
    signature: Mapping[str, Any] | None,
    tags: Mapping[str, str] | None,
    lineage: Lineage,
    created_at: datetime,
    api: str,
) -> ModelVersion:
    """``model`` stored in ``artifacts`` and the version that will name it (numbered 0 until
    :func:`record_version` gives it its number). Everything is checked first (a field
    holding a secret's value: ``SecretValueError`` naming ``api``), so a refused
    registration leaves nothing behind."""
    refuse_registration(
        name, api=api, metrics=metrics, signature=signature, tags=tags, lineage=lineage
    )
    check_model_name(name)
    version = ModelVersion(
        name=name,
        version=0,
        artifact=ArtifactRef(checksum="", size=0, serializer=""),
        run_id=lineage.run_id,
        task=lineage.task,
        attempt=lineage.attempt,
        fingerprint=lineage.fingerprint,
        params=json_like(lineage.params, "params"),
        metrics=metrics_of(metrics),
        signature=None if signature is None else check_signature(signature),
        tags=tags_of(tags),
        environment=json_like(lineage.environment, "environment"),
        inputs={str(k): str(v) for k, v in lineage.inputs.items()},
        created_at=created_at,
    )
    producer = (
        f"{lineage.run_id}/{lineage.task}#{lineage.attempt}"
        if lineage.run_id is not None
        else f"registry/{name}"
    )
    ref = artifacts.put(model, producer=producer)
    check_location(ref)
    return dataclasses.replace(version, artifact=ref)


def record_version(
    models: ModelStore, version: ModelVersion, *, owner: str | None = None
) -> ModelVersion:
    """Give a staged version its number and store it. From a task of a run, a version its
    run and task registered already is returned instead (a retried attempt, a resume), and
    an attempt older than the task's current one is refused (``FencedError``), as is, with
    ``owner``, a version whose run that orchestrator no longer owns."""
    check_model_name(version.name)
    check_location(version.artifact)
    stored, _created = models.add_version(version, owner=owner)
    return stored


def record_run_version(runs: RunStore, version: ModelVersion, *, owner: str | None) -> ModelVersion:
    """Record a version a task of one of ``runs``' runs staged, its lineage completed from
    the run's record: the run's parameters under those the attempt logged, the run's
    environment, and the pipeline's fingerprint where the task's own code could not be
    read. ``owner`` is the token of the orchestrator running the attempt: the store writes
    the version only while the run is still that one's (``FencedError`` otherwise), in the
    transaction that writes it, so a run taken over records nothing more of the attempts
    its first orchestrator still runs."""
    if version.run_id is None:
        return record_version(runs.models, version)
    info = runs.get_run(version.run_id)
    complete = dataclasses.replace(
        version,
        params=json_like({**info.params, **version.params}, "params"),
        environment=json_like(dict(info.environment), "environment"),
        fingerprint=version.fingerprint or info.fingerprint,
    )
    return record_version(runs.models, complete, owner=owner)
