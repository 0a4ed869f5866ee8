"""Who the caller is (any role: the web app greys out what its role may not do), and what
only an admin reads: the server's effective settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request

from legato.query.settings import SettingsView, settings_view
from legato.server.auth import Role
from legato.server.config import ServerConfig, config_of
from legato.server.routing import API_PREFIX, needs
from legato.server.security import ROLE_STATE

__all__ = ["add_routes"]

Config = Annotated[ServerConfig, Depends(config_of)]


@dataclass(frozen=True, slots=True)
class Me:
    """The caller: the role its token has."""

    role: str


def add_routes(api: FastAPI) -> None:
    """Add the caller's and the settings routes to ``api``."""
    api.get(f"{API_PREFIX}/me", response_model=Me, tags=["server"], **needs(Role.VIEWER))(me)
    api.get(
        f"{API_PREFIX}/settings",
        response_model=SettingsView,
        tags=["server"],
        **needs(Role.ADMIN),
    )(settings)


def me(request: Request) -> Me:
    """The role of the token (or login cookie) the request carries."""
    role: Role = getattr(request.state, ROLE_STATE)  # set by the token check needs() passed
    return Me(role=role.value)


def settings(config: Config) -> SettingsView:
    """The server's effective settings: its profile, stores (passwords masked), artifact
    root, lease, secrets by name (never their values), allowed hosts and the pipelines it
    may start."""
    if config.settings is None:
        raise HTTPException(404, "this server was made without a profile: it has no settings")
    return settings_view(
        config.settings,
        allowed_hosts=config.allowed_hosts,
        pipelines=config.pipelines,
        writes=config.writer is not None,
        starts_runs=config.launcher is not None,
    )
