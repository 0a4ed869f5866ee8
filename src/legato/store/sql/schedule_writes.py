"""The statements of the SQL schedule store's decisions, as functions of a connection in a
transaction the store opened: writing ticks, launching a group's queued ticks, asking runs
to cancel, and reading what triggers a schedule (upstream successes, alias moves)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace

import sqlalchemy as sa

from legato.model.schedules import (
    AFTER_PREFIX,
    ALIAS_PREFIX,
    CRON_ORIGIN,
    FILES_PREFIX,
    Launch,
    Overlap,
    ScheduleDef,
    ScheduleRecord,
    Tick,
    TickPlan,
    TickStatus,
    parse_alias_trigger,
    tick_params,
    tick_run_id,
)
from legato.model.states import RUN_TERMINAL, RunState
from legato.store.schedules import Decide, LaunchPass
from legato.store.sql import schedule_rows as rows
from legato.store.sql.connect import db_now, dialect_insert
from legato.store.sql.registry_tables import alias_changes
from legato.store.sql.run_tables import runs
from legato.store.sql.schedule_tables import (
    schedule_backfills,
    schedule_files,
    schedule_ticks,
    schedules,
)

__all__ = [
    "TRIGGER_SLACK",
    "changed_files_reason",
    "claim_files_in",
    "db_time",
    "decide_group",
    "insert_ticks",
    "launch_of",
    "request_cancel",
    "set_status",
    "tick_update",
    "triggering",
]

TRIGGER_SLACK = 3600
"""Seconds before a trigger's newest claimed success that a claim still looks at: a run
that ended earlier but committed later (another host's clock, a slow commit) is still
found; older ones have been claimed (the claimed ones are excluded by their tick)."""


def insert_ticks(
    c: sa.Connection,
    dialect: str,
    definition: ScheduleDef,
    origin: str,
    *,
    plans: Sequence[TickPlan],
    now: float,
) -> list[Tick]:
    """Write ticks that do not exist yet; the ticks written."""
    if not plans:
        return []
    insert = dialect_insert(dialect)
    values = [
        {
            "schedule": definition.name,
            "origin": p.origin or origin,
            "nominal": p.nominal,
            "interval_start": p.interval_start,
            "status": p.status.value,
            "reason": p.reason,
            "run_id": tick_run_id(definition.name, p.origin or origin, p.nominal),
            "target": definition.target,
            "params": json.dumps(
                tick_params(definition, p.interval_start, p.nominal, p.origin or origin),
                sort_keys=True,
            ),
            "created_at": now,
            "launched_at": None,
            "launches": 0,
            "launcher": "",
            "log": "",
        }
        for p in plans
    ]
    written = c.execute(
        insert(schedule_ticks).on_conflict_do_nothing().returning(*schedule_ticks.c).values(values)
    )
    return sorted(map(rows.tick, written), key=lambda t: t.nominal)


def db_time(c: sa.Connection, dialect: str) -> float:
    """The database's time, read in the transaction of ``c``."""
    return float(c.execute(sa.select(db_now(dialect))).scalar_one())


def decide_group(
    c: sa.Connection,
    dialect: str,
    schedule: str,
    group: str,
    *,
    owner: str,
    decide: Decide,
    stale_after: float,
    grace: float,
) -> LaunchPass | None:
    """Lock a schedule's own group (``""``) or a backfill, count its active runs, and mark
    its queued ticks launched or skipped as ``decide`` says; None when another scheduler
    holds the lock (or the group is paused or cancelled)."""
    if group == CRON_ORIGIN:
        lock = sa.select(schedules).where(schedules.c.name == schedule)
    else:
        lock = sa.select(schedule_backfills).where(schedule_backfills.c.backfill_id == group)
    row = c.execute(lock.with_for_update(skip_locked=True)).first()
    if row is None:
        return None  # another scheduler decides it now
    if group == CRON_ORIGIN:
        if row.paused:
            return None
        overlap, max_active = Overlap(row.overlap), int(row.max_active)
    else:
        if row.cancelled_at is not None:
            return None
        overlap, max_active = Overlap.QUEUE, int(row.max_active)
    now = db_time(c, dialect)
    found = list(
        c.execute(
            sa.select(schedule_ticks)
            .where(
                schedule_ticks.c.schedule == schedule,
                rows.in_group(group),
                schedule_ticks.c.status == TickStatus.QUEUED.value,
            )
            .order_by(schedule_ticks.c.nominal, schedule_ticks.c.origin)
        )
    )
    active = rows.active_runs(c, schedule, group, now=now, stale_after=stale_after, grace=grace)
    decision = decide(len(found), active, overlap, max_active)
    launched = [found[i] for i in decision.launch]
    set_status(
        c,
        [r.run_id for r in launched],
        status=TickStatus.LAUNCHED.value,
        launched_at=now,
        launches=schedule_ticks.c.launches + 1,
        launcher=owner,
    )
    skipped: dict[str, list[str]] = {}
    for index, reason in decision.skip:
        skipped.setdefault(reason, []).append(found[index].run_id)
    for reason, run_ids in skipped.items():
        set_status(c, run_ids, status=TickStatus.SKIPPED.value, reason=reason)
    launches = [
        Launch(
            tick=replace(
                rows.tick(r),
                status=TickStatus.LAUNCHED,
                launched_at=now,
                launches=r.launches + 1,
            ),
            target=r.target,
            params=json.loads(r.params),
        )
        for r in launched
    ]
    cancelled: list[str] = []
    if decision.cancel_active and active:
        reason = f"superseded by a newer tick of schedule {schedule!r}"
        cancelled = request_cancel(c, active, reason, now)
    return LaunchPass(launches=tuple(launches), cancelled=tuple(cancelled))


def set_status(c: sa.Connection, run_ids: Sequence[str], **values: object) -> None:
    """Change the queued ticks with these run ids (their key's other name), in chunks."""
    for start in range(0, len(run_ids), 500):
        c.execute(
            sa.update(schedule_ticks)
            .where(
                schedule_ticks.c.run_id.in_(run_ids[start : start + 500]),
                schedule_ticks.c.status == TickStatus.QUEUED.value,
            )
            .values(**values)
        )


def tick_update(tick: Tick) -> sa.Update:
    return sa.update(schedule_ticks).where(
        schedule_ticks.c.schedule == tick.schedule,
        schedule_ticks.c.origin == tick.origin,
        schedule_ticks.c.nominal == tick.nominal,
    )


def launch_of(c: sa.Connection, tick: Tick) -> Launch:
    row = c.execute(
        sa.select(schedule_ticks).where(
            schedule_ticks.c.schedule == tick.schedule,
            schedule_ticks.c.origin == tick.origin,
            schedule_ticks.c.nominal == tick.nominal,
        )
    ).one()
    return Launch(tick=rows.tick(row), target=row.target, params=json.loads(row.params))


def request_cancel(c: sa.Connection, run_ids: Sequence[str], reason: str, now: float) -> list[str]:
    """Record a cancel request on those of ``run_ids`` not ended and not yet asked."""
    wanted = (
        runs.c.run_id.in_(list(run_ids)),
        runs.c.cancel_requested_at.is_(None),
        runs.c.state.not_in([s.value for s in RUN_TERMINAL]),
    )
    asked = list(c.execute(sa.select(runs.c.run_id).where(*wanted)).scalars())
    if asked:
        c.execute(
            sa.update(runs).where(*wanted).values(cancel_requested_at=now, cancel_reason=reason)
        )
    return [str(run_id) for run_id in asked]


def triggering(
    c: sa.Connection, record: ScheduleRecord, batch: int
) -> list[tuple[str, float, float]]:
    """What triggers a schedule and has no tick yet, oldest first: ``(origin, start, end)``
    for each upstream run that succeeded, or each move of the model alias it follows."""
    definition, t = record.definition, schedule_ticks
    watermark = (record.last_nominal or 0) - TRIGGER_SLACK
    since = record.since or 0.0
    model, alias = parse_alias_trigger(definition.after)
    if model:
        a = alias_changes
        origin = (
            sa.literal(ALIAS_PREFIX)
            + sa.cast(a.c.id, sa.Text)
            + ":v"
            + sa.cast(a.c.version, sa.Text)
        )
        found = c.execute(
            sa.select(origin.label("origin"), a.c.at)
            .where(
                a.c.name == model,
                a.c.alias == alias,
                a.c.version.is_not(None),
                a.c.at >= since,
                a.c.at >= watermark,
                ~sa.select(t.c.run_id)
                .where(t.c.schedule == definition.name, t.c.origin == origin)
                .exists(),
            )
            .order_by(a.c.id)
            .limit(batch)
        ).all()
        return [(str(x.origin), float(x.at), float(x.at)) for x in found]
    r = runs
    origin = sa.literal(AFTER_PREFIX) + r.c.run_id
    found = c.execute(
        sa.select(origin.label("origin"), r.c.created_at, r.c.ended_at)
        .where(
            r.c.pipeline == definition.after,
            r.c.state == RunState.SUCCEEDED.value,
            r.c.ended_at >= since,
            r.c.ended_at >= watermark,
            ~sa.select(t.c.run_id)
            .where(t.c.schedule == definition.name, t.c.origin == origin)
            .exists(),
        )
        .order_by(r.c.ended_at, r.c.run_id)
        .limit(batch)
    ).all()
    return [(str(x.origin), float(x.created_at), float(x.ended_at)) for x in found]


def changed_files_reason(paths: Sequence[str]) -> str:
    """What a file trigger's tick says fired it (the run's ``changed_files`` has them all)."""
    shown = ", ".join(paths[:20]) + (f" and {len(paths) - 20} more" if len(paths) > 20 else "")
    return f"{len(paths)} file(s) appeared or changed: {shown}"


def claim_files_in(
    c: sa.Connection, dialect: str, name: str, listing: Mapping[str, str], *, debounce: float
) -> list[Tick]:
    """A file trigger's claim in the transaction of ``c`` (see
    :meth:`~legato.store.schedules.ScheduleStore.claim_files`)."""
    f = schedule_files
    row = c.execute(
        sa.select(schedules).where(schedules.c.name == name).with_for_update(skip_locked=True)
    ).first()
    if row is None or row.paused:
        return []
    now = db_time(c, dialect)
    record = rows.record(row)
    known = {
        str(path): str(fingerprint)
        for path, fingerprint in c.execute(
            sa.select(f.c.path, f.c.fingerprint).where(f.c.schedule == name)
        )
    }
    # The first listing is the baseline: the files already there fire nothing.
    baseline = record.last_nominal is None and not known
    for path, fingerprint in listing.items():
        if known.get(path) == fingerprint:
            continue
        values = {"fingerprint": fingerprint, "changed_at": now, "fired": baseline}
        if path in known:
            c.execute(sa.update(f).where(f.c.schedule == name, f.c.path == path).values(values))
        else:
            c.execute(sa.insert(f).values(schedule=name, path=path, **values))
    if baseline:
        c.execute(sa.update(schedules).where(schedules.c.name == name).values(last_nominal=0))
    waiting = c.execute(
        sa.select(f.c.path, f.c.fingerprint, f.c.changed_at)
        .where(f.c.schedule == name, f.c.fired.is_(False))
        .order_by(f.c.path)
    ).all()
    if not waiting or max(w.changed_at for w in waiting) > now - debounce:
        return []  # nothing new, or still changing
    changed = [str(w.path) for w in waiting]
    # The same changes make the same key: a claim repeated after a crash writes no second tick.
    digest = tick_run_id(name, "\0".join(f"{w.path}\0{w.fingerprint}" for w in waiting), 0)
    definition = record.definition
    if "changed_files" in definition.interval_params:
        definition = replace(definition, params={**definition.params, "changed_files": changed})
    nominal = int(now)
    ticks = insert_ticks(
        c,
        dialect,
        definition,
        FILES_PREFIX + digest[10:],
        plans=[
            TickPlan(
                nominal=nominal,
                interval_start=int(min(w.changed_at for w in waiting)),
                status=TickStatus.QUEUED,
                reason=changed_files_reason(changed),
            )
        ],
        now=now,
    )
    c.execute(sa.update(f).where(f.c.schedule == name, f.c.path.in_(changed)).values(fired=True))
    c.execute(
        sa.update(schedules)
        .where(schedules.c.name == name)
        .values(last_nominal=nominal, updated_at=now)
    )
    return ticks
