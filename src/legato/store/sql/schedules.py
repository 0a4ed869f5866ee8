"""The SQL :class:`~legato.store.schedules.ScheduleStore`, in the run store's database.

Each decision is one write transaction that first locks what it decides about: a due
schedule's row to claim it, a schedule's (or a backfill's) row to launch its queued ticks.
On PostgreSQL the lock is ``SELECT ... FOR UPDATE SKIP LOCKED``, so several schedulers work
at once, each on rows no other holds; on SQLite a write transaction (``BEGIN IMMEDIATE``)
holds the whole database, and one scheduler at a time acts anyway (its lease,
:meth:`SqlScheduleStore.hold_lease`). Times are compared on the database's clock
(``connect.db_now``). The key of a tick is its primary key and its run id is unique, so no
interleaving can write a second tick, or a second run, for one instant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar

import sqlalchemy as sa

from legato._crash import crash_point
from legato.errors import ParameterError
from legato.model.schedules import (
    CRON_ORIGIN,
    FILES_PREFIX,
    Backfill,
    Launch,
    ScheduleDef,
    ScheduleRecord,
    Tick,
    TickPlan,
    TickStatus,
    group_of,
)
from legato.model.states import RUN_TERMINAL
from legato.store.schedules import Decide, FirstDue, LaunchPass, Plan, TriggerPlan
from legato.store.sql import schedule_rows as rows
from legato.store.sql.connect import db_now
from legato.store.sql.schedule_writes import (
    claim_files_in,
    db_time,
    decide_group,
    insert_ticks,
    launch_of,
    request_cancel,
    tick_update,
    triggering,
)
from legato.store.sql.schema import (
    runs,
    schedule_backfills,
    schedule_ticks,
    scheduler_leases,
    schedules,
)
from legato.store.sql.transactions import Transactions

__all__ = ["SqlScheduleStore"]

_T = TypeVar("_T")


class SqlScheduleStore:
    """Schedules in the database of a SQL run store (give it the run store's engine, which
    has created the tables)."""

    def __init__(self, engine: sa.Engine) -> None:
        self._dialect = engine.dialect.name
        self._where = engine.url.render_as_string(hide_password=True)
        self._tx = Transactions(engine, f"the run store at {self._where}")

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``: on SQLite one scheduler acts at a time."""
        return self._dialect

    def _now(self, c: sa.Connection) -> float:
        return db_time(c, self._dialect)

    def now(self) -> float:
        """The database's time."""
        return self._tx.read("reading the time", self._now)

    # -- declarations ----------------------------------------------------------------------

    def sync(self, definitions: Sequence[ScheduleDef], first_due: FirstDue) -> None:
        """Store the declarations (see :meth:`ScheduleStore.sync`)."""
        with self._tx.write("storing schedules") as c:
            now = self._now(c)
            for definition in definitions:
                found = c.execute(
                    sa.select(schedules)
                    .where(schedules.c.name == definition.name)
                    .with_for_update()
                ).first()
                values = {**rows.definition_values(definition), "updated_at": now}
                if found is None:
                    c.execute(
                        sa.insert(schedules).values(
                            name=definition.name,
                            paused=False,
                            next_due=first_due(definition, now),
                            last_nominal=None,
                            since=now if definition.after else None,
                            **values,
                        )
                    )
                    continue
                if (found.cron, found.tz) != (definition.cron, definition.tz):
                    # A new cron starts from what ran last or from now, whichever is later:
                    # an edit never reruns an instant, nor fires the instants it skipped.
                    values["next_due"] = first_due(definition, max(found.last_nominal or 0, now))
                if found.after != definition.after:
                    # A new upstream triggers from now on, not for its past successes.
                    values["since"] = now if definition.after else None
                c.execute(
                    sa.update(schedules).where(schedules.c.name == definition.name).values(values)
                )

    def set_paused(self, name: str, paused: bool) -> ScheduleRecord:
        """Pause or resume a schedule."""
        with self._tx.write(f"pausing schedule {name!r}") as c:
            done = c.execute(
                sa.update(schedules)
                .where(schedules.c.name == name)
                .values(paused=paused, updated_at=self._now(c))
            )
            if done.rowcount != 1:
                raise self._unknown(c, name)
            return rows.record(
                c.execute(sa.select(schedules).where(schedules.c.name == name)).one()
            )

    def _unknown(self, c: sa.Connection, name: str) -> ParameterError:
        known = sorted(c.execute(sa.select(schedules.c.name)).scalars())
        listed = ", ".join(known) if known else "none: run legato scheduler to store them"
        return ParameterError(
            f"no schedule named {name!r} in the run store at {self._where} (schedules: {listed})"
        )

    def get_schedule(self, name: str) -> ScheduleRecord:
        """One schedule."""

        def work(c: sa.Connection) -> ScheduleRecord:
            row = c.execute(sa.select(schedules).where(schedules.c.name == name)).first()
            if row is None:
                raise self._unknown(c, name)
            return rows.record(row)

        return self._tx.read(f"reading schedule {name!r}", work)

    def list_schedules(self) -> list[ScheduleRecord]:
        """Every schedule, by name."""
        query = sa.select(schedules).order_by(schedules.c.name)
        return self._tx.read(
            "listing schedules", lambda c: [rows.record(r) for r in c.execute(query)]
        )

    # -- claims ----------------------------------------------------------------------------

    def claim_due(
        self, plan: Plan, *, limit: int = 100, names: Sequence[str] | None = None
    ) -> list[Tick]:
        """Claim due schedules, one transaction each (see :meth:`ScheduleStore.claim_due`)."""
        claimed: list[Tick] = []
        due = [schedules.c.paused.is_(False), schedules.c.next_due <= db_now(self._dialect)]
        if names is not None:
            due.append(schedules.c.name.in_(list(names)))
        anything = sa.select(schedules.c.name).where(*due).limit(1)
        if (
            self._tx.read("looking for due schedules", lambda c: c.execute(anything).first())
            is None
        ):
            return claimed  # a read, so an idle pass takes no write lock
        for _ in range(limit):
            with self._tx.write("claiming a due schedule") as c:
                row = c.execute(
                    sa.select(schedules)
                    .where(*due)
                    .order_by(schedules.c.next_due)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                ).first()
                if row is None:
                    break
                now = self._now(c)
                record = rows.record(row)
                crash_point("schedule_claimed")
                claim = plan(record, now)
                ticks = insert_ticks(
                    c, self._dialect, record.definition, CRON_ORIGIN, plans=claim.ticks, now=now
                )
                crash_point("tick_written")
                c.execute(
                    sa.update(schedules)
                    .where(schedules.c.name == record.definition.name)
                    .values(
                        next_due=claim.next_due,
                        last_nominal=claim.last_nominal
                        if claim.last_nominal is not None
                        else schedules.c.last_nominal,
                        updated_at=now,
                    )
                )
            crash_point("tick_committed")
            claimed += ticks
        return claimed

    def claim_triggered(
        self, plan: TriggerPlan, *, names: Sequence[str] | None = None, batch: int = 500
    ) -> list[Tick]:
        """Claim the upstream successes of trigger schedules (see the protocol)."""
        wanted = [
            schedules.c.paused.is_(False),
            schedules.c.after != "",
            sa.not_(schedules.c.after.startswith(FILES_PREFIX, autoescape=True)),
        ]
        if names is not None:
            wanted.append(schedules.c.name.in_(list(names)))
        found = self._tx.read(
            "reading triggers",
            lambda c: list(c.execute(sa.select(schedules.c.name).where(*wanted)).scalars()),
        )
        claimed: list[Tick] = []
        for name in found:
            while True:
                with self._tx.write(f"claiming what triggers schedule {name!r}") as c:
                    ticks = self._claim_trigger(c, name, plan, batch)
                claimed += ticks or []
                if ticks is None or len(ticks) < batch:
                    break
        return claimed

    def _claim_trigger(
        self, c: sa.Connection, name: str, plan: TriggerPlan, batch: int
    ) -> list[Tick] | None:
        row = c.execute(
            sa.select(schedules).where(schedules.c.name == name).with_for_update(skip_locked=True)
        ).first()
        if row is None:
            return None  # another scheduler claims it now
        record = rows.record(row)
        candidates = triggering(c, record, batch)
        if not candidates:
            return []
        now = self._now(c)
        plans = plan(record, candidates, now)
        ticks = insert_ticks(c, self._dialect, record.definition, CRON_ORIGIN, plans=plans, now=now)
        newest = max(p.nominal for p in plans)
        c.execute(
            sa.update(schedules)
            .where(schedules.c.name == name)
            .values(last_nominal=max(record.last_nominal or 0, newest), updated_at=now)
        )
        return ticks

    def claim_files(self, name: str, listing: Mapping[str, str], *, debounce: float) -> list[Tick]:
        """Record a file trigger's listing; one tick once its changes are still."""
        with self._tx.write(f"claiming changed files of schedule {name!r}") as c:
            return claim_files_in(c, self._dialect, name, listing, debounce=debounce)

    def launch_queued(
        self, owner: str, decide: Decide, *, stale_after: float, grace: float
    ) -> LaunchPass:
        """Decide and mark the queued ticks of every group no one else is deciding."""
        groups = self._tx.read(
            "reading queued ticks",
            lambda c: list(
                c.execute(
                    sa.select(schedule_ticks.c.schedule, schedule_ticks.c.origin)
                    .where(schedule_ticks.c.status == TickStatus.QUEUED.value)
                    .distinct()
                )
            ),
        )
        launches: list[Launch] = []
        cancelled: list[str] = []
        for schedule, group in dict.fromkeys((s, group_of(o)) for s, o in groups):
            with self._tx.write(f"launching ticks of schedule {schedule!r}") as c:
                decided = decide_group(
                    c,
                    self._dialect,
                    schedule,
                    group,
                    owner=owner,
                    decide=decide,
                    stale_after=stale_after,
                    grace=grace,
                )
            if decided is not None:
                launches += decided.launches
                cancelled += decided.cancelled
        cancelled += self._recancel()
        return LaunchPass(launches=tuple(launches), cancelled=tuple(cancelled))

    def _recancel(self) -> list[str]:
        """Ask the runs of cancelled backfills that still run to cancel."""
        t, b = schedule_ticks, schedule_backfills
        query = (
            sa.select(t.c.run_id)
            .select_from(t.join(b, b.c.backfill_id == t.c.origin))
            .where(
                b.c.cancelled_at.is_not(None),
                # A cancelled tick too: its run may have been created by a launch that
                # was under way when the backfill was cancelled.
                t.c.status.in_([TickStatus.LAUNCHED.value, TickStatus.CANCELLED.value]),
            )
        )
        still = query.join(runs, runs.c.run_id == t.c.run_id).where(
            runs.c.cancel_requested_at.is_(None),
            runs.c.state.not_in([s.value for s in RUN_TERMINAL]),
        )
        if not self._tx.read(
            "reading cancelled backfills", lambda c: c.execute(still.limit(1)).first()
        ):
            return []
        with self._tx.write("cancelling the runs of cancelled backfills") as c:
            run_ids = list(c.execute(query).scalars())
            if not run_ids:
                return []
            return request_cancel(c, run_ids, "its backfill was cancelled", self._now(c))

    def relaunch_lost(self, owner: str, *, grace: float, attempts: int = 3) -> list[Launch]:
        """Launch again the ticks whose run never appeared (see the protocol)."""
        t, r = schedule_ticks, runs
        launches: list[Launch] = []
        lost_query = (
            sa.select(t)
            .select_from(t.outerjoin(r, r.c.run_id == t.c.run_id))
            .where(
                t.c.status == TickStatus.LAUNCHED.value,
                r.c.run_id.is_(None),
                t.c.launched_at <= db_now(self._dialect) - grace,
            )
        )
        if not self._tx.read(
            "looking for lost launches", lambda c: c.execute(lost_query.limit(1)).first()
        ):
            return launches
        with self._tx.write("relaunching lost ticks") as c:
            now = self._now(c)
            lost = c.execute(lost_query.with_for_update(of=t, skip_locked=True)).all()
            cancelled = set(
                c.execute(
                    sa.select(schedule_backfills.c.backfill_id).where(
                        schedule_backfills.c.cancelled_at.is_not(None),
                        schedule_backfills.c.backfill_id.in_({row.origin for row in lost}),
                    )
                ).scalars()
            )
            for row in lost:
                tick = rows.tick(row)
                if tick.origin in cancelled:  # not started again once its backfill is off
                    c.execute(
                        tick_update(tick).values(
                            status=TickStatus.CANCELLED.value, reason="its backfill was cancelled"
                        )
                    )
                    continue
                if tick.launches >= attempts:
                    where = f": see {tick.log}" if tick.log else ""
                    c.execute(
                        tick_update(tick).values(
                            status=TickStatus.FAILED.value,
                            reason=f"its run never started in {tick.launches} launches{where}",
                        )
                    )
                    continue
                c.execute(
                    tick_update(tick).values(
                        launched_at=now, launches=t.c.launches + 1, launcher=owner
                    )
                )
                launches.append(launch_of(c, tick))
        return launches

    def note_log(self, tick: Tick, log: str) -> None:
        """Record where a launched tick's output goes."""
        with self._tx.write("recording a tick's log") as c:
            c.execute(tick_update(tick).values(log=log))

    def ticks(
        self,
        schedule: str | None = None,
        *,
        origin: str | None = None,
        statuses: Sequence[TickStatus] = (),
        limit: int = 100,
        before: int | None = None,
    ) -> list[Tick]:
        """Ticks, newest instant first (of instants before ``before``, if given)."""
        query = rows.select_ticks(schedule, origin, statuses, limit, before)
        return self._tx.read("reading ticks", lambda c: [rows.tick(r) for r in c.execute(query)])

    def count_ticks(self, schedule: str, *, origin: str | None = None) -> dict[TickStatus, int]:
        """How many ticks of a schedule (or of one origin) are in each status."""
        t = schedule_ticks
        query = sa.select(t.c.status, sa.func.count()).where(t.c.schedule == schedule)
        if origin is not None:
            query = query.where(t.c.origin == origin)
        query = query.group_by(t.c.status)
        return self._tx.read(
            "counting ticks",
            lambda c: {TickStatus(status): int(n) for status, n in c.execute(query)},
        )

    # -- backfills -------------------------------------------------------------------------

    def create_backfill(self, backfill: Backfill, ticks: Sequence[TickPlan]) -> Backfill:
        """Record a backfill and its queued ticks in one transaction."""
        with self._tx.write(f"creating backfill {backfill.backfill_id!r}") as c:
            row = c.execute(
                sa.select(schedules).where(schedules.c.name == backfill.schedule)
            ).first()
            if row is None:
                raise self._unknown(c, backfill.schedule)
            now = self._now(c)
            c.execute(
                sa.insert(schedule_backfills).values(
                    backfill_id=backfill.backfill_id,
                    schedule=backfill.schedule,
                    start=backfill.start,
                    end=backfill.end,
                    max_active=backfill.max_active,
                    created_at=now,
                    cancelled_at=None,
                )
            )
            insert_ticks(
                c,
                self._dialect,
                rows.record(row).definition,
                backfill.backfill_id,
                plans=ticks,
                now=now,
            )
            found = c.execute(
                sa.select(schedule_backfills).where(
                    schedule_backfills.c.backfill_id == backfill.backfill_id
                )
            ).one()
            return rows.backfill(found)

    def cancel_backfill(self, backfill_id: str, reason: str) -> list[str]:
        """Cancel a backfill as one action (see the protocol)."""
        b, t = schedule_backfills, schedule_ticks
        with self._tx.write(f"cancelling backfill {backfill_id!r}") as c:
            now = self._now(c)
            found = c.execute(
                sa.select(b).where(b.c.backfill_id == backfill_id).with_for_update()
            ).first()
            if found is None:
                raise ParameterError(
                    f"no backfill {backfill_id!r} in the run store at {self._where}: "
                    "legato backfill --list shows them"
                )
            c.execute(
                sa.update(b)
                .where(b.c.backfill_id == backfill_id, b.c.cancelled_at.is_(None))
                .values(cancelled_at=now)
            )
            c.execute(
                sa.update(t)
                .where(t.c.origin == backfill_id, t.c.status == TickStatus.QUEUED.value)
                .values(status=TickStatus.CANCELLED.value, reason=reason)
            )
            launched = list(
                c.execute(
                    sa.select(t.c.run_id).where(
                        t.c.origin == backfill_id, t.c.status == TickStatus.LAUNCHED.value
                    )
                ).scalars()
            )
            return request_cancel(c, launched, reason, now)

    def backfills(self, schedule: str | None = None) -> list[Backfill]:
        """Backfills, newest first."""
        b = schedule_backfills
        query = sa.select(b).order_by(b.c.created_at.desc(), b.c.backfill_id.desc())
        if schedule is not None:
            query = query.where(b.c.schedule == schedule)
        return self._tx.read(
            "listing backfills", lambda c: [rows.backfill(r) for r in c.execute(query)]
        )

    # -- lease -----------------------------------------------------------------------------

    def hold_lease(self, name: str, owner: str, ttl: float) -> bool:
        """Take or renew lease ``name`` (see the protocol)."""
        lease = scheduler_leases
        with self._tx.write("holding the scheduler lease") as c:
            now = self._now(c)
            row = c.execute(sa.select(lease).where(lease.c.name == name).with_for_update()).first()
            if row is None:
                c.execute(sa.insert(lease).values(name=name, owner=owner, expires_at=now + ttl))
                return True
            if row.owner != owner and row.expires_at > now:
                return False
            c.execute(
                sa.update(lease)
                .where(lease.c.name == name)
                .values(owner=owner, expires_at=now + ttl)
            )
            return True

    def release_lease(self, name: str, owner: str) -> None:
        """Give the lease up if ``owner`` holds it."""
        lease = scheduler_leases
        with self._tx.write("releasing the scheduler lease") as c:
            c.execute(sa.delete(lease).where(lease.c.name == name, lease.c.owner == owner))
