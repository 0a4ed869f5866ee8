"""A run's artifacts (viewer): the list, and a preview of one, addressed by run, task and
attempt (an output) or run, task and name (a logged artifact), never by path. A preview
reads JSON values, ``.npy`` headers and Parquet schemas and first rows; nothing that could
run code is ever loaded (:mod:`legato.query.preview`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Path, Query

from legato.query.artifacts import (
    MAX_OUTPUTS,
    ArtifactList,
    artifact_list,
    logged_ref,
    output_ref,
)
from legato.query.preview import PREVIEW_ROWS, Preview, preview
from legato.server.auth import Role
from legato.server.config import ServerConfig, config_of
from legato.server.routing import API_PREFIX, needs

__all__ = ["add_routes"]

Config = Annotated[ServerConfig, Depends(config_of)]
RunId = Annotated[str, Path(description="A run id, or a unique prefix of one.", max_length=100)]
Task = Annotated[str, Path(description="A task key.", max_length=500)]
Rows = Annotated[int, Query(ge=0, le=PREVIEW_ROWS, description="A table's first rows shown.")]


def add_routes(api: FastAPI) -> None:
    """Add the artifact routes to ``api``."""
    read = needs(Role.VIEWER)
    run = f"{API_PREFIX}/runs/{{run_id}}"
    api.get(f"{run}/artifacts", response_model=ArtifactList, tags=["artifacts"], **read)(artifacts)
    api.get(
        f"{run}/tasks/{{task}}/attempts/{{attempt}}/output",
        response_model=Preview,
        tags=["artifacts"],
        **read,
    )(output)
    api.get(
        f"{run}/tasks/{{task}}/artifacts/{{name}}",
        response_model=Preview,
        tags=["artifacts"],
        **read,
    )(logged)


def artifacts(
    config: Config,
    run_id: RunId,
    *,
    after_seq: Annotated[
        int, Query(ge=0, description="Outputs of the events after this one (a page's next).")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_OUTPUTS)] = MAX_OUTPUTS,
) -> ArtifactList:
    """A run's stored outputs (per succeeded attempt, a page at a time) and logged
    artifacts, by metadata."""
    return artifact_list(config.store, run_id, after_seq=after_seq, limit=limit)


def output(
    config: Config,
    run_id: RunId,
    task: Task,
    attempt: Annotated[int, Path(ge=1, le=10_000)],
    rows: Rows = PREVIEW_ROWS,
) -> Preview:
    """A preview of the output of a task's attempt."""
    ref = output_ref(config.store, run_id, task, attempt)
    if ref is None:
        raise HTTPException(
            404, f"run {run_id} has no stored output of task {task!r}, attempt {attempt}"
        )
    return preview(config.artifacts, ref, rows)


def logged(
    config: Config,
    run_id: RunId,
    task: Task,
    name: Annotated[str, Path(description="The artifact's name.", max_length=500)],
    rows: Rows = PREVIEW_ROWS,
) -> Preview:
    """A preview of an artifact a task logged."""
    ref = logged_ref(config.store, run_id, task, name)
    if ref is None:
        raise HTTPException(404, f"task {task!r} of run {run_id} logged no artifact {name!r}")
    return preview(config.artifacts, ref, rows)
