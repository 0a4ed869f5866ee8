"""A cron expression in a time zone, as instants in UTC.

The arithmetic is cronsim's: on a day the clocks go back, a job with a fixed hour (``30 1 * *
*``) fires once, at the first of the two wall times, and an hourly one fires every real hour;
on a day they go forward, a job whose time does not exist fires once, at the first time that
does (as Debian's cron does). croniter 7.0 fires ``30 1 * * *`` twice on 2026-11-01 in
America/New_York, which is why legato does not use it. Time zones are ``zoneinfo``'s.

Every instant here is whole seconds since the epoch (UTC): the key a tick is stored under.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from legato.errors import ParameterError

__all__ = ["Cron", "Due", "dst_change", "upcoming"]

_MAX_STEPS = 100_000  # fires read past a wall time that is not after the start (see after())


@dataclass(frozen=True, slots=True)
class Cron:
    """``expr`` (five fields) in time zone ``tz``; both checked when built."""

    expr: str
    tz: str = "UTC"
    zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            zone = ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ParameterError(
                f"unknown time zone {self.tz!r}: use an IANA name such as 'UTC', "
                "'Europe/Berlin' or 'America/New_York'"
            ) from None
        try:
            CronSim(self.expr, datetime(2000, 1, 1, tzinfo=zone))
        except CronSimError as exc:
            raise ParameterError(
                f"{self.expr!r} is not a cron expression ({exc}): use five fields, "
                "minute hour day-of-month month day-of-week, e.g. '0 3 * * *'"
            ) from None
        object.__setattr__(self, "zone", zone)

    def after(self, instant: float) -> int:
        """The first instant the cron fires strictly after ``instant``."""
        start = datetime.fromtimestamp(instant, self.zone)
        fires = CronSim(self.expr, start)
        for _ in range(_MAX_STEPS):
            # A start inside a fold (a wall time that happens twice) may make the first wall
            # time cronsim answers one already passed in real time: read on.
            found = int(next(fires).timestamp())
            if found > instant:
                return found
        raise ParameterError(f"cron {self.expr!r} never fires after {start.isoformat()}")

    def before(self, instant: float) -> int:
        """The last instant the cron fired strictly before ``instant``."""
        start = datetime.fromtimestamp(instant, self.zone)
        fires = CronSim(self.expr, start, reverse=True)
        for _ in range(_MAX_STEPS):
            found = int(next(fires).timestamp())
            if found < instant:
                return found
        raise ParameterError(f"cron {self.expr!r} never fired before {start.isoformat()}")

    def between(self, start: float, end: float) -> list[int]:
        """The instants in ``(start, end]``, in order."""
        out: list[int] = []
        instant = self.after(start)
        while instant <= end:
            out.append(instant)
            instant = self.after(instant)
        return out

    def local(self, instant: int) -> datetime:
        """``instant`` as the schedule's wall time."""
        return datetime.fromtimestamp(instant, self.zone)


@dataclass(frozen=True, slots=True, kw_only=True)
class Due:
    """One of the next instants of a schedule, as ``legato schedules`` shows it."""

    instant: int
    utc: datetime
    local: datetime
    dst: str
    """What the clocks do on that local day (``""`` when nothing)."""


def dst_change(zone: ZoneInfo, day: datetime) -> str:
    """``"clocks go forward 1:00"`` / ``"clocks go back 0:30"`` when the UTC offset changes
    on ``day``'s local date in ``zone``, else ``""``."""
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    end = (datetime(day.year, day.month, day.day) + timedelta(days=1)).replace(tzinfo=zone)
    change = (end.utcoffset() or timedelta()) - (start.utcoffset() or timedelta())
    if not change:
        return ""
    minutes = abs(int(change.total_seconds())) // 60
    way = "forward" if change > timedelta() else "back"
    return f"clocks go {way} {minutes // 60}:{minutes % 60:02d}"


def upcoming(cron: Cron, after: float, count: int) -> list[Due]:
    """The next ``count`` instants after ``after``, each with its UTC and local time and
    whether its local day is a DST change."""
    out = []
    instant = after
    for _ in range(count):
        instant = cron.after(instant)
        local = cron.local(int(instant))
        out.append(
            Due(
                instant=int(instant),
                utc=datetime.fromtimestamp(instant, UTC),
                local=local,
                dst=dst_change(cron.zone, local),
            )
        )
    return out
