"""``/api/v1/schedules`` and ``/api/v1/backfills``: the schedules stored in the run store
(declared there by ``legato scheduler``; the server never imports the code that declares
them). Reading (viewer): every schedule with its tick counts, one with its next instants,
its ticks page by page, the backfills with their progress. Changing (operator): pause and
resume, as ``legato schedules pause`` does.

Schedules live in the tables of a SQL run store; over a store without them (an in-memory
one) each route answers 409 saying so, and a name the store does not know is a 404 naming
the ones it does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request

from legato.errors import ParameterError
from legato.model.schedules import TickStatus
from legato.query.schedules import (
    BackfillView,
    ScheduleView,
    TickPage,
    backfill_views,
    schedule_view,
    schedule_views,
    tick_page,
)
from legato.server.auth import Role
from legato.server.config import ServerConfig, config_of
from legato.server.routes.actions import writer_of
from legato.server.routing import API_PREFIX, needs
from legato.store.base import RunStore
from legato.store.sql.schedules import SqlScheduleStore

__all__ = ["BackfillList", "ScheduleList", "add_routes"]

Config = Annotated[ServerConfig, Depends(config_of)]
Name = Annotated[str, Path(description="The schedule's name.", max_length=200)]
COMING = 10
"""How many coming instants a schedule's page shows."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleList:
    """Every schedule, by name."""

    schedules: tuple[ScheduleView, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class BackfillList:
    """Backfills, newest first."""

    backfills: tuple[BackfillView, ...]


def add_routes(api: FastAPI) -> None:
    """Add the schedules' and backfills' routes to ``api``."""
    read, act = needs(Role.VIEWER), needs(Role.OPERATOR)
    schedules = f"{API_PREFIX}/schedules"
    api.get(schedules, response_model=ScheduleList, tags=["schedules"], **read)(schedules_list)
    api.get(f"{schedules}/{{name}}", response_model=ScheduleView, tags=["schedules"], **read)(
        schedule
    )
    api.get(f"{schedules}/{{name}}/ticks", response_model=TickPage, tags=["schedules"], **read)(
        ticks
    )
    api.post(f"{schedules}/{{name}}/pause", response_model=ScheduleView, tags=["schedules"], **act)(
        pause
    )
    api.post(
        f"{schedules}/{{name}}/resume", response_model=ScheduleView, tags=["schedules"], **act
    )(resume)
    api.get(f"{API_PREFIX}/backfills", response_model=BackfillList, tags=["schedules"], **read)(
        backfills
    )


def _schedules_of(store: RunStore) -> SqlScheduleStore:
    """The schedules in ``store``'s database (409: it has none, being no SQL store)."""
    engine = getattr(store, "engine", None)
    if engine is None:
        raise HTTPException(
            409,
            f"the run store {store.url} keeps no schedules (they live in a SQL run store): "
            "serve a profile whose state_url is sqlite:///... or postgresql+psycopg://...",
        )
    return SqlScheduleStore(engine)


def _known(store: SqlScheduleStore, name: str) -> None:
    """404 for a schedule ``store`` does not have, naming those it has."""
    try:
        store.get_schedule(name)
    except ParameterError as exc:
        raise HTTPException(404, str(exc)) from exc


def schedules_list(config: Config) -> ScheduleList:
    """Every schedule: its pipeline, when it runs, its next instant, whether it is paused,
    and how many of its ticks are in each status."""
    return ScheduleList(schedules=tuple(schedule_views(_schedules_of(config.store))))


def schedule(config: Config, name: Name) -> ScheduleView:
    """One schedule with its next 10 instants, in UTC and in its time zone (the days its
    clocks change flagged)."""
    store = _schedules_of(config.store)
    _known(store, name)
    return schedule_view(store, name, coming=COMING)


def ticks(
    config: Config,
    name: Name,
    status: Annotated[
        list[TickStatus] | None,
        Query(description="Only ticks in these statuses (repeat it for several)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="How many ticks, at most.")] = 100,
    before: Annotated[
        int | None,
        Query(
            ge=0,
            le=2**53,
            description="Only ticks of instants before this one (seconds since the epoch): "
            "the next_before of the page before.",
        ),
    ] = None,
) -> TickPage:
    """A schedule's ticks, newest instant first, a page at a time: each with its status
    (queued, launched, skipped with the reason, missed, cancelled, failed) and its run."""
    store = _schedules_of(config.store)
    _known(store, name)
    return tick_page(store, name, statuses=tuple(status or ()), limit=limit, before=before)


def _set_paused(request: Request, config: ServerConfig, name: str, paused: bool) -> ScheduleView:
    _schedules_of(config.store)  # 409 before opening the writer of a store without them
    store = _schedules_of(writer_of(request))
    _known(store, name)
    store.set_paused(name, paused)
    return schedule_view(store, name, coming=COMING)


def pause(request: Request, config: Config, name: Name) -> ScheduleView:
    """Pause a schedule: the scheduler starts nothing for it until it is resumed."""
    return _set_paused(request, config, name, True)


def resume(request: Request, config: Config, name: Name) -> ScheduleView:
    """Resume a schedule; the instants it missed while paused follow its catchup policy."""
    return _set_paused(request, config, name, False)


def backfills(
    config: Config,
    schedule: Annotated[
        str | None, Query(description="Only this schedule's.", max_length=200)
    ] = None,
) -> BackfillList:
    """Backfills, newest first, with their ticks counted by status."""
    return BackfillList(backfills=tuple(backfill_views(_schedules_of(config.store), schedule)))
