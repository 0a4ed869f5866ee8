"""``legato schedules``, ``legato backfill`` and ``legato scheduler``: the bodies (declared
in :mod:`legato.cli.commands.schedules`)."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from types import FrameType

from rich.table import Table
from rich.text import Text

from legato.cli.exits import FAILED, OK, CommandError
from legato.cli.formats import console
from legato.cli.settings import load, open_storage
from legato.config import Settings
from legato.errors import ParameterError, UnknownRunError
from legato.liveness import owner_token
from legato.model.schedules import Launch, TickStatus
from legato.model.states import RUN_TERMINAL
from legato.query.schedules import backfill_views, schedule_view, schedule_views
from legato.schedules.backfill import create_backfill
from legato.schedules.declare import collect, from_settings_file
from legato.schedules.scheduler import PassReport, Scheduler, launch_argv
from legato.server.launch import Launcher
from legato.store.base import Storage
from legato.store.sql.schedules import SqlScheduleStore

__all__ = [
    "LOG_FOLDER",
    "backfill_command",
    "cancel_backfill_command",
    "pause_command",
    "scheduler_command",
    "schedules_command",
    "show_command",
]

LOG_FOLDER = "scheduled-runs"
"""Where, in the legato home, the output of the runs the scheduler starts is written."""


def _open(settings: Settings) -> tuple[Storage, SqlScheduleStore]:
    storage = open_storage(settings)
    engine = getattr(storage.runs, "engine", None)
    if engine is None:
        storage.close()
        raise CommandError(
            f"schedules live in a SQL run store; {storage.runs.url} is not one: set state_url "
            "to sqlite:///... or postgresql+psycopg://...",
            FAILED,
        )
    return storage, SqlScheduleStore(engine)


def schedules_command(*, profile: str | None) -> int:
    """Every schedule: its cron, next instant, state and ticks."""
    storage, store = _open(load(profile))
    try:
        views = schedule_views(store)
    finally:
        storage.close()
    out = console()
    if not views:
        out.print(f"no schedules in the run store at {storage.runs.url}: run legato scheduler")
        return OK
    table = Table("schedule", "pipeline", "when", "tz", "next (UTC)", "state", "ticks")
    for v in views:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(v.ticks.items()))
        table.add_row(
            Text(v.name),
            Text(v.pipeline),
            Text(v.cron or v.when),
            Text(v.tz),
            v.next_due or "-",
            "paused" if v.paused else "active",
            Text(counts or "-"),
        )
    out.print(table)
    return OK


def show_command(name: str, *, count: int, profile: str | None) -> int:
    """One schedule and its next ``count`` instants in UTC and local time."""
    storage, store = _open(load(profile))
    try:
        view = schedule_view(store, name, coming=count)
    finally:
        storage.close()
    out = console()
    state = "paused" if view.paused else "active"
    out.print(
        Text(
            f"{view.name}: {view.pipeline}, {view.when}, {state}; catchup "
            f"{view.catchup}, overlap {view.overlap}, max_active {view.max_active}"
        )
    )
    table = Table("UTC", f"local ({view.tz})", "DST")
    for due in view.upcoming:
        table.add_row(due.utc, due.local, Text(due.dst))
    out.print(table)
    return OK


def pause_command(name: str, *, paused: bool, profile: str | None) -> int:
    """Pause or resume a schedule."""
    storage, store = _open(load(profile))
    try:
        record = store.set_paused(name, paused)
    finally:
        storage.close()
    state = "paused" if record.paused else "resumed (missed instants follow its catchup policy)"
    console().print(Text(f"schedule {name} {state}"))
    return OK


def _instant(text: str, option: str) -> datetime:
    try:
        found = datetime.fromisoformat(text)
    except ValueError:
        raise ParameterError(
            f"{option} {text!r} is not an ISO 8601 time: e.g. 2026-01-01 or 2026-01-01T03:00+01:00"
        ) from None
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


def backfill_command(
    name: str, start: str, end: str, *, max_active: int, profile: str | None
) -> int:
    """Record a backfill of ``name`` over ``(start, end]``."""
    storage, store = _open(load(profile))
    try:
        backfill, count = create_backfill(
            store,
            name,
            _instant(start, "--from"),
            _instant(end, "--to"),
            max_active=max_active,
        )
    finally:
        storage.close()
    console().print(
        Text(
            f"backfill {backfill.backfill_id}: {count} runs of schedule {name}, at most "
            f"{max_active} at once (legato scheduler starts them; "
            f"legato backfill --cancel {backfill.backfill_id} stops them all)"
        )
    )
    return OK


def cancel_backfill_command(backfill_id: str, *, wait: float, profile: str | None) -> int:
    """Cancel a backfill: its queued runs never start, its running ones are asked to stop;
    waits up to ``wait`` seconds for them to end."""
    storage, store = _open(load(profile))
    out = console()
    try:
        asked = store.cancel_backfill(backfill_id, "its backfill was cancelled")
        out.print(
            Text(f"backfill {backfill_id} cancelled; {len(asked)} running run(s) asked to stop")
        )
        deadline = time.monotonic() + wait
        while True:
            running = _running(storage, store, backfill_id)
            if not running:
                out.print("nothing of it is queued or running")
                return OK
            if time.monotonic() >= deadline:
                out.print(Text(f"still running: {', '.join(running)}"))
                return FAILED
            # A run its launcher created after the cancel is asked now.
            store.cancel_backfill(backfill_id, "its backfill was cancelled")
            time.sleep(0.2)
    finally:
        storage.close()


def _running(storage: Storage, store: SqlScheduleStore, backfill_id: str) -> list[str]:
    """Runs of the backfill that have not ended (created, or launched and not yet created)."""
    out = []
    statuses = [TickStatus.LAUNCHED, TickStatus.CANCELLED]
    for tick in store.ticks(origin=backfill_id, statuses=statuses, limit=100_000):
        try:
            if storage.runs.get_run(tick.run_id).state not in RUN_TERMINAL:
                out.append(tick.run_id)
        except UnknownRunError:
            # Launched a moment ago: its process may still create the run.
            if tick.launched_at is not None and store.now() - tick.launched_at < 10.0:
                out.append(tick.run_id)
    return out


def list_backfills_command(*, profile: str | None) -> int:
    """Backfills with their ticks counted by status."""
    storage, store = _open(load(profile))
    try:
        views = backfill_views(store)
    finally:
        storage.close()
    table = Table("backfill", "schedule", "from", "to", "max active", "state", "ticks")
    for v in views:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(v.ticks.items()))
        state = "cancelled" if v.cancelled else "active"
        table.add_row(
            v.backfill_id, Text(v.schedule), v.start, v.end, str(v.max_active), state, counts
        )
    console().print(table)
    return OK


def scheduler_command(
    modules: Sequence[str],
    *,
    poll: float,
    grace: float,
    lease_ttl: float,
    once: bool,
    profile: str | None,
) -> int:
    """Run scheduler passes until SIGINT or SIGTERM (or one, with ``once``)."""
    settings = load(profile)
    definitions = [*from_settings_file(), *collect(modules)]
    storage, store = _open(settings)
    launcher = Launcher(home=settings.home, profile=profile, folder=LOG_FOLDER)

    def start(launch: Launch) -> str:
        started = launcher.run(launch.target, launch_argv(launch), run_id=launch.tick.run_id)
        return str(started.path)

    scheduler = Scheduler(
        store=store,
        start=start,
        owner=owner_token(),
        single=store.dialect == "sqlite",
        stale_after=settings.stale_after,
        grace=grace,
        lease_ttl=lease_ttl,
        poll=poll,
        definitions=definitions,
    )
    out = console()
    out.print(
        Text(
            f"legato scheduler: {len(definitions)} schedule(s) declared, run store "
            f"{storage.runs.url}, output of runs in {settings.home / LOG_FOLDER}"
        )
    )
    waiting = [False]

    def report(done: PassReport) -> None:
        if not done.active and not waiting[0]:
            out.print("another scheduler holds the lease: waiting to take over")
        waiting[0] = not done.active
        for launch in done.launched:
            tick = launch.tick
            out.print(Text(f"started {tick.schedule} {tick.run_id} ({tick.nominal})"))

    try:
        if once:
            try:
                report(scheduler.run_pass())
            finally:
                scheduler.release()
            return OK
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, on_signal)
        scheduler.serve(stop, report)
        return OK
    finally:
        storage.close()
