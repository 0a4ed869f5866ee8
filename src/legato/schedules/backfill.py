"""Backfills: one run per past interval of a schedule, ``max_active`` at a time, cancelled
as one action."""

from __future__ import annotations

from datetime import datetime

from legato.errors import ParameterError
from legato.model.ids import new_run_id
from legato.model.schedules import Backfill, TickPlan, TickStatus
from legato.schedules.cron import Cron
from legato.store.schedules import ScheduleStore

__all__ = ["MAX_INTERVALS", "create_backfill"]

MAX_INTERVALS = 10_000
"""Intervals one backfill may cover: a larger range is refused (split it)."""


def create_backfill(
    store: ScheduleStore, name: str, start: datetime, end: datetime, *, max_active: int = 1
) -> tuple[Backfill, int]:
    """Record a backfill of schedule ``name`` over ``(start, end]``: one queued tick per
    instant of its cron in that range (each run gets its interval when the pipeline asks
    for it). A scheduler launches them, at most ``max_active`` at once. The backfill and
    how many ticks it has."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ParameterError("give --from and --to with a UTC offset or as UTC (2026-01-01T00:00Z)")
    if end <= start:
        raise ParameterError(f"--to ({end.isoformat()}) must be after --from ({start.isoformat()})")
    if max_active < 1:
        raise ParameterError(f"--max-active must be 1 or more, not {max_active}")
    definition = store.get_schedule(name).definition
    if not definition.cron:
        raise ParameterError(
            f"schedule {name!r} has no cron (it runs when triggered): a backfill runs one "
            "run per instant of a cron; run its pipeline with legato run instead"
        )
    cron = Cron(definition.cron, definition.tz)
    instants = []
    instant = cron.after(start.timestamp())
    while instant <= end.timestamp():
        instants.append(instant)
        if len(instants) > MAX_INTERVALS:
            raise ParameterError(
                f"that range holds more than {MAX_INTERVALS} instants of schedule {name!r} "
                f"({definition.cron!r}): backfill it in smaller ranges"
            )
        instant = cron.after(instant)
    if not instants:
        raise ParameterError(
            f"schedule {name!r} ({definition.cron!r} in {definition.tz}) has no instant "
            f"between {start.isoformat()} and {end.isoformat()}"
        )
    ticks = [
        TickPlan(nominal=i, interval_start=cron.before(i), status=TickStatus.QUEUED)
        for i in instants
    ]
    backfill = Backfill(
        backfill_id=f"bf-{new_run_id()}",
        schedule=name,
        start=int(start.timestamp()),
        end=int(end.timestamp()),
        max_active=max_active,
        created_at=0.0,
    )
    return store.create_backfill(backfill, ticks), len(ticks)
