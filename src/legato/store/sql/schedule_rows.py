"""Rows of the schedule tables as records, and the reads of them that the writes and the
read model share."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from legato.model.schedules import (
    BACKFILL_PREFIX,
    Backfill,
    Catchup,
    Overlap,
    ScheduleDef,
    ScheduleRecord,
    Tick,
    TickStatus,
)
from legato.model.states import RUN_TERMINAL
from legato.store.sql.run_tables import runs
from legato.store.sql.schedule_tables import schedule_ticks

__all__ = [
    "active_runs",
    "backfill",
    "definition_values",
    "in_group",
    "record",
    "select_ticks",
    "tick",
]


def record(row: Any) -> ScheduleRecord:
    """A ``schedules`` row as a record."""
    return ScheduleRecord(
        definition=ScheduleDef(
            name=row.name,
            target=row.target,
            cron=row.cron,
            after=row.after,
            tz=row.tz,
            params=json.loads(row.params),
            catchup=Catchup(row.catchup),
            overlap=Overlap(row.overlap),
            max_active=row.max_active,
            interval_params=tuple(json.loads(row.interval_params)),
            declared_in=row.declared_in,
        ),
        paused=bool(row.paused),
        next_due=row.next_due,
        last_nominal=row.last_nominal,
        since=row.since,
        updated_at=row.updated_at,
    )


def definition_values(definition: ScheduleDef) -> dict[str, Any]:
    """The columns a declaration sets."""
    return {
        "target": definition.target,
        "cron": definition.cron,
        "after": definition.after,
        "tz": definition.tz,
        "params": json.dumps(dict(definition.params), sort_keys=True),
        "catchup": definition.catchup.value,
        "overlap": definition.overlap.value,
        "max_active": definition.max_active,
        "interval_params": json.dumps(list(definition.interval_params)),
        "declared_in": definition.declared_in,
    }


def tick(row: Any) -> Tick:
    """A ``schedule_ticks`` row as a record."""
    return Tick(
        schedule=row.schedule,
        origin=row.origin,
        nominal=row.nominal,
        interval_start=row.interval_start,
        status=TickStatus(row.status),
        run_id=row.run_id,
        reason=row.reason,
        created_at=row.created_at,
        launched_at=row.launched_at,
        launches=row.launches,
        log=row.log,
    )


def backfill(row: Any) -> Backfill:
    """A ``schedule_backfills`` row as a record."""
    return Backfill(
        backfill_id=row.backfill_id,
        schedule=row.schedule,
        start=row.start,
        end=row.end,
        max_active=row.max_active,
        created_at=row.created_at,
        cancelled_at=row.cancelled_at,
    )


def in_group(group: str) -> sa.ColumnElement[bool]:
    """The ticks of a group (:func:`legato.model.schedules.group_of`)."""
    origin = schedule_ticks.c.origin
    if group:
        return origin == group
    return sa.not_(origin.startswith(BACKFILL_PREFIX, autoescape=True))


def select_ticks(
    schedule: str | None,
    origin: str | None,
    statuses: Sequence[TickStatus],
    limit: int,
    before: int | None = None,
) -> sa.Select[Any]:
    """Ticks, newest instant first (of instants before ``before``, if given)."""
    query = sa.select(schedule_ticks)
    if before is not None:
        query = query.where(schedule_ticks.c.nominal < before)
    if schedule is not None:
        query = query.where(schedule_ticks.c.schedule == schedule)
    if origin is not None:
        query = query.where(schedule_ticks.c.origin == origin)
    if statuses:
        query = query.where(schedule_ticks.c.status.in_([s.value for s in statuses]))
    return query.order_by(schedule_ticks.c.nominal.desc()).limit(max(limit, 0))


def active_runs(
    c: sa.Connection,
    schedule: str,
    group: str,
    *,
    now: float,
    stale_after: float,
    grace: float,
) -> list[str]:
    """The runs of a schedule's own (``group`` ``""``) or a backfill's launched ticks that
    count as active: the
    run has not ended and its orchestrator beat within ``stale_after`` seconds, or it does
    not exist yet and was launched within ``grace`` seconds. A dead launcher's or
    orchestrator's slot is free once its time has passed: no one has to clean it up."""
    t, r = schedule_ticks, runs
    query = (
        sa.select(t.c.run_id)
        .select_from(t.outerjoin(r, r.c.run_id == t.c.run_id))
        .where(
            t.c.schedule == schedule,
            in_group(group),
            t.c.status == TickStatus.LAUNCHED.value,
            sa.or_(
                sa.and_(r.c.run_id.is_(None), t.c.launched_at > now - grace),
                sa.and_(
                    r.c.state.not_in([s.value for s in RUN_TERMINAL]),
                    r.c.heartbeat_at > now - stale_after,
                ),
            ),
        )
        .order_by(t.c.nominal)
    )
    return [str(run_id) for run_id in c.execute(query).scalars()]
