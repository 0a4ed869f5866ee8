"""What one API server works with: its stores, its tokens and its checks, fixed when the app
is made (``create_app(config)``) and read by the routes through the request."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from fastapi import Request

from legato.config import Settings
from legato.server.auth import Tokens
from legato.server.launch import Launcher
from legato.store.base import ArtifactStore, RunStore

__all__ = ["ServerConfig", "config_of"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerConfig:
    """An API server's settings."""

    store: RunStore
    """The run store it reads (opened read-only by ``legato ui``: reading changes
    nothing)."""
    artifacts: ArtifactStore
    """The artifact store (opened read-only): what the registry's versions point at. The
    server reads no object from it."""
    tokens: Tokens
    stale_after: float = 30.0
    """Seconds without a heartbeat after which a run that has not ended shows as
    ``crashed`` (the profile's ``stale_after``)."""
    allowed_hosts: tuple[str, ...] = ()
    """Host names besides the loopback ones that requests may be addressed to."""
    writer: Callable[[], RunStore] | None = None
    """Opens the store cancel requests are written to (once, at the first cancel: a server
    nobody asks to act writes nothing); None: the server only reads, and refuses to
    cancel."""
    launcher: Launcher | None = None
    """Starts the runs and resumes the server is asked for; None: it refuses to."""
    pipelines: Mapping[str, str] = field(default_factory=dict)
    """The pipelines it may start, by name: their targets (``file.py:name`` or
    ``module:name``), loaded only by the child process that runs them."""
    settings: Settings | None = None
    """The profile's settings the stores were opened with, shown to an admin
    (``GET /api/v1/settings``); None: the server was made without a profile."""


def config_of(request: Request) -> ServerConfig:
    """The config of the app serving ``request`` (a route's dependency)."""
    config: ServerConfig = request.app.state.config
    return config
