"""What the edges show about schedules: each schedule with its next instants (in UTC and
its own time zone, days the clocks change flagged), its ticks and their counts, and
backfills with their progress. Plain functions of a
:class:`~legato.store.schedules.ScheduleStore`, so ``legato schedules`` and the HTTP API
answer the same; pause and resume are the store's ``set_paused``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from legato.model.schedules import (
    Backfill,
    ScheduleRecord,
    Tick,
    TickStatus,
    iso_utc,
    parse_alias_trigger,
    parse_files_trigger,
)
from legato.schedules.cron import Cron, upcoming
from legato.store.schedules import ScheduleStore

__all__ = [
    "BackfillView",
    "DueView",
    "ScheduleView",
    "TickPage",
    "TickView",
    "backfill_views",
    "describe_when",
    "schedule_view",
    "schedule_views",
    "tick_page",
    "tick_views",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class DueView:
    """One coming instant."""

    utc: str
    local: str
    dst: str
    """What the clocks do that local day (``""``: nothing)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleView:
    """A schedule as shown."""

    name: str
    pipeline: str
    cron: str
    after: str
    """What triggers it (``""``: its cron only), as stored."""
    when: str
    """When it runs, in words: its cron and time zone, or its trigger."""
    tz: str
    params: dict[str, object]
    catchup: str
    overlap: str
    max_active: int
    paused: bool
    next_due: str | None
    last_instant: str | None
    ticks: dict[str, int]
    """How many ticks are in each status."""
    upcoming: tuple[DueView, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class TickView:
    """A tick as shown."""

    schedule: str
    backfill: str | None
    instant: str
    interval_start: str
    status: str
    reason: str
    run_id: str
    launches: int
    log: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BackfillView:
    """A backfill and how far it got."""

    backfill_id: str
    schedule: str
    start: str
    end: str
    max_active: int
    cancelled: bool
    ticks: dict[str, int]


def _view(store: ScheduleStore, record: ScheduleRecord, coming: int) -> ScheduleView:
    d = record.definition
    coming_instants = []
    if d.cron:
        cron = Cron(d.cron, d.tz)
        start = record.next_due - 1 if record.next_due is not None else store.now()
        coming_instants = upcoming(cron, start, coming)
    return ScheduleView(
        name=d.name,
        pipeline=d.target,
        cron=d.cron,
        after=d.after,
        when=describe_when(d.cron, d.tz, d.after),
        tz=d.tz,
        params=dict(d.params),
        catchup=d.catchup.value,
        overlap=d.overlap.value,
        max_active=d.max_active,
        paused=record.paused,
        next_due=iso_utc(record.next_due) if record.next_due is not None else None,
        last_instant=iso_utc(record.last_nominal) if record.last_nominal is not None else None,
        ticks={s.value: n for s, n in store.count_ticks(d.name).items()},
        upcoming=tuple(
            DueView(utc=due.utc.isoformat(), local=due.local.isoformat(), dst=due.dst)
            for due in coming_instants
        ),
    )


def describe_when(cron: str, tz: str, after: str) -> str:
    """``"'0 3 * * *' in Europe/Berlin"``, ``"after train succeeds"``, ``"when
    churn@production moves"`` or ``"when files under data/ change (still for 30 s)"``."""
    if cron:
        return f"{cron!r} in {tz}"
    model, alias = parse_alias_trigger(after)
    if model:
        return f"when {model}@{alias} moves"
    watched, debounce = parse_files_trigger(after)
    if watched:
        return f"when files under {watched} change (still for {debounce:g} s)"
    return f"after {after} succeeds"


def schedule_views(store: ScheduleStore, *, coming: int = 0) -> list[ScheduleView]:
    """Every schedule, each with its next ``coming`` instants."""
    return [_view(store, record, coming) for record in store.list_schedules()]


def schedule_view(store: ScheduleStore, name: str, *, coming: int = 10) -> ScheduleView:
    """One schedule with its next ``coming`` instants."""
    return _view(store, store.get_schedule(name), coming)


def _tick(tick: Tick) -> TickView:
    return TickView(
        schedule=tick.schedule,
        backfill=tick.origin or None,
        instant=iso_utc(tick.nominal),
        interval_start=iso_utc(tick.interval_start),
        status=tick.status.value,
        reason=tick.reason,
        run_id=tick.run_id,
        launches=tick.launches,
        log=tick.log,
    )


def tick_views(
    store: ScheduleStore,
    schedule: str | None = None,
    *,
    backfill: str | None = None,
    statuses: Sequence[TickStatus] = (),
    limit: int = 100,
) -> list[TickView]:
    """Ticks, newest first: of a schedule, of a backfill, in some statuses."""
    found = store.ticks(schedule, origin=backfill, statuses=statuses, limit=limit)
    return [_tick(t) for t in found]


@dataclass(frozen=True, slots=True, kw_only=True)
class TickPage:
    """A page of a schedule's ticks, newest first."""

    ticks: tuple[TickView, ...]
    next_before: int | None
    """Where the next page starts (seconds since the epoch, the ``before`` to ask with);
    None: this page is the last."""


_TIES = 10_000
"""The most ticks of one instant a page brings whole (one per backfill over it)."""


def tick_page(
    store: ScheduleStore,
    schedule: str,
    *,
    statuses: Sequence[TickStatus] = (),
    limit: int = 100,
    before: int | None = None,
) -> TickPage:
    """A schedule's ticks of instants before ``before``, newest first: ``limit`` of them,
    give or take the ticks of its last instant. A page never splits an instant (its
    schedule's own tick and its backfills' ones): it ends before one it cannot hold whole,
    or, when one instant fills it, holds all of that instant's ticks; so asking again with
    ``next_before`` misses none and repeats none."""
    found = store.ticks(schedule, statuses=statuses, limit=limit, before=before)
    if len(found) < limit or not found:
        return TickPage(ticks=tuple(_tick(t) for t in found), next_before=None)
    last = found[-1].nominal
    whole = [t for t in found if t.nominal != last]
    if not whole:  # one instant fills the page: bring all its ticks
        whole = store.ticks(schedule, statuses=statuses, limit=_TIES, before=last + 1)
        whole = [t for t in whole if t.nominal == last]
    return TickPage(ticks=tuple(_tick(t) for t in whole), next_before=whole[-1].nominal)


def _backfill(store: ScheduleStore, backfill: Backfill) -> BackfillView:
    counts = store.count_ticks(backfill.schedule, origin=backfill.backfill_id)
    return BackfillView(
        backfill_id=backfill.backfill_id,
        schedule=backfill.schedule,
        start=iso_utc(backfill.start),
        end=iso_utc(backfill.end),
        max_active=backfill.max_active,
        cancelled=backfill.cancelled_at is not None,
        ticks={s.value: n for s, n in counts.items()},
    )


def backfill_views(store: ScheduleStore, schedule: str | None = None) -> list[BackfillView]:
    """Backfills, newest first, with their ticks counted by status."""
    return [_backfill(store, b) for b in store.backfills(schedule)]
