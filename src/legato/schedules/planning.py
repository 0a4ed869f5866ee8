"""What a scheduler does with a due schedule and with queued ticks: pure decisions, given
the database's time, so they are tested over a year of fake clock without a store.

``plan_claim`` turns the instants due since a schedule's ``next_due`` into ticks (queued,
or ``missed`` by the catch-up policy) and the next instant to claim; the store writes them
in one transaction (:meth:`legato.store.schedules.ScheduleStore.claim_due`).
``decide_overlap`` says which queued ticks start now, which are skipped and whether the
active runs are asked to cancel.
"""

from __future__ import annotations

from collections.abc import Sequence

from legato.model.schedules import (
    Catchup,
    ClaimPlan,
    Overlap,
    OverlapDecision,
    ScheduleRecord,
    TickPlan,
    TickStatus,
)
from legato.schedules.cron import Cron

__all__ = ["CLAIM_CAP", "ON_TIME", "decide_overlap", "plan_claim", "plan_triggered"]

CLAIM_CAP = 500
"""Ticks one claim writes at most; a longer backlog (a scheduler down for long under a
one-minute cron) is worked off over several passes, oldest first, none dropped."""
ON_TIME = 120.0
"""Seconds after its instant within which a tick counts as on time: ``catchup="none"``
still runs it (a scheduler's pass may come a little late)."""


def plan_claim(
    cron: Cron,
    next_due: int,
    now: float,
    catchup: Catchup,
    *,
    cap: int = CLAIM_CAP,
    on_time: float = ON_TIME,
) -> ClaimPlan:
    """The ticks due at ``now`` from ``next_due`` on (at most ``cap``), by ``catchup``:
    ``latest`` queues the newest due instant and records the others as missed, ``all``
    queues them all, ``none`` queues only those still on time. With more than ``cap`` due,
    the oldest ``cap`` are written and the rest wait for the next claim (``latest`` then
    queues only the newest of the last batch)."""
    due: list[int] = []
    instant = next_due
    while instant <= now and len(due) < cap:
        due.append(instant)
        instant = cron.after(instant)
    more = instant <= now  # the backlog goes on past this claim
    ticks = []
    for index, nominal in enumerate(due):
        newest = index == len(due) - 1 and not more
        status, reason = _catchup(catchup, nominal, now, newest, on_time)
        ticks.append(
            TickPlan(
                nominal=nominal,
                interval_start=cron.before(nominal),
                status=status,
                reason=reason,
            )
        )
    return ClaimPlan(ticks=tuple(ticks), next_due=instant, last_nominal=due[-1] if due else None)


def plan_triggered(
    record: ScheduleRecord, successes: Sequence[tuple[str, float, float]], now: float
) -> tuple[TickPlan, ...]:
    """The ticks of what triggered a schedule, ``(origin, start, end)`` oldest first (an
    upstream run that succeeded: ``after:<run id>``, its span; a move of a model alias:
    ``alias:<change>:v<version>``, its time): one each, its instant the end. Catch-up
    applies as to a cron's missed instants (a trigger defaults to ``all``)."""
    out = []
    for index, (origin, created, ended) in enumerate(successes):
        newest = index == len(successes) - 1
        status, reason = _catchup(record.definition.catchup, int(ended), now, newest, ON_TIME)
        out.append(
            TickPlan(
                nominal=int(ended),
                interval_start=int(created),
                status=status,
                reason=reason,
                origin=origin,
            )
        )
    return tuple(out)


def _catchup(
    catchup: Catchup, nominal: int, now: float, newest: bool, on_time: float
) -> tuple[TickStatus, str]:
    late = now - nominal
    if late <= on_time or catchup is Catchup.ALL or (catchup is Catchup.LATEST and newest):
        return TickStatus.QUEUED, ""
    why = "a newer instant ran instead" if catchup is Catchup.LATEST else "catchup is 'none'"
    return TickStatus.MISSED, f"no scheduler ran at the instant ({int(late)} s late); {why}"


def decide_overlap(
    queued: int, active: Sequence[str], overlap: Overlap, max_active: int
) -> OverlapDecision:
    """What to do with ``queued`` ticks (oldest first) while the runs ``active`` are active."""
    free = max(0, max_active - len(active))
    everything = tuple(range(queued))
    match overlap:
        case Overlap.ALLOW:
            return OverlapDecision(launch=everything, skip=())
        case Overlap.QUEUE:
            return OverlapDecision(launch=everything[:free], skip=())
        case Overlap.SKIP:
            # The newest ticks take the free slots: a skip is about not running stale work.
            keep = everything[len(everything) - free :] if free else ()
            shown = ", ".join(active[:3]) + (" ..." if len(active) > 3 else "")
            busy = f"{len(active)} run(s) active ({shown}); max_active={max_active}"
            reason = busy if active else f"max_active={max_active} taken by a newer tick"
            return OverlapDecision(
                launch=keep, skip=tuple((i, reason) for i in everything if i not in keep)
            )
        case Overlap.CANCEL_PREVIOUS:
            if not queued:
                return OverlapDecision(launch=(), skip=())
            # The newest runs; older queued ticks are superseded by it.
            keep = everything[-max(1, max_active) :]
            superseded = "superseded by a newer tick (overlap 'cancel_previous')"
            return OverlapDecision(
                launch=keep,
                skip=tuple((i, superseded) for i in everything[: len(everything) - len(keep)]),
                cancel_active=bool(active),
            )
    raise AssertionError(overlap)
