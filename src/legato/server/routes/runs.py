"""``/api/v1/runs``: the runs list (filters, sort, keyset pages)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Query

from legato.query.runs import RUN_STATES, RunFilter, list_runs
from legato.query.views import RunList
from legato.server.auth import Role
from legato.server.config import ServerConfig, config_of
from legato.server.routing import API_PREFIX, needs

__all__ = ["add_routes"]

Config = Annotated[ServerConfig, Depends(config_of)]


def add_routes(api: FastAPI) -> None:
    """Add the runs list to ``api``."""
    api.get(f"{API_PREFIX}/runs", response_model=RunList, tags=["runs"], **needs(Role.VIEWER))(
        runs_list
    )


def runs_list(
    config: Config,
    *,
    pipeline: Annotated[str | None, Query(description="Only runs of this pipeline.")] = None,
    state: Annotated[
        str | None, Query(description=f"Only runs in this state: {', '.join(RUN_STATES)}.")
    ] = None,
    tag: Annotated[
        str | None, Query(description="name=value: runs one of whose tasks set this tag.")
    ] = None,
    param: Annotated[
        str | None,
        Query(description="name=value: runs whose (scalar) run parameter has this value."),
    ] = None,
    metric: Annotated[
        str | None, Query(description="A metric whose value must lie in the range.")
    ] = None,
    metric_min: Annotated[float | None, Query()] = None,
    metric_max: Annotated[float | None, Query()] = None,
    created_from: Annotated[
        float | None, Query(description="Created at or after (seconds since the epoch).")
    ] = None,
    created_before: Annotated[float | None, Query(description="Created before.")] = None,
    sort: Annotated[
        str, Query(description="'created', or a metric's name (runs without it left out).")
    ] = "created",
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
    cursor: Annotated[
        str | None, Query(description="next_cursor of the page before.", max_length=1000)
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> RunList:
    """Runs, newest first unless sorted otherwise, a page at a time."""
    wanted = RunFilter(
        pipeline=pipeline,
        state=state,
        tag=tag,
        param=param,
        metric=metric,
        metric_min=metric_min,
        metric_max=metric_max,
        created_from=created_from,
        created_before=created_before,
        sort=sort,
        descending=order == "desc",
        cursor=cursor,
        limit=limit,
    )
    return list_runs(config.store, wanted, stale_after=config.stale_after)
