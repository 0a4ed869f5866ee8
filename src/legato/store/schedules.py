"""What schedulers need from storage: :class:`ScheduleStore`, kept apart from the
:class:`~legato.store.base.RunStore` (it lives in the same database and reads its runs).

Every method that decides something reads the time from the database's own clock, so that
schedulers on hosts whose clocks disagree agree on what is due, whose lease expired and
which run's heartbeat is stale. The decisions themselves (which instants, which catch-up,
which overlap) are pure functions the caller hands in (``legato.schedules.planning``), so
the store only makes them atomic.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from legato.model.schedules import (
    Backfill,
    ClaimPlan,
    Launch,
    Overlap,
    OverlapDecision,
    ScheduleDef,
    ScheduleRecord,
    Tick,
    TickPlan,
    TickStatus,
)

__all__ = ["Decide", "FirstDue", "LaunchPass", "Plan", "ScheduleStore", "TriggerPlan"]

FirstDue = Callable[[ScheduleDef, float], int | None]
"""The first instant of a schedule strictly after a time (its cron's; None: it has none)."""
Plan = Callable[[ScheduleRecord, float], ClaimPlan]
"""A claim's ticks for a due schedule at the database's time."""
TriggerPlan = Callable[
    [ScheduleRecord, Sequence[tuple[str, float, float]], float], Sequence[TickPlan]
]
"""A trigger claim's ticks for what triggered it, ``(origin, start, end)``, at a time."""
Decide = Callable[[int, Sequence[str], Overlap, int], OverlapDecision]
"""Which of ``n`` queued ticks start, given the active runs, the overlap and max_active."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LaunchPass:
    """What one launch pass decided: the runs to start, and the runs asked to cancel."""

    launches: tuple[Launch, ...] = ()
    cancelled: tuple[str, ...] = ()


class ScheduleStore(Protocol):
    """Schedules, ticks, backfills and the scheduler lease."""

    def sync(self, definitions: Sequence[ScheduleDef], first_due: FirstDue) -> None:
        """Store the declarations: a new schedule is due at its first instant from now; one
        whose cron or time zone changed restarts from max(its newest instant, now); other
        changes (target, parameters, policies) apply to the ticks claimed from now on."""
        ...

    def claim_due(
        self, plan: Plan, *, limit: int = 100, names: Sequence[str] | None = None
    ) -> list[Tick]:
        """Claim due schedules (of ``names``, or all) that no one else is claiming, each in
        one transaction: lock the schedule, write its ticks (a queued tick *is* the queued
        run: its run id derives from its key), advance its next due instant. A tick that
        exists already is not written again. Paused schedules are not due."""
        ...

    def claim_triggered(
        self, plan: TriggerPlan, *, names: Sequence[str] | None = None, batch: int = 500
    ) -> list[Tick]:
        """For each trigger schedule (``after=``; of ``names``, or all) that no one else
        is claiming: its upstream pipeline's runs that succeeded (or its model alias's
        moves) since the trigger was stored and have no tick yet become ticks (keyed by
        the upstream run or the alias change: one each, however often they are read),
        ``batch`` per transaction. The ticks table is the durable cursor: nothing is read
        twice into a tick, nothing skipped."""
        ...

    def claim_files(self, name: str, listing: Mapping[str, str], *, debounce: float) -> list[Tick]:
        """Record what a file trigger sees now (path -> fingerprint: size and modification
        time) and, once the files that appeared or changed since its last tick have been
        still for ``debounce`` seconds, write one tick for them (its parameter
        ``changed_files`` lists them, so the run records what fired it). The first listing
        is the baseline: files already there fire nothing."""
        ...

    def launch_queued(
        self, owner: str, decide: Decide, *, stale_after: float, grace: float
    ) -> LaunchPass:
        """For each schedule and backfill with queued ticks that no one else is deciding:
        count its active runs (launched, and their run is not ended and beats, or not
        created yet within ``grace`` seconds), let ``decide`` say which ticks start and
        which are skipped, and mark them so in one transaction; ask the active runs to
        cancel when it says so. Runs of cancelled backfills that still run are asked to
        cancel again (a run its launcher created after the cancel)."""
        ...

    def relaunch_lost(self, owner: str, *, grace: float, attempts: int = 3) -> list[Launch]:
        """Ticks launched more than ``grace`` seconds ago whose run does not exist (their
        launcher died before starting it, or it failed before creating the run): launched
        again, until ``attempts`` launches, then ``failed``."""
        ...

    def note_log(self, tick: Tick, log: str) -> None:
        """Record where a launched tick's output goes."""
        ...

    def set_paused(self, name: str, paused: bool) -> ScheduleRecord:
        """Pause or resume a schedule (``ParameterError`` for an unknown name). A resumed
        schedule's missed instants are claimed by its catch-up policy."""
        ...

    def get_schedule(self, name: str) -> ScheduleRecord:
        """One schedule (``ParameterError`` naming the known ones if there is none)."""
        ...

    def list_schedules(self) -> list[ScheduleRecord]:
        """Every schedule, by name."""
        ...

    def ticks(
        self,
        schedule: str | None = None,
        *,
        origin: str | None = None,
        statuses: Sequence[TickStatus] = (),
        limit: int = 100,
        before: int | None = None,
    ) -> list[Tick]:
        """Ticks, newest instant first (only those of instants before ``before``, if
        given: the next page)."""
        ...

    def count_ticks(self, schedule: str, *, origin: str | None = None) -> dict[TickStatus, int]:
        """How many ticks of a schedule (or of one origin) are in each status."""
        ...

    def create_backfill(self, backfill: Backfill, ticks: Sequence[TickPlan]) -> Backfill:
        """Record a backfill and its ticks (queued) in one transaction."""
        ...

    def cancel_backfill(self, backfill_id: str, reason: str) -> list[str]:
        """Cancel a backfill as one action: its queued ticks become ``cancelled`` and every
        run it launched that has not ended is asked to cancel; the ids of those runs."""
        ...

    def backfills(self, schedule: str | None = None) -> list[Backfill]:
        """Backfills, newest first."""
        ...

    def hold_lease(self, name: str, owner: str, ttl: float) -> bool:
        """Take or renew lease ``name`` for ``ttl`` seconds: True if ``owner`` holds it now
        (it was free, expired or already ``owner``'s)."""
        ...

    def release_lease(self, name: str, owner: str) -> None:
        """Give the lease up if ``owner`` holds it."""
        ...

    def now(self) -> float:
        """The database's time."""
        ...
