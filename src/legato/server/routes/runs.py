"""``/api/v1/runs`` and one run's resources: the runs list (filters, sort, keyset pages), a
run's detail, tasks, events, logs and metrics. Each reads through :mod:`legato.query`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Path, Query, Request

from legato.errors import ParameterError
from legato.query.compare import MAX_COMPARED, Comparison, compare
from legato.query.detail import RunDetail, run_detail
from legato.query.events import MAX_EVENTS, EventPage, event_page
from legato.query.graph import RunGraph
from legato.query.grid import MAX_GRID_COLUMNS, MAX_GRID_RUNS, RunsGrid, grid_of
from legato.query.items import MAX_ITEMS, ItemList, item_list
from legato.query.logs import MAX_CHUNK, LogChunk, log_chunk
from legato.query.metrics import (
    MAX_POINTS,
    ComparedSeries,
    MetricSeries,
    compared_series,
    metric_series,
)
from legato.query.runs import RUN_STATES, RunFilter, list_runs
from legato.query.tasks import MAX_TASKS, TaskList, task_list
from legato.query.views import RunList
from legato.server.auth import Role
from legato.server.config import ServerConfig, config_of
from legato.server.graphs import GraphCache
from legato.server.routing import API_PREFIX, needs

__all__ = ["add_routes"]

Config = Annotated[ServerConfig, Depends(config_of)]


def add_routes(api: FastAPI) -> None:
    """Add the runs list and a run's read routes to ``api``."""
    read = needs(Role.VIEWER)
    runs = f"{API_PREFIX}/runs"
    api.get(runs, response_model=RunList, tags=["runs"], **read)(runs_list)
    api.get(f"{runs}/{{run_id}}", response_model=RunDetail, tags=["runs"], **read)(run)
    api.get(f"{runs}/{{run_id}}/tasks", response_model=TaskList, tags=["runs"], **read)(tasks)
    api.get(
        f"{runs}/{{run_id}}/tasks/{{task}}/items", response_model=ItemList, tags=["runs"], **read
    )(items)
    api.get(f"{runs}/{{run_id}}/events", response_model=EventPage, tags=["runs"], **read)(events)
    api.get(f"{runs}/{{run_id}}/logs", response_model=LogChunk, tags=["runs"], **read)(logs)
    api.get(f"{runs}/{{run_id}}/metrics", response_model=MetricSeries, tags=["runs"], **read)(
        metrics
    )
    api.get(f"{runs}/{{run_id}}/graph", response_model=RunGraph, tags=["runs"], **read)(graph)
    api.get(f"{API_PREFIX}/compare", response_model=Comparison, tags=["runs"], **read)(runs_compare)
    api.get(f"{API_PREFIX}/compare/series", response_model=ComparedSeries, tags=["runs"], **read)(
        runs_compare_series
    )
    api.get(f"{API_PREFIX}/grid", response_model=RunsGrid, tags=["runs"], **read)(runs_grid)


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


RunId = Annotated[str, Path(description="A run id, or a unique prefix of one.", max_length=100)]


def run(config: Config, run_id: RunId) -> RunDetail:
    """A run: parameters, state, timings, where it ran, tags, tasks per state."""
    return run_detail(config.store, run_id, stale_after=config.stale_after)


def tasks(
    config: Config,
    run_id: RunId,
    *,
    state: Annotated[str | None, Query(description="Only tasks in this state.")] = None,
    parent: Annotated[
        str | None,
        Query(description="Only the items of this mapped task (by map index).", max_length=1000),
    ] = None,
    offset: Annotated[int, Query(ge=0, description="The first task of the page.")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_TASKS)] = MAX_TASKS,
) -> TaskList:
    """A page of a run's tasks in the order they appeared (or of a mapped task's items):
    state, attempts with their errors and timings, what the cache said, outputs as artifact
    metadata; and how many tasks the filter matches."""
    return task_list(config.store, run_id, state=state, parent=parent, offset=offset, limit=limit)


def items(
    config: Config,
    run_id: RunId,
    task: Annotated[str, Path(description="A mapped task's key.", max_length=1000)],
    *,
    state: Annotated[str | None, Query(description="Only items in this state.")] = None,
    offset: Annotated[int, Query(ge=0, description="The first item (by map index).")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_ITEMS)] = 100,
) -> ItemList:
    """A page of a mapped task's items by map index, each with its state, and how many
    items the filter matches."""
    return item_list(config.store, run_id, task, state=state, offset=offset, limit=limit)


def events(
    config: Config,
    run_id: RunId,
    *,
    after_seq: Annotated[int, Query(ge=0, description="Only events after this one.")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_EVENTS)] = MAX_EVENTS,
) -> EventPage:
    """A run's committed events after ``after_seq``, in order."""
    return event_page(config.store, run_id, after_seq=after_seq, limit=limit)


def logs(
    config: Config,
    run_id: RunId,
    *,
    task: Annotated[
        str | None, Query(description="A task key (default: every task's output).")
    ] = None,
    attempt: Annotated[
        int | None, Query(ge=1, description="The attempt (default: the task's latest).")
    ] = None,
    start: Annotated[int | None, Query(ge=0, description="First byte.")] = None,
    end: Annotated[int | None, Query(ge=0, description="Byte after the last.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_CHUNK)] = MAX_CHUNK,
) -> LogChunk:
    """A window of what an attempt (or the run) wrote, the end first."""
    return log_chunk(
        config.store, run_id, task=task, attempt=attempt, start=start, end=end, limit=limit
    )


def metrics(
    config: Config,
    run_id: RunId,
    *,
    name: Annotated[str | None, Query(description="Only this metric.")] = None,
    points: Annotated[int, Query(ge=4, le=MAX_POINTS)] = MAX_POINTS,
) -> MetricSeries:
    """A run's metric series, per task and name, downsampled to ``points`` each."""
    return metric_series(config.store, run_id, name=name, limit=points)


def runs_compare(
    config: Config,
    run: Annotated[
        list[str],
        Query(
            description="Run ids (or unique prefixes): repeat for each run.",
            max_length=MAX_COMPARED,
        ),
    ],
) -> Comparison:
    """Runs side by side: parameters, each metric's final, lowest and highest value."""
    if len(run) > MAX_COMPARED:
        raise ParameterError(f"compare at most {MAX_COMPARED} runs, not {len(run)}")
    return compare(config.store, run)


def runs_compare_series(
    config: Config,
    run: Annotated[
        list[str],
        Query(
            description="Run ids (or unique prefixes): repeat for each run.",
            max_length=MAX_COMPARED,
        ),
    ],
    name: Annotated[
        str,
        Query(
            description="A metric's name, or <task key>/<name> as a compare column names it.",
            min_length=1,
            max_length=500,
        ),
    ],
    points: Annotated[int, Query(ge=4, le=MAX_POINTS)] = MAX_POINTS,
) -> ComparedSeries:
    """One metric's series in each run (a chart of compared runs), downsampled to
    ``points`` each: one request for all the runs, reading only that metric's points."""
    if len(run) > MAX_COMPARED:
        raise ParameterError(f"compare at most {MAX_COMPARED} runs, not {len(run)}")
    return compared_series(config.store, run, name, limit=points)


def graph(request: Request, config: Config, run_id: RunId) -> RunGraph:
    """A run's graph: nodes (a mapped task one node, its items counted per state) with
    their states and places in a layered layout, and edges."""
    cache: GraphCache = request.app.state.graphs
    return cache.graph(config.store, run_id)


def runs_grid(
    config: Config,
    *,
    run: Annotated[
        list[str] | None,
        Query(
            description="Run ids (or unique prefixes), one row each: repeat for each run "
            "(default: the latest runs).",
            max_length=MAX_GRID_RUNS,
        ),
    ] = None,
    pipeline: Annotated[
        str | None, Query(description="Without run: the latest runs of this pipeline.")
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_GRID_RUNS, description="Without run: how many latest runs.")
    ] = 25,
    task_offset: Annotated[int, Query(ge=0, description="The first task column.")] = 0,
    task_limit: Annotated[
        int, Query(ge=1, le=MAX_GRID_COLUMNS, description="How many task columns.")
    ] = 60,
) -> RunsGrid:
    """Runs (rows) x their planned tasks (columns, paged), each cell a task's state; a
    mapped task one column with its items counted per state."""
    return grid_of(
        config.store,
        run or (),
        pipeline=pipeline,
        limit=limit,
        stale_after=config.stale_after,
        task_offset=task_offset,
        task_limit=task_limit,
    )
