"""``/api/v1/models``: the model registry. Reading (viewer): models, a model's versions with
lineage and metrics and its alias history, one version. Changing (admin): promote (point
an alias at a version) and roll back, through :class:`~legato.registry.Registry`, which
checks every name and records who did it and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Path, Request

from legato.query.models import (
    AliasChangeView,
    ModelDetail,
    ModelList,
    ModelVersionView,
    alias_change_view,
    list_models,
    model_detail,
    version_view,
)
from legato.registry.registry import Registry
from legato.server.auth import Role
from legato.server.config import ServerConfig, config_of
from legato.server.routes.actions import writer_of
from legato.server.routing import API_PREFIX, needs
from legato.server.security import ROLE_STATE

__all__ = ["PromoteRequest", "RollbackRequest", "add_routes"]

Config = Annotated[ServerConfig, Depends(config_of)]
Name = Annotated[str, Path(description="The model's name.", max_length=200)]
Alias = Annotated[str, Path(description="An alias (production, staging...).", max_length=200)]


@dataclass(frozen=True, slots=True, kw_only=True)
class PromoteRequest:
    """Point the alias at ``version``; ``reason`` is recorded with the change."""

    version: int
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class RollbackRequest:
    """Move the alias back one step, or to ``to``; ``reason`` is recorded."""

    to: int | None = None
    reason: str = ""


def add_routes(api: FastAPI) -> None:
    """Add the registry's routes to ``api``."""
    read, admin = needs(Role.VIEWER), needs(Role.ADMIN)
    models = f"{API_PREFIX}/models"
    api.get(models, response_model=ModelList, tags=["models"], **read)(models_list)
    api.get(f"{models}/{{name}}", response_model=ModelDetail, tags=["models"], **read)(model)
    api.get(
        f"{models}/{{name}}/versions/{{version}}",
        response_model=ModelVersionView,
        tags=["models"],
        **read,
    )(version)
    api.post(
        f"{models}/{{name}}/aliases/{{alias}}",
        response_model=AliasChangeView,
        tags=["models"],
        **admin,
    )(promote)
    api.post(
        f"{models}/{{name}}/aliases/{{alias}}/rollback",
        response_model=AliasChangeView,
        tags=["models"],
        **admin,
    )(rollback)


def _reader(config: ServerConfig) -> Registry:
    return Registry(config.store.models, config.artifacts)


def _actor(request: Request) -> str:
    role = getattr(request.state, ROLE_STATE, None)
    client = request.client.host if request.client else "?"
    return f"legato ui {role.value if role else '?'} from {client}"


def models_list(config: Config) -> ModelList:
    """Every model with its version count, latest version and aliases."""
    return list_models(_reader(config))


def model(config: Config, name: Name) -> ModelDetail:
    """A model's aliases, versions (with lineage and metrics) and alias history."""
    return model_detail(_reader(config), name)


def version(
    config: Config, name: Name, version: Annotated[int, Path(ge=1, le=2**31)]
) -> ModelVersionView:
    """One version with its lineage: run, task, attempt, code, inputs, parameters,
    metrics."""
    return version_view(_reader(config).get(name, version))


def promote(
    request: Request, config: Config, name: Name, alias: Alias, body: PromoteRequest
) -> AliasChangeView:
    """Point ``alias`` at a version (recorded with who and why)."""
    registry = Registry(writer_of(request).models, config.artifacts)
    change = registry.set_alias(
        name, alias, body.version, reason=body.reason, actor=_actor(request)
    )
    return alias_change_view(change)


def rollback(
    request: Request, config: Config, name: Name, alias: Alias, body: RollbackRequest
) -> AliasChangeView:
    """Move ``alias`` back to the version it named before (or to ``to``)."""
    registry = Registry(writer_of(request).models, config.artifacts)
    change = registry.rollback(name, alias, to=body.to, reason=body.reason, actor=_actor(request))
    return alias_change_view(change)
