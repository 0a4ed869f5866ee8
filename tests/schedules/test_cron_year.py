"""A year of hourly and daily crons in zones whose clocks change (by an hour, by half an
hour, at midnight), claimed by a scheduler on a fake clock: exactly the instants an
independent oracle names, none twice, none missing."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from legato.errors import ParameterError
from legato.model.schedules import Catchup, TickStatus
from legato.schedules.cron import Cron, dst_change, upcoming
from legato.schedules.planning import plan_claim

ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Africa/Cairo"]
YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
YEAR_END = datetime(2027, 1, 1, tzinfo=UTC)


def hourly_oracle(zone: ZoneInfo) -> list[int]:
    """Every real instant whose wall clock reads HH:00: both passes of a repeated hour,
    none for an hour the clocks skip."""
    out = []
    t = int(YEAR_START.timestamp())
    while t < YEAR_END.timestamp():
        local = datetime.fromtimestamp(t, zone)
        if local.minute == 0:
            out.append(t)
        t += 15 * 60  # every offset in these zones is a multiple of 15 minutes
    return out


def daily_oracle(zone: ZoneInfo, hour: int, minute: int) -> list[int]:
    """One instant per local date: the first at which the wall clock reads hour:minute or
    later (the time itself, its first pass when it repeats, or the end of the gap when the
    clocks skip it)."""
    out = []
    day = datetime(2025, 12, 31)
    while day < datetime(2027, 1, 2):
        wall = day.replace(hour=hour, minute=minute)
        t = int(wall.replace(tzinfo=zone).timestamp()) - 3 * 3600
        while datetime.fromtimestamp(t, zone).replace(tzinfo=None) < wall:
            t += 60
        out.append(t)
        day += timedelta(days=1)
    return [t for t in out if YEAR_START.timestamp() <= t < YEAR_END.timestamp()]


def claimed_over_year(cron: Cron, catchup: Catchup, seed: int) -> list[tuple[int, TickStatus]]:
    """Ticks a scheduler claims over the year, its passes at random moments (a few seconds
    to three hours apart: some instants are claimed on time, some late, several at once)."""
    rng = random.Random(seed)
    now = YEAR_START.timestamp()
    next_due = cron.after(now - 1)
    ticks: list[tuple[int, TickStatus]] = []
    while next_due < YEAR_END.timestamp():
        now += rng.choice([5, 60, 900, 3600, 3 * 3600])
        if next_due <= now:
            claim = plan_claim(cron, next_due, now, catchup)
            ticks += [(t.nominal, t.status) for t in claim.ticks]
            next_due = claim.next_due
    return [(t, s) for t, s in ticks if t < YEAR_END.timestamp()]


@pytest.mark.parametrize("zone", ZONES)
def test_hourly_cron_over_a_year_claims_every_real_hour_once(zone: str) -> None:
    cron = Cron("0 * * * *", zone)
    ticks = claimed_over_year(cron, Catchup.ALL, seed=1)
    instants = [t for t, _ in ticks]
    assert instants == hourly_oracle(ZoneInfo(zone))
    assert len(set(instants)) == len(instants)
    assert all(status is TickStatus.QUEUED for _, status in ticks)


EXPECTED_HOURLY = {
    # 8,760 hours; where the clocks move by an hour one HH:00 is skipped in spring and one
    # repeated in autumn; Lord Howe's half hour skips 02:00 and repeats none.
    "America/New_York": 8760,
    "Europe/London": 8760,
    "Australia/Lord_Howe": 8759,
    "Africa/Cairo": 8760,
}


@pytest.mark.parametrize("zone", ZONES)
def test_hourly_counts(zone: str) -> None:
    assert len(hourly_oracle(ZoneInfo(zone))) == EXPECTED_HOURLY[zone]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize(("hour", "minute"), [(1, 30), (2, 30), (0, 30), (23, 30)])
def test_daily_cron_over_a_year_fires_once_a_local_day(zone: str, hour: int, minute: int) -> None:
    cron = Cron(f"{minute} {hour} * * *", zone)
    ticks = claimed_over_year(cron, Catchup.LATEST, seed=hour)
    instants = [t for t, _ in ticks]
    assert instants == daily_oracle(ZoneInfo(zone), hour, minute)
    local_days = [datetime.fromtimestamp(t, ZoneInfo(zone)).date() for t in instants]
    assert len(set(local_days)) == len(local_days)  # never twice on one local day
    assert 364 <= len(instants) <= 366  # the year is counted in UTC, days in local time


def test_new_york_fall_back_fires_30_1_once_and_hourly_twice_at_1() -> None:
    fall_back = datetime(2026, 11, 1, 4, 0, tzinfo=UTC).timestamp()  # 00:00 EDT
    daily = Cron("30 1 * * *", "America/New_York")
    assert daily.between(fall_back, fall_back + 86400) == [int(fall_back) + 5400]
    hourly = Cron("0 1 * * *", "America/New_York")
    assert hourly.between(fall_back, fall_back + 86400) == [int(fall_back) + 3600]
    every = Cron("0 * * * *", "America/New_York")
    assert len(every.between(fall_back - 1, fall_back + 24 * 3600)) == 25  # a 25-hour day


def test_latest_catchup_records_the_missed_instants() -> None:
    cron = Cron("0 * * * *", "UTC")
    start = int(YEAR_START.timestamp())
    claim = plan_claim(cron, start, start + 5 * 3600 + 10, Catchup.LATEST)
    assert [t.status for t in claim.ticks] == [TickStatus.MISSED] * 5 + [TickStatus.QUEUED]
    assert claim.next_due == start + 6 * 3600
    none = plan_claim(cron, start, start + 5 * 3600 + 10, Catchup.NONE)
    assert [t.status for t in none.ticks] == [TickStatus.MISSED] * 5 + [TickStatus.QUEUED]
    late = plan_claim(cron, start, start + 5 * 3600 + 1000, Catchup.NONE)
    assert all(t.status is TickStatus.MISSED for t in late.ticks)
    assert "no scheduler ran" in late.ticks[0].reason


def test_a_long_backlog_is_claimed_over_several_passes_none_dropped() -> None:
    cron = Cron("* * * * *", "UTC")
    start = int(YEAR_START.timestamp())
    now = start + 1200 * 60 + 5
    seen: list[tuple[int, TickStatus]] = []
    due = start
    while due <= now:
        claim = plan_claim(cron, due, now, Catchup.LATEST, cap=500)
        assert len(claim.ticks) <= 500
        seen += [(t.nominal, t.status) for t in claim.ticks]
        due = claim.next_due
    assert [t for t, _ in seen] == list(range(start, now, 60))
    queued = [t for t, s in seen if s is TickStatus.QUEUED]
    assert queued == [now - 65, now - 5]  # the newest, and any still on time (ON_TIME)


def test_interval_start_is_the_previous_instant() -> None:
    cron = Cron("0 3 * * *", "Europe/Berlin")
    start = int(datetime(2026, 3, 28, tzinfo=UTC).timestamp())
    claim = plan_claim(cron, cron.after(start), cron.after(start) + 1, Catchup.LATEST)
    (tick,) = claim.ticks
    assert tick.nominal - tick.interval_start == 86400


def test_upcoming_flags_the_days_the_clocks_change() -> None:
    cron = Cron("30 1 * * *", "America/New_York")
    due = upcoming(cron, datetime(2026, 10, 30, tzinfo=UTC).timestamp(), 4)
    flagged = [d.local.date().isoformat() for d in due if d.dst]
    assert flagged == ["2026-11-01"]
    assert dst_change(ZoneInfo("Australia/Lord_Howe"), datetime(2026, 10, 4)) == (
        "clocks go forward 0:30"
    )


@pytest.mark.parametrize(
    ("expr", "tz", "needle"),
    [("61 * * * *", "UTC", "not a cron expression"), ("0 3 * * *", "Mars/Base", "time zone")],
)
def test_bad_cron_or_zone_is_refused_saying_what_to_write(expr: str, tz: str, needle: str) -> None:
    with pytest.raises(ParameterError, match=needle):
        Cron(expr, tz)


def test_overlap_decisions() -> None:
    from legato.model.schedules import Overlap
    from legato.schedules.planning import decide_overlap

    skip = decide_overlap(3, [], Overlap.SKIP, 1)
    assert skip.launch == (2,)  # the newest runs
    assert [i for i, _ in skip.skip] == [0, 1]
    busy = decide_overlap(1, ["r1"], Overlap.SKIP, 1)
    assert busy.launch == ()
    assert "r1" in busy.skip[0][1]
    assert decide_overlap(3, ["r1"], Overlap.QUEUE, 2).launch == (0,)  # oldest first
    assert decide_overlap(3, ["r1", "r2"], Overlap.ALLOW, 1).launch == (0, 1, 2)
    cancel = decide_overlap(2, ["r1"], Overlap.CANCEL_PREVIOUS, 1)
    assert cancel.launch == (1,)
    assert cancel.cancel_active
