"""The schedule store on SQLite and PostgreSQL: claims, overlap against the runs the store
counts as active, lost launches, backfills, the lease, and the races other schedulers
lose (a redeploy while planning, a cron edit, a pause of three days, a one-minute cron on a
long pipeline)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest
import sqlalchemy as sa

from legato.model.runs import RunInfo
from legato.model.schedules import (
    Backfill,
    Catchup,
    ClaimPlan,
    Overlap,
    ScheduleDef,
    ScheduleRecord,
    TickPlan,
    TickStatus,
    tick_run_id,
)
from legato.model.states import RunState
from legato.schedules.cron import Cron
from legato.schedules.planning import decide_overlap, plan_claim
from legato.schedules.scheduler import first_due, plan
from legato.store.sql import SqlRunStore
from legato.store.sql.run_tables import runs
from legato.store.sql.schedule_tables import schedules
from legato.store.sql.schedules import SqlScheduleStore
from schedules.conftest import Stores

HOUR = 3600


def define(name: str = "nightly", **changes: object) -> ScheduleDef:
    values: dict[str, object] = {
        "name": name,
        "target": "pipelines.py:train",
        "cron": "0 * * * *",
        "tz": "UTC",
        "catchup": Catchup.LATEST,
        "overlap": Overlap.SKIP,
        "max_active": 1,
        "params": {"size": 3},
        "interval_params": ("interval_start", "interval_end"),
    }
    values.update(changes)
    return ScheduleDef(**values)  # type: ignore[arg-type]


def due_since(hours: int) -> object:
    """A ``first_due`` that makes a new schedule due ``hours`` instants ago."""

    def first(definition: ScheduleDef, after: float) -> int:
        return Cron(definition.cron, definition.tz).after(after - hours * HOUR - 1)

    return first


def set_next_due(store: SqlRunStore, name: str, instant: int) -> None:
    with store.engine.begin() as c:
        c.execute(sa.update(schedules).where(schedules.c.name == name).values(next_due=instant))


def start_run(
    store: SqlRunStore, run_id: str, *, state: RunState = RunState.RUNNING, ended: bool = False
) -> None:
    """What the launched ``legato run`` does first: create the run under the tick's id."""
    now = time.time()
    store.create_run(
        RunInfo(
            run_id=run_id,
            pipeline="train",
            target="pipelines.py:train",
            state=state,
            created_at=now,
            heartbeat_at=now,
            ended_at=now if ended else None,
            owner="host:1:x",
        )
    )


def statuses(s: Stores, name: str) -> list[TickStatus]:
    return [t.status for t in reversed(s.schedules.ticks(name, limit=10_000))]


def test_a_claim_writes_ticks_with_derived_run_ids_and_advances(stores: Stores) -> None:
    s = stores.schedules
    s.sync([define()], due_since(5))  # type: ignore[arg-type]
    claimed = s.claim_due(plan)
    assert [t.status for t in claimed] == [TickStatus.MISSED] * 4 + [TickStatus.QUEUED]
    assert [t.run_id for t in claimed] == [tick_run_id("nightly", "", t.nominal) for t in claimed]
    assert all(t.nominal - t.interval_start == HOUR for t in claimed)
    record = s.get_schedule("nightly")
    assert record.last_nominal == claimed[-1].nominal
    assert record.next_due == claimed[-1].nominal + HOUR
    assert s.claim_due(plan) == []  # nothing is due twice


def test_queued_tick_launches_with_its_interval_as_parameters(stores: Stores) -> None:
    s = stores.schedules
    s.sync([define()], due_since(1))  # type: ignore[arg-type]
    (tick,) = s.claim_due(plan)
    done = s.launch_queued("me", decide_overlap, stale_after=30, grace=60)
    (launch,) = done.launches
    assert launch.tick.run_id == tick.run_id
    assert launch.tick.status is TickStatus.LAUNCHED
    assert launch.params["size"] == 3
    assert launch.params["interval_end"].startswith(
        time.strftime("%Y-%m-%dT", time.gmtime(tick.nominal))
    )
    assert s.launch_queued("me", decide_overlap, stale_after=30, grace=60).launches == ()


def _claimers(url: str, n: int) -> list[SqlScheduleStore]:
    return [SqlScheduleStore(SqlRunStore(url).engine) for _ in range(n)]


def test_a_redeploy_while_planning_makes_no_second_tick(stores: Stores) -> None:
    """Two schedulers (a redeploy's old and new one) sync and claim the same due schedule
    at the same moment: one tick per instant, one run id each."""
    stores.schedules.sync([define()], due_since(3))  # type: ignore[arg-type]
    claimers = _claimers(stores.url, 4)
    barrier = threading.Barrier(len(claimers))
    got: list[list[object]] = [[] for _ in claimers]

    def work(i: int) -> None:
        barrier.wait()
        claimers[i].sync([define()], due_since(3))  # type: ignore[arg-type]
        got[i] = list(claimers[i].claim_due(plan))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(claimers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(len(g) for g in got) == 3
    ticks = stores.schedules.ticks("nightly")
    assert len(ticks) == 3 == len({t.nominal for t in ticks})


def test_a_cron_edit_restarts_from_the_later_of_last_instant_and_now(stores: Stores) -> None:
    s = stores.schedules
    s.sync([define()], due_since(2))  # type: ignore[arg-type]
    before = s.claim_due(plan)
    last = before[-1].nominal
    # Edit the cron to one that also fires at the instant already claimed: not again.
    s.sync([define(cron="*/30 * * * *")], first_due)
    record = s.get_schedule("nightly")
    assert record.next_due is not None
    assert record.next_due > max(last, s.now() - 1)
    set_next_due(stores.runs, "nightly", last)  # even a store pointed back at it
    s.claim_due(plan)
    ticks = s.ticks("nightly")
    assert len(ticks) == len({(t.nominal, t.origin) for t in ticks})
    assert [t.nominal for t in ticks].count(last) == 1


def test_pause_three_days_then_resume(stores: Stores) -> None:
    s = stores.schedules
    s.sync([define()], due_since(72))  # type: ignore[arg-type]
    s.set_paused("nightly", True)
    assert s.claim_due(plan) == []
    s.set_paused("nightly", False)
    claimed = s.claim_due(plan)
    assert [t.status for t in claimed].count(TickStatus.QUEUED) == 1
    assert [t.status for t in claimed].count(TickStatus.MISSED) == 71
    assert claimed[-1].status is TickStatus.QUEUED  # the newest runs


def test_a_one_minute_cron_on_a_long_pipeline_with_skip(stores: Stores) -> None:
    """A run that lasts 150 s under a one-minute cron: the two ticks it overlaps are
    skipped, each saying which run was active, and the next runs once it has ended."""
    s = stores.schedules
    s.sync([define(cron="* * * * *")], due_since(0))  # type: ignore[arg-type]
    one_at_a_time = _one_tick_per_claim
    now = int(s.now())
    set_next_due(stores.runs, "nightly", now - now % 60 - 4 * 60)
    (first,) = s.claim_due(one_at_a_time, limit=1)
    (launched,) = s.launch_queued("me", decide_overlap, stale_after=30, grace=60).launches
    start_run(stores.runs, launched.tick.run_id)
    for _ in range(2):
        s.claim_due(one_at_a_time, limit=1)
        assert s.launch_queued("me", decide_overlap, stale_after=30, grace=60).launches == ()
    skipped = s.ticks("nightly", statuses=[TickStatus.SKIPPED])
    assert len(skipped) == 2
    assert all(first.run_id in t.reason for t in skipped)
    with stores.runs.engine.begin() as c:
        c.execute(sa.update(runs).where(runs.c.run_id == first.run_id).values(state="succeeded"))
    s.claim_due(one_at_a_time, limit=1)
    assert len(s.launch_queued("me", decide_overlap, stale_after=30, grace=60).launches) == 1
    assert statuses(stores, "nightly") == [
        TickStatus.LAUNCHED,
        TickStatus.SKIPPED,
        TickStatus.SKIPPED,
        TickStatus.LAUNCHED,
    ]


def _one_tick_per_claim(record: ScheduleRecord, now: float) -> ClaimPlan:
    d = record.definition
    assert record.next_due is not None
    return plan_claim(Cron(d.cron, d.tz), record.next_due, now, Catchup.ALL, cap=1)


def test_a_dead_orchestrator_frees_its_slot_by_heartbeat(stores: Stores) -> None:
    s = stores.schedules
    s.sync([define(overlap=Overlap.QUEUE, catchup=Catchup.ALL)], due_since(2))  # type: ignore[arg-type]
    s.claim_due(plan)
    (first,) = s.launch_queued("me", decide_overlap, stale_after=30, grace=60).launches
    start_run(stores.runs, first.tick.run_id)
    assert s.launch_queued("me", decide_overlap, stale_after=30, grace=60).launches == ()
    with stores.runs.engine.begin() as c:  # its orchestrator stopped beating long ago
        c.execute(
            sa.update(runs).where(runs.c.run_id == first.tick.run_id).values(heartbeat_at=0.0)
        )
    assert len(s.launch_queued("me", decide_overlap, stale_after=30, grace=60).launches) == 1


def test_cancel_previous_asks_the_active_run_to_cancel(stores: Stores) -> None:
    s = stores.schedules
    s.sync([define(overlap=Overlap.CANCEL_PREVIOUS)], due_since(1))  # type: ignore[arg-type]
    s.claim_due(plan)
    (first,) = s.launch_queued("me", decide_overlap, stale_after=30, grace=60).launches
    start_run(stores.runs, first.tick.run_id)
    set_next_due(stores.runs, "nightly", first.tick.nominal + 60)  # any later instant
    s.claim_due(_one_tick_per_claim, limit=1)
    done = s.launch_queued("me", decide_overlap, stale_after=30, grace=60)
    assert done.cancelled == (first.tick.run_id,)
    assert len(done.launches) == 1
    assert stores.runs.cancel_requested(first.tick.run_id)


def test_a_lost_launch_is_launched_again_then_failed(stores: Stores) -> None:
    s = stores.schedules
    s.sync([define()], due_since(1))  # type: ignore[arg-type]
    s.claim_due(plan)
    (launch,) = s.launch_queued("me", decide_overlap, stale_after=30, grace=60).launches
    assert s.relaunch_lost("other", grace=60) == []  # within its grace
    again = s.relaunch_lost("other", grace=-1)
    assert [a.tick.run_id for a in again] == [launch.tick.run_id]
    assert s.relaunch_lost("other", grace=-1)  # the third launch
    assert s.relaunch_lost("other", grace=-1) == []
    (failed,) = s.ticks("nightly")
    assert failed.status is TickStatus.FAILED
    assert "never started in 3 launches" in failed.reason


def _backfill(s: SqlScheduleStore, n: int, max_active: int) -> Backfill:
    cron = Cron("0 * * * *")
    base = 1_767_225_600  # 2026-01-01T00:00Z
    plans: Sequence[TickPlan] = [
        TickPlan(
            nominal=base + i * HOUR, interval_start=base + (i - 1) * HOUR, status=TickStatus.QUEUED
        )
        for i in range(1, n + 1)
    ]
    assert cron.after(base) == base + HOUR
    return s.create_backfill(
        Backfill(
            backfill_id="bf-1",
            schedule="nightly",
            start=base,
            end=base + n * HOUR,
            max_active=max_active,
            created_at=0.0,
        ),
        plans,
    )


def test_a_backfill_cancelled_halfway_leaves_nothing_queued_or_running(stores: Stores) -> None:
    s = stores.schedules
    s.sync([define()], due_since(0))  # type: ignore[arg-type]
    _backfill(s, 100, 4)
    ran = 0
    while ran < 50:
        done = s.launch_queued("me", decide_overlap, stale_after=30, grace=60)
        assert len(done.launches) <= 4
        for launch in done.launches:
            start_run(stores.runs, launch.tick.run_id)
        ran += len(done.launches)
        for launch in done.launches[:2]:  # some end, freeing slots
            with stores.runs.engine.begin() as c:
                c.execute(
                    sa.update(runs)
                    .where(runs.c.run_id == launch.tick.run_id)
                    .values(state="succeeded")
                )
    asked = s.cancel_backfill("bf-1", "enough")
    assert asked  # the ones still running
    counts = s.count_ticks("nightly", origin="bf-1")
    assert TickStatus.QUEUED not in counts
    assert counts[TickStatus.CANCELLED] == 100 - counts[TickStatus.LAUNCHED]
    assert s.launch_queued("me", decide_overlap, stale_after=30, grace=60).launches == ()
    for run_id in asked:
        assert stores.runs.cancel_requested(run_id) == "enough"


def test_one_lease_holder_at_a_time(stores: Stores) -> None:
    s = stores.schedules
    assert s.hold_lease("scheduler", "a", 0.5)
    assert not s.hold_lease("scheduler", "b", 0.5)
    assert s.hold_lease("scheduler", "a", 0.5)  # renewed
    time.sleep(0.7)
    assert s.hold_lease("scheduler", "b", 0.5)  # expired: taken over
    assert not s.hold_lease("scheduler", "a", 0.5)
    s.release_lease("scheduler", "b")
    assert s.hold_lease("scheduler", "a", 0.5)


def test_unknown_schedule_names_the_known_ones(stores: Stores) -> None:
    stores.schedules.sync([define()], first_due)
    with pytest.raises(Exception, match="nightly"):
        stores.schedules.set_paused("nighlty", True)


def test_schedule_tables_match_the_migration(sqlite_stores: Stores) -> None:
    """A store migrated step by step has the tables a new one is created with."""
    from legato.store.sql.connect import upgrade

    url = sqlite_stores.url.replace("legato.db", "migrated.db")
    fresh = SqlRunStore(url, upgrade_schema=False)
    upgrade(fresh.engine, "0003")
    upgrade(fresh.engine)
    inspector = sa.inspect(fresh.engine)
    for table in (
        "schedules",
        "schedule_ticks",
        "schedule_backfills",
        "schedule_files",
        "scheduler_leases",
    ):
        migrated = {c["name"] for c in inspector.get_columns(table)}
        created = {c["name"] for c in sa.inspect(sqlite_stores.runs.engine).get_columns(table)}
        assert migrated == created
    fresh.close()


def _upstream(store: SqlRunStore, n: int, *, state: RunState = RunState.SUCCEEDED) -> list[str]:
    """``n`` ended runs of pipeline ``train``, as their orchestrators leave them (written in
    one transaction: the fixture, not what is under test)."""
    first = f"first-{state.value}-{time.time_ns()}"  # through the store: the pipeline's row
    start_run(store, first, state=state, ended=True)
    now = time.time()
    made = [f"up{i:05d}{state.value[:3]}{time.time_ns() % 10**9:09d}" for i in range(n - 1)]
    values = {
        "pipeline": "train",
        "target": "pipelines.py:train",
        "fingerprint": "",
        "state": state.value,
        "params": "{}",
        "executor": "threads",
        "created_at": now,
        "ended_at": now,
        "heartbeat_at": now,
        "owner": "host:1:x",
        "epoch": 0,
        "reason": "",
        "environment": "{}",
        "last_seq": 0,
    }
    with store.engine.begin() as c:
        c.execute(sa.insert(runs), [{**values, "run_id": run_id} for run_id in made])
    return [first, *made]


def test_a_thousand_upstream_successes_make_a_thousand_runs(stores: Stores) -> None:
    """A trigger reads the upstream's successes through the ticks table: each success makes
    one tick, none merged, none lost, however often and by how many schedulers it is read;
    failures and successes from before the trigger existed make none."""
    from legato.schedules.planning import plan_triggered

    s = stores.schedules
    _upstream(stores.runs, 3)  # before the trigger: not its business
    time.sleep(0.05)
    trigger = define(
        "after-train",
        cron="",
        after="train",
        catchup=Catchup.ALL,
        overlap=Overlap.ALLOW,
        interval_params=("upstream_run",),
    )
    s.sync([trigger], first_due)
    successes = _upstream(stores.runs, 1000)
    _upstream(stores.runs, 5, state=RunState.FAILED)
    claimers = _claimers(stores.url, 3)
    got: list[int] = [0] * len(claimers)

    def work(i: int) -> None:
        for _ in range(3):
            got[i] += len(claimers[i].claim_triggered(plan_triggered, batch=200))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(claimers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(got) == 1000
    ticks = s.ticks("after-train", limit=10_000)
    assert sorted(t.origin.removeprefix("after:") for t in ticks) == sorted(successes)
    assert {t.status for t in ticks} == {TickStatus.QUEUED}
    assert s.claim_triggered(plan_triggered) == []
    launched = s.launch_queued("me", decide_overlap, stale_after=30, grace=60).launches
    assert len(launched) == 1000
    assert {launch.params["upstream_run"] for launch in launched} == set(successes)


def test_each_move_of_a_followed_alias_makes_one_tick(stores: Stores) -> None:
    from legato.schedules.declare import alias_moved
    from legato.schedules.planning import plan_triggered
    from legato.store.sql.registry_tables import alias_changes

    s = stores.schedules

    def move(alias: str, version: int | None) -> None:
        with stores.runs.engine.begin() as c:
            c.execute(
                sa.insert(alias_changes).values(
                    name="churn",
                    alias=alias,
                    version=version,
                    previous=None,
                    action="promote",
                    reason="",
                    actor="me",
                    at=time.time(),
                )
            )

    move("production", 1)  # before the trigger: not its business
    time.sleep(0.05)
    follow = define(
        "on-promote",
        cron="",
        after=alias_moved("churn", "production"),
        catchup=Catchup.ALL,
        overlap=Overlap.ALLOW,
        interval_params=("model_version",),
    )
    s.sync([follow], first_due)
    move("production", 2)
    move("staging", 3)  # another alias
    move("production", None)  # removed: it names no version to act on
    move("production", 4)
    claimed = s.claim_triggered(plan_triggered)
    assert len(claimed) == 2
    assert s.claim_triggered(plan_triggered) == []
    launched = s.launch_queued("me", decide_overlap, stale_after=30, grace=60).launches
    assert sorted(launch.params["model_version"] for launch in launched) == ["2", "4"]


def test_changed_files_make_one_tick_once_they_are_still(stores: Stores, tmp_path: object) -> None:
    from pathlib import Path

    from legato.schedules.declare import files_changed
    from legato.schedules.files import list_files

    folder = Path(str(tmp_path)) / "incoming"
    folder.mkdir()
    (folder / "old.csv").write_text("there before the trigger")
    s = stores.schedules
    s.sync(
        [
            define(
                "on-files",
                cron="",
                after=files_changed(folder, debounce=0.3),
                interval_params=("changed_files",),
                overlap=Overlap.ALLOW,
            )
        ],
        first_due,
    )
    assert s.claim_files("on-files", list_files(str(folder)), debounce=0.3) == []  # baseline
    for name in ("a.csv", "b.csv"):
        (folder / name).write_text(name)
    assert s.claim_files("on-files", list_files(str(folder)), debounce=0.3) == []  # not still
    time.sleep(0.4)
    (tick,) = s.claim_files("on-files", list_files(str(folder)), debounce=0.3)
    assert "2 file(s)" in tick.reason
    assert s.claim_files("on-files", list_files(str(folder)), debounce=0.3) == []
    (folder / "a.csv").write_text("changed, longer")
    s.claim_files("on-files", list_files(str(folder)), debounce=0.3)
    time.sleep(0.4)
    (again,) = s.claim_files("on-files", list_files(str(folder)), debounce=0.3)
    launched = s.launch_queued("me", decide_overlap, stale_after=30, grace=60).launches
    files = sorted(
        tuple(Path(p).name for p in launch.params["changed_files"]) for launch in launched
    )
    assert files == [("a.csv",), ("a.csv", "b.csv")]
    assert tick.run_id != again.run_id


def test_a_lost_launch_of_a_cancelled_backfill_is_not_started_again(stores: Stores) -> None:
    s = stores.schedules
    s.sync([define()], due_since(0))  # type: ignore[arg-type]
    _backfill(s, 3, 3)
    launched = s.launch_queued("me", decide_overlap, stale_after=30, grace=60).launches
    assert len(launched) == 3
    s.cancel_backfill("bf-1", "enough")  # none of their runs exists yet
    assert s.relaunch_lost("me", grace=-1) == []
    assert s.count_ticks("nightly", origin="bf-1") == {TickStatus.CANCELLED: 3}
    # A launch under way when it was cancelled creates its run after: asked to cancel.
    start_run(stores.runs, launched[0].tick.run_id)
    assert s.launch_queued("me", decide_overlap, stale_after=30, grace=60).cancelled == (
        launched[0].tick.run_id,
    )
