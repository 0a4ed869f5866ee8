"""The model registry as the API shows it: models with their aliases, a model's versions
with their lineage and metrics, and its alias history. Read through
:class:`~legato.registry.Registry` (names checked there); model objects are never loaded:
a version's artifact is shown by its metadata."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from legato.model.registry import AliasChange, ModelVersion
from legato.query.tasks import OutputView, output_view
from legato.query.views import json_value
from legato.registry.registry import Registry

__all__ = [
    "AliasChangeView",
    "ModelDetail",
    "ModelList",
    "ModelSummary",
    "ModelVersionView",
    "alias_change_view",
    "list_models",
    "model_detail",
    "version_view",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelSummary:
    """A model: how many versions, the latest, and what its aliases name."""

    name: str
    versions: int
    latest: int | None
    aliases: dict[str, int]


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelList:
    """Every model, by name."""

    models: tuple[ModelSummary, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelVersionView:
    """A version with its lineage: the run, task and attempt that registered it, its code's
    fingerprint, the inputs it was trained on (upstream task → checksum), parameters,
    metrics, tags, signature and environment."""

    name: str
    version: int
    run_id: str | None
    task: str | None
    attempt: int | None
    fingerprint: str | None
    params: dict[str, Any]
    metrics: dict[str, float | None]
    """NaN as null."""
    tags: dict[str, str]
    signature: dict[str, Any] | None
    environment: dict[str, Any]
    inputs: dict[str, str]
    created_at: float
    artifact: OutputView | None


@dataclass(frozen=True, slots=True, kw_only=True)
class AliasChangeView:
    """One move of an alias (``set``: a promotion, ``rollback``, ``remove``)."""

    alias: str
    version: int | None
    previous: int | None
    action: str
    reason: str
    actor: str
    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelDetail:
    """A model: its aliases, versions (oldest first) and alias history (oldest first)."""

    name: str
    aliases: dict[str, int]
    versions: tuple[ModelVersionView, ...]
    history: tuple[AliasChangeView, ...]


def version_view(mv: ModelVersion) -> ModelVersionView:
    """``mv`` as shown."""
    return ModelVersionView(
        name=mv.name,
        version=mv.version,
        run_id=mv.run_id,
        task=mv.task,
        attempt=mv.attempt,
        fingerprint=mv.fingerprint,
        params=json_value(dict(mv.params)),
        metrics={k: (v if math.isfinite(v) else None) for k, v in mv.metrics.items()},
        tags=dict(mv.tags),
        signature=json_value(dict(mv.signature)) if mv.signature is not None else None,
        environment=json_value(dict(mv.environment)),
        inputs=dict(mv.inputs),
        created_at=mv.created_at.timestamp(),
        artifact=output_view(mv.artifact),
    )


def alias_change_view(change: AliasChange) -> AliasChangeView:
    """``change`` as shown."""
    return AliasChangeView(
        alias=change.alias,
        version=change.version,
        previous=change.previous,
        action=change.action,
        reason=change.reason,
        actor=change.actor,
        at=change.at.timestamp(),
    )


def list_models(registry: Registry) -> ModelList:
    """Every model with its version count, latest version and aliases."""
    found = []
    for name in registry.models():
        versions = registry.versions(name)
        found.append(
            ModelSummary(
                name=name,
                versions=len(versions),
                latest=versions[-1].version if versions else None,
                aliases=registry.aliases(name),
            )
        )
    return ModelList(models=tuple(found))


def model_detail(registry: Registry, name: str) -> ModelDetail:
    """Model ``name`` with every version and its alias history (``UnknownModelError`` when
    there is no such model, ``InvalidNameError`` for a malformed name)."""
    versions = registry.versions(name)
    return ModelDetail(
        name=name,
        aliases=registry.aliases(name),
        versions=tuple(version_view(v) for v in versions),
        history=tuple(alias_change_view(c) for c in registry.history(name)),
    )
