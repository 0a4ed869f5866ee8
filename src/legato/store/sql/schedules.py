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
from legato.model.schedules import (
    CRON_ORIGIN,
    FILES_PREFIX,
    Launch,
    Tick,
    TickStatus,
    group_of,
)
from legato.model.states import RUN_TERMINAL
from legato.store.schedules import Decide, LaunchPass, Plan, TriggerPlan
from legato.store.sql import schedule_rows as rows
from legato.store.sql.connect import db_now
from legato.store.sql.run_tables import runs
from legato.store.sql.schedule_admin import SqlScheduleAdmin
from legato.store.sql.schedule_tables import schedule_backfills, schedule_ticks, schedules
from legato.store.sql.schedule_writes import (
    claim_files_in,
    decide_group,
    insert_ticks,
    launch_of,
    request_cancel,
    tick_update,
    triggering,
)

__all__ = ["SqlScheduleStore"]

_T = TypeVar("_T")


class SqlScheduleStore(SqlScheduleAdmin):
    """Schedules in the database of a SQL run store: the administration of
    :class:`SqlScheduleAdmin` and the scheduler's decisions, each one write transaction."""

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
