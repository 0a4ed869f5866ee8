"""Several scheduler processes over one store, one of them SIGKILLed again and again, over
hundreds of due instants: every instant gets exactly one tick and one run, none twice,
none lost. On PostgreSQL all act at once (``FOR UPDATE SKIP LOCKED``); on SQLite one holds
the lease at a time and another takes over when it dies."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from legato.model.schedules import Catchup, Overlap, ScheduleDef, TickStatus
from legato.store.sql.run_tables import runs
from legato.store.sql.schedule_tables import scheduler_leases
from schedules.conftest import Stores

CHILD = Path(__file__).with_name("scheduler_child.py")
FIRST = int(datetime(2017, 1, 1, tzinfo=UTC).timestamp())  # ten yearly instants ago


def seed(stores: Stores, schedules: int) -> int:
    """``schedules`` yearly schedules, each due at ten past instants (all run: ``all``,
    ``allow``): the number of due instants."""
    definitions = [
        ScheduleDef(
            name=f"s{i:03d}",
            target="pipelines.py:job",
            cron="0 0 1 1 *",
            catchup=Catchup.ALL,
            overlap=Overlap.ALLOW,
        )
        for i in range(schedules)
    ]
    stores.schedules.sync(definitions, lambda d, after: FIRST)
    year = datetime.fromtimestamp(stores.schedules.now(), UTC).year
    return schedules * (year - 2017 + 1)


def start(url: str, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), url, mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def drive(stores: Stores, mode: str, count: int, due: int, *, seconds: float) -> list[str]:
    """Run ``count`` schedulers, SIGKILL one (the first) every 0.3-1 s and start it again,
    until every due instant has its run (or ``seconds`` pass). Their output."""
    rng = random.Random(7)
    children = [start(stores.url, mode) for _ in range(count)]
    output: list[str] = []
    kills_mid_work = 0
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            time.sleep(rng.uniform(0.3, 1.0))
            victim = children[0]
            kills_mid_work += 0 < _runs(stores) < due
            victim.kill()
            output.append(victim.communicate()[0])
            children[0] = start(stores.url, mode)
            if _runs(stores) >= due:
                break
        time.sleep(1.5)  # lost launches are launched again after their grace (1 s)
        while time.monotonic() < deadline and _runs(stores) < due:
            time.sleep(0.2)
    finally:
        for child in children:
            child.kill()
            output.append(child.communicate()[0])
    assert kills_mid_work >= 2  # the kills landed while instants were still being worked
    return output


def _runs(stores: Stores) -> int:
    with stores.runs.engine.connect() as c:
        return int(c.execute(sa.select(sa.func.count()).select_from(runs)).scalar_one())


def check_exactly_once(stores: Stores, due: int, output: list[str]) -> None:
    ticks = stores.schedules.ticks(limit=100_000)
    keys = [(t.schedule, t.nominal) for t in ticks]
    assert len(keys) == len(set(keys)) == due  # no instant twice, none missing
    assert {t.status for t in ticks} == {TickStatus.LAUNCHED}
    with stores.runs.engine.connect() as c:
        run_ids = list(c.execute(sa.select(runs.c.run_id)).scalars())
    assert sorted(run_ids) == sorted(t.run_id for t in ticks)  # one run each, no other
    # A launch repeated after a kill was refused by the run id, never made a second run.
    assert all("Traceback" not in text for text in output), "\n".join(output)


def test_three_postgres_schedulers_one_killed_repeatedly(postgres_stores: Stores) -> None:
    due = seed(postgres_stores, 20)
    output = drive(postgres_stores, "many", 3, due, seconds=60)
    check_exactly_once(postgres_stores, due, output)


def test_two_sqlite_schedulers_one_active_at_a_time(sqlite_stores: Stores) -> None:
    due = seed(sqlite_stores, 20)
    output = drive(sqlite_stores, "single", 2, due, seconds=60)
    check_exactly_once(sqlite_stores, due, output)


def test_a_second_sqlite_scheduler_waits_then_takes_over(sqlite_stores: Stores) -> None:
    first = start(sqlite_stores.url, "single")
    try:
        holder = _wait_for_holder(sqlite_stores, None)
        second = start(sqlite_stores.url, "single")
        try:
            time.sleep(2.0)
            assert _holder(sqlite_stores) == holder  # the second waits
            first.kill()
            assert _wait_for_holder(sqlite_stores, holder) != holder
        finally:
            second.kill()
            second.communicate()
    finally:
        first.kill()
        first.communicate()


def _holder(stores: Stores) -> str | None:
    with stores.runs.engine.connect() as c:
        found = c.execute(sa.select(scheduler_leases.c.owner)).scalar()
    return str(found) if found is not None else None


def _wait_for_holder(stores: Stores, other_than: str | None) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = _holder(stores)
        if found is not None and found != other_than:
            return found
        time.sleep(0.1)
    raise AssertionError("no scheduler took the lease")


@pytest.mark.exhaustive
@pytest.mark.parametrize("mode", ["postgres", "sqlite"])
def test_many_schedulers_over_a_thousand_instants(
    mode: str, request: pytest.FixtureRequest
) -> None:
    stores: Stores = request.getfixturevalue(f"{mode}_stores")
    due = seed(stores, 100)
    output = drive(stores, "many" if mode == "postgres" else "single", 3, due, seconds=240)
    check_exactly_once(stores, due, output)
