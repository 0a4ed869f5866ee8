"""The routes that act on runs: cancel, resume and start (operator), and the pipelines the
server can start (viewer). They change state only as the engine's own commands do
(:mod:`legato.server.actions`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Path, Request

from legato.query.graph import PipelineGraph
from legato.query.views import RunSummary
from legato.server.actions import (
    Accepted,
    OpenOnce,
    PipelineList,
    PipelineView,
    StartRequest,
    cancel_run,
    resume_run,
    start_run,
)
from legato.server.auth import Role
from legato.server.config import ServerConfig, config_of
from legato.server.graphs import GraphCache
from legato.server.launch import Launcher
from legato.server.routing import API_PREFIX, needs
from legato.server.security import ROLE_STATE
from legato.store.base import RunStore

__all__ = ["add_routes", "writer_of"]

Config = Annotated[ServerConfig, Depends(config_of)]
RunId = Annotated[str, Path(description="A run id, or a unique prefix of one.", max_length=100)]


def add_routes(api: FastAPI) -> None:
    """Add cancel, resume, start and the pipelines list to ``api``."""
    act = needs(Role.OPERATOR)
    runs = f"{API_PREFIX}/runs"
    api.post(f"{runs}/{{run_id}}/cancel", response_model=RunSummary, tags=["actions"], **act)(
        cancel
    )
    api.post(
        f"{runs}/{{run_id}}/resume",
        response_model=Accepted,
        status_code=202,
        tags=["actions"],
        **act,
    )(resume)
    api.get(
        f"{API_PREFIX}/pipelines",
        response_model=PipelineList,
        tags=["actions"],
        **needs(Role.VIEWER),
    )(pipelines)
    api.get(
        f"{API_PREFIX}/pipelines/{{name}}",
        response_model=PipelineGraph,
        tags=["actions"],
        **needs(Role.VIEWER),
    )(pipeline)
    api.post(
        f"{API_PREFIX}/pipelines/{{name}}/runs",
        response_model=Accepted,
        status_code=202,
        tags=["actions"],
        **act,
    )(start)


def writer_of(request: Request) -> RunStore:
    """The store the app's actions write to (opened at the first; 503 when the server only
    reads)."""
    opener: OpenOnce | None = request.app.state.writer
    if opener is None:
        raise HTTPException(503, "this server only reads: it was started without a store to write")
    return opener()


def _launcher(config: ServerConfig) -> Launcher:
    if config.launcher is None:
        raise HTTPException(503, "this server starts no runs: it was started without a launcher")
    return config.launcher


def cancel(request: Request, config: Config, run_id: RunId) -> RunSummary:
    """Ask the run's orchestrator, wherever it runs, to cancel it (it does within a
    second, as a Ctrl-C would: resumable); the run as it now stands."""
    role = getattr(request.state, ROLE_STATE, None)
    client = request.client.host if request.client else "?"
    reason = f"cancelled through the API by {role.value if role else '?'} from {client}"
    return cancel_run(
        config.store, writer_of(request), run_id, reason=reason, stale_after=config.stale_after
    )


def resume(config: Config, run_id: RunId) -> Accepted:
    """Resume a failed, cancelled or crashed run in a new process."""
    return resume_run(config.store, _launcher(config), run_id, stale_after=config.stale_after)


def pipelines(config: Config) -> PipelineList:
    """The pipelines this server can start (``[pipelines]`` of the profile, ``legato
    pipelines add``, ``legato ui --pipeline TARGET``)."""
    return PipelineList(
        pipelines=tuple(
            PipelineView(name=name, target=target)
            for name, target in sorted(config.pipelines.items())
        )
    )


PipelineName = Annotated[str, Path(description="A pipeline's name.", max_length=200)]


def _target(config: ServerConfig, name: str) -> str:
    target = config.pipelines.get(name)
    if target is None:
        known = ", ".join(sorted(config.pipelines)) or (
            "none (legato pipelines add NAME TARGET, or legato ui --pipeline TARGET)"
        )
        raise HTTPException(404, f"this server knows no pipeline {name!r}; it knows: {known}")
    return target


def pipeline(request: Request, config: Config, name: PipelineName) -> PipelineGraph:
    """A pipeline the server knows, as its code is now: its graph (nodes, edges, a layered
    layout, as a run's graph is drawn) and its run parameters as a form (names, types,
    defaults, which are required). Read by a child process: the server never imports the
    pipeline's code."""
    graphs: GraphCache = request.app.state.graphs
    return graphs.pipeline(name, _target(config, name))


def start(config: Config, name: PipelineName, body: StartRequest) -> Accepted:
    """Start a run of a pipeline the server knows, in a new process: the parameters are
    checked as ``legato run -p`` checks them; the answer has the run's id once it is
    created."""
    return start_run(config.store, _launcher(config), _target(config, name), body.params)
