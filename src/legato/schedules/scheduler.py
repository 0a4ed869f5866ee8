"""``legato scheduler``: the passes that turn due instants into runs.

One pass (:meth:`Scheduler.run_pass`):

1. On SQLite, hold the scheduler lease (one scheduler acts at a time; another waits and
   takes over when the lease expires). On PostgreSQL every scheduler acts: each claim and
   each launch decision locks its rows with ``FOR UPDATE SKIP LOCKED``.
2. Claim the due schedules: each in one transaction, its ticks written (queued or missed)
   and its next instant advanced (:meth:`ScheduleStore.claim_due`); and the upstream
   successes of trigger schedules, one tick per upstream run
   (:meth:`ScheduleStore.claim_triggered`).
3. Launch again the ticks whose run never appeared (the launcher died between marking a
   tick launched and starting its process).
4. Decide the queued ticks by overlap against the runs the store counts as active, mark
   them launched or skipped, then start each launched one: ``legato run TARGET -p ...
   --run-id ID`` in a session of its own (it outlives the scheduler). The run id derives
   from the tick's key, so a tick launched twice still makes one run: the run store refuses
   the second.

The run then has the owner, heartbeat and take-over every run has; the scheduler holds
nothing of it.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from legato._crash import crash_point
from legato.errors import StoreError
from legato.model.schedules import (
    ClaimPlan,
    Launch,
    ScheduleDef,
    ScheduleRecord,
    Tick,
    parse_files_trigger,
)
from legato.schedules.cron import Cron
from legato.schedules.files import list_files
from legato.schedules.planning import decide_overlap, plan_claim, plan_triggered
from legato.store.schedules import ScheduleStore

__all__ = ["LEASE", "PassReport", "Scheduler", "launch_argv"]

log = logging.getLogger("legato.scheduler")

LEASE = "scheduler"
"""The name of the lease the schedulers of a SQLite store share."""


def first_due(definition: ScheduleDef, after: float) -> int | None:
    """A schedule's first instant after ``after`` (None: it has no cron, only a trigger)."""
    if not definition.cron:
        return None
    return Cron(definition.cron, definition.tz).after(after)


def plan(record: ScheduleRecord, now: float) -> ClaimPlan:
    """The claim of a due schedule at the database's time ``now``."""
    definition = record.definition
    assert record.next_due is not None  # only due schedules are claimed
    return plan_claim(
        Cron(definition.cron, definition.tz), record.next_due, now, definition.catchup
    )


def launch_argv(launch: Launch) -> list[str]:
    """``-p name=value`` pairs of a launch's parameters, as ``legato run`` reads them
    (strings as they are, other values as JSON)."""
    return [
        f"{name}={value if isinstance(value, str) else json.dumps(value)}"
        for name, value in sorted(launch.params.items())
    ]


Start = Callable[[Launch], str]
"""Starts a launch's run as a process of its own; the file its output goes to."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PassReport:
    """What one pass did."""

    active: bool
    """Whether this scheduler acted (on SQLite: held the lease)."""
    claimed: tuple[Tick, ...] = ()
    launched: tuple[Launch, ...] = ()
    cancelled: tuple[str, ...] = ()


@dataclass(kw_only=True)
class Scheduler:
    """A scheduler over ``store``, starting runs with ``start``."""

    store: ScheduleStore
    start: Start
    owner: str
    single: bool
    """Hold the lease before acting (SQLite)."""
    stale_after: float = 30.0
    """Seconds without a heartbeat after which a run no longer counts as active."""
    grace: float = 60.0
    """Seconds a launched tick's run has to appear before it is launched again."""
    lease_ttl: float = 10.0
    poll: float = 1.0
    claim_limit: int = 100
    """Due schedules one pass claims at most (each in its own transaction)."""
    only_declared: bool = True
    """Claim only the schedules in ``definitions``: one removed from the code stops making
    ticks (its stored ticks stay), and schedulers given different modules share a store."""
    definitions: Sequence[ScheduleDef] = ()
    _synced: bool = field(default=False, init=False)

    def run_pass(self) -> PassReport:
        """One pass (see the module docstring)."""
        if self.single and not self.store.hold_lease(LEASE, self.owner, self.lease_ttl):
            return PassReport(active=False)
        if not self._synced:
            self.store.sync(self.definitions, first_due)
            self._synced = True
        names = [d.name for d in self.definitions] if self.only_declared else None
        claimed = self.store.claim_due(plan, limit=self.claim_limit, names=names)
        claimed += self.store.claim_triggered(plan_triggered, names=names)
        for definition in self.definitions:
            watched, debounce = parse_files_trigger(definition.after)
            if watched:
                try:
                    listing = list_files(watched)
                except Exception as exc:  # any filesystem's error: the next pass lists again
                    log.warning("cannot list %s for schedule %s: %s", watched, definition.name, exc)
                    continue
                claimed += self.store.claim_files(definition.name, listing, debounce=debounce)
        lost = self.store.relaunch_lost(self.owner, grace=self.grace)
        decided = self.store.launch_queued(
            self.owner, decide_overlap, stale_after=self.stale_after, grace=self.grace
        )
        launches = (*lost, *decided.launches)
        for launch in launches:
            crash_point("tick_launching")
            try:
                where = self.start(launch)
            except OSError as exc:
                # Launched again after the grace period (relaunch_lost), up to its limit.
                log.error("cannot start the run of tick %s: %s", launch.tick.run_id, exc)
                continue
            crash_point("tick_launched")
            self.store.note_log(launch.tick, where)
        return PassReport(
            active=True,
            claimed=tuple(claimed),
            launched=launches,
            cancelled=decided.cancelled,
        )

    def serve(
        self, stop: threading.Event, on_pass: Callable[[PassReport], None] | None = None
    ) -> None:
        """Run passes every ``poll`` seconds until ``stop`` is set; the lease is given up
        at the end."""
        try:
            while not stop.is_set():
                try:
                    report = self.run_pass()
                except StoreError as exc:
                    # A database that is restarting or unreachable for a while: the next
                    # pass tries again; nothing was half done (each step is a transaction).
                    log.warning("scheduler pass failed, trying again: %s", exc)
                    stop.wait(max(self.poll, 1.0))
                    continue
                if on_pass is not None:
                    on_pass(report)
                stop.wait(self.poll)
        finally:
            self.release()

    def release(self) -> None:
        """Give the lease up (SQLite), so another scheduler need not wait for it to
        expire."""
        if self.single:
            self.store.release_lease(LEASE, self.owner)
