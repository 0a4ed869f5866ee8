"""The administration half of the SQL schedule store: its connection to the run store's
database, the database's clock, the stored declarations, backfills and the scheduler's
lease. :class:`~legato.store.sql.schedules.SqlScheduleStore` adds the scheduler's
decisions (claims and launches) on top of it, in the same transactions and on the same clock.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from legato.errors import ParameterError
from legato.model.schedules import (
    Backfill,
    ScheduleDef,
    ScheduleRecord,
    TickPlan,
    TickStatus,
)
from legato.store.schedules import FirstDue
from legato.store.sql import schedule_rows as rows
from legato.store.sql.schedule_tables import (
    schedule_backfills,
    schedule_ticks,
    scheduler_leases,
    schedules,
)
from legato.store.sql.schedule_writes import (
    db_time,
    insert_ticks,
    request_cancel,
)
from legato.store.sql.transactions import Transactions

__all__ = ["SqlScheduleAdmin"]


class SqlScheduleAdmin:
    """Schedules' declarations, backfills and the scheduler's lease in the database of a SQL
    run store (give it the run store's engine, which has created the tables)."""

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
