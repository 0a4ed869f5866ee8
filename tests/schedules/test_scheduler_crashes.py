"""``legato scheduler`` SIGKILLed at each of its crash points (a due schedule locked, its
ticks written, committed, a tick committed as launched before its process starts, and
after it started), then started again: the instant has exactly one run, made by a real
``legato run`` process."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from legato._crash import SCHEDULER_POINTS
from legato.errors import UnknownRunError
from legato.liveness import orchestrator_pid
from legato.model.schedules import TickStatus, tick_run_id
from legato.model.states import RUN_TERMINAL
from legato.schedules.cron import Cron
from legato.schedules.declare import collect
from legato.schedules.scheduler import first_due
from legato.store.sql import SqlRunStore
from legato.store.sql.run_tables import runs
from legato.store.sql.schedule_tables import schedules
from legato.store.sql.schedules import SqlScheduleStore

PIPELINES = textwrap.dedent(
    """
    import time

    import legato
    from legato import pipeline, task


    @task
    def work(interval_end: str, seconds: float) -> str:
        time.sleep(seconds)
        return interval_end


    @pipeline
    def job(interval_start: str = "", interval_end: str = "", seconds: float = 0.0) -> str:
        return work(interval_end, seconds)


    yearly = legato.schedule(job, cron="0 0 1 1 *", name="yearly")
    """
)


class Project:
    """A project folder with a pipeline module declaring a schedule, its own legato home."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "pipelines.py").write_text(PIPELINES)
        self.home = root / "home"
        self.url = f"sqlite:///{self.home / 'legato.db'}"
        self.env = {
            **os.environ,
            "LEGATO_HOME": str(self.home),
            "LEGATO_STATE_URL": self.url,
        }
        self.env.pop("LEGATO_CRASH_AT", None)

    def legato(self, *args: str, crash: str | None = None) -> subprocess.CompletedProcess[str]:
        env = dict(self.env)
        if crash is not None:
            env["LEGATO_CRASH_AT"] = crash
        return subprocess.run(
            [sys.executable, "-m", "legato.cli", *args],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def store(self) -> SqlRunStore:
        return SqlRunStore(self.url)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    made = Project(tmp_path)
    yield made
    _stop_runs(made)


def _stop_runs(project: Project) -> None:
    """Leave no ``legato run`` of the test behind (they live in sessions of their own)."""
    store = project.store()
    try:
        with store.engine.connect() as c:
            owners = list(c.execute(sa.select(runs.c.owner)).scalars())
    finally:
        store.close()
    for owner in owners:
        pid = orchestrator_pid(owner)
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def due_now(project: Project) -> int:
    """Store the module's schedule (as ``legato scheduler`` does first) and make it due at
    its newest instant (the start of this year: the next is months away, so however slow
    the processes, one instant is due): that instant."""
    store = project.store()
    try:
        schedule_store = SqlScheduleStore(store.engine)
        schedule_store.sync(collect([str(project.root / "pipelines.py")]), first_due)
        instant = Cron("0 0 1 1 *").before(schedule_store.now())
        with store.engine.begin() as c:
            c.execute(sa.update(schedules).values(next_due=instant))
        return instant
    finally:
        store.close()


def wait_for_run(project: Project, run_id: str) -> None:
    store = project.store()
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if store.get_run(run_id).state in RUN_TERMINAL:
                    return
            except UnknownRunError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"run {run_id} did not end")
    finally:
        store.close()


# Each point costs three processes; the claim's two points inside its transaction and the
# committed tick (launched as any queued one) are each like another, so the CI default
# runs one of each kind.
POINTS = [
    pytest.param(point, marks=pytest.mark.exhaustive)
    if point in ("schedule_claimed", "tick_committed")
    else point
    for point in SCHEDULER_POINTS
]


@pytest.mark.parametrize("point", POINTS)
def test_sigkill_at_each_point_then_restart_makes_one_run(project: Project, point: str) -> None:
    instant = due_now(project)
    crashed = project.legato("scheduler", "pipelines.py", "--once", "--lease-ttl", "1", crash=point)
    assert crashed.returncode == -signal.SIGKILL, crashed.stdout + crashed.stderr
    time.sleep(1.2)  # past the grace: a tick launched whose process never started
    again = project.legato("scheduler", "pipelines.py", "--once", "--grace", "1")
    assert again.returncode == 0, again.stdout + again.stderr
    run_id = tick_run_id("yearly", "", instant)
    wait_for_run(project, run_id)
    store = project.store()
    try:
        ticks = SqlScheduleStore(store.engine).ticks("yearly")
        with store.engine.connect() as c:
            run_ids = list(c.execute(sa.select(runs.c.run_id)).scalars())
        ran = store.get_run(run_id)
    finally:
        store.close()
    (tick,) = [t for t in ticks if t.nominal == instant]
    assert tick.status is TickStatus.LAUNCHED
    # One run for the instant, and no run that is not a tick's.
    assert run_ids.count(run_id) == 1
    assert set(run_ids) <= {t.run_id for t in ticks}
    assert ran.state.value == "succeeded"
    assert ran.params["interval_end"] == time.strftime(
        "%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(instant)
    )


SLOW = PIPELINES.replace(
    'yearly = legato.schedule(job, cron="0 0 1 1 *", name="yearly")',
    'slow = legato.schedule(job, cron="0 0 1 1 *", name="slow", params={"seconds": SECONDS})',
)


@pytest.mark.parametrize(
    ("seconds", "cancel_after"),
    [(60.0, 4), pytest.param(1.0, 50, marks=pytest.mark.exhaustive)],
)
def test_a_backfill_cancelled_as_one_action_leaves_nothing_queued_or_running(
    project: Project, seconds: float, cancel_after: int
) -> None:
    """100 yearly intervals, 4 at a time, by a real scheduler starting real runs, cancelled
    with ``legato backfill --cancel``: its queued runs never start, its running ones end."""
    (project.root / "pipelines.py").write_text(f"SECONDS = {seconds}\n" + SLOW)
    store = project.store()
    schedule_store = SqlScheduleStore(store.engine)
    schedule_store.sync(collect([str(project.root / "pipelines.py")]), first_due)
    made = project.legato(
        "backfill", "slow", "--from", "1999-12-31", "--to", "2099-01-01", "--max-active", "4"
    )
    assert made.returncode == 0, made.stdout + made.stderr
    assert "100 runs" in made.stdout
    backfill_id = made.stdout.split()[1].rstrip(":")
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "legato.cli", "scheduler", "pipelines.py", "--poll", "0.2"],
        cwd=project.root,
        env=project.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            counts = schedule_store.count_ticks("slow", origin=backfill_id)
            if counts.get(TickStatus.LAUNCHED, 0) >= cancel_after and _created(store) >= min(
                cancel_after, 4
            ):
                break
            assert _active(store) <= 4
            time.sleep(0.1)
        cancelled = project.legato("backfill", "--cancel", backfill_id, "--wait", "60")
        assert cancelled.returncode == 0, cancelled.stdout + cancelled.stderr
        time.sleep(1.0)  # a few more passes of the scheduler: it starts nothing more
    finally:
        scheduler.send_signal(signal.SIGTERM)
        scheduler.wait(timeout=30)
    counts = schedule_store.count_ticks("slow", origin=backfill_id)
    assert TickStatus.QUEUED not in counts
    assert counts[TickStatus.LAUNCHED] + counts[TickStatus.CANCELLED] == 100
    # Runs that ended while the cancel command started freed slots for a few more.
    assert cancel_after <= counts[TickStatus.LAUNCHED] < 100
    assert _active(store) == 0
    with store.engine.connect() as c:
        states = list(c.execute(sa.select(runs.c.state)).scalars())
    assert len(states) == counts[TickStatus.LAUNCHED]
    assert "cancelled" in states
    store.close()


def _created(store: SqlRunStore) -> int:
    with store.engine.connect() as c:
        return int(c.execute(sa.select(sa.func.count()).select_from(runs)).scalar_one())


def _active(store: SqlRunStore) -> int:
    with store.engine.connect() as c:
        return int(
            c.execute(
                sa.select(sa.func.count())
                .select_from(runs)
                .where(runs.c.state.not_in([s.value for s in RUN_TERMINAL]))
            ).scalar_one()
        )


TRIGGERED = PIPELINES + textwrap.dedent(
    """

        @pipeline
        def evaluate(upstream_run: str = "") -> str:
            return work(upstream_run, 0.0)


        after_job = legato.schedule(evaluate, after=job, name="evaluate")
        """
)


def test_each_upstream_success_starts_one_triggered_run(project: Project) -> None:
    (project.root / "pipelines.py").write_text(TRIGGERED)
    store = project.store()
    try:
        SqlScheduleStore(store.engine).sync(
            collect([str(project.root / "pipelines.py")]), first_due
        )
    finally:
        store.close()
    for _ in range(2):
        ran = project.legato("run", "pipelines.py:job")
        assert ran.returncode == 0, ran.stdout + ran.stderr
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "legato.cli", "scheduler", "pipelines.py", "--poll", "0.3"],
        cwd=project.root,
        env=project.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    store = project.store()
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            done = [r for r in store.list_runs(pipeline="evaluate") if r.state in RUN_TERMINAL]
            if len(done) >= 2:
                break
            time.sleep(0.2)
        time.sleep(1.0)  # more passes: nothing more is triggered
        upstream = [r.run_id for r in store.list_runs(pipeline="job")]
        ticks = SqlScheduleStore(store.engine).ticks("evaluate")
        triggered = store.list_runs(pipeline="evaluate")
    finally:
        scheduler.send_signal(signal.SIGTERM)
        scheduler.wait(timeout=30)
        store.close()
    assert sorted(t.origin for t in ticks) == sorted(f"after:{r}" for r in upstream)
    assert {t.status for t in ticks} == {TickStatus.LAUNCHED}
    assert sorted(r.params["upstream_run"] for r in triggered) == sorted(upstream)
    assert {r.state.value for r in triggered} == {"succeeded"}
