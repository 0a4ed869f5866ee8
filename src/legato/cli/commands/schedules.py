"""``legato schedules`` (list, show, pause, resume), ``legato backfill`` and ``legato
scheduler``."""

from __future__ import annotations

from typing import Annotated

import typer

from legato.cli.boundary import call
from legato.cli.commands.options import SETTINGS, DefaultGroup, Profile

__all__ = ["commands", "schedules_app"]

schedules_app = typer.Typer(
    cls=DefaultGroup,
    help="Schedules: list them, show one's next instants, pause, resume.",
    context_settings=SETTINGS,
)
commands = typer.Typer(context_settings=SETTINGS)
"""Top-level commands: :mod:`legato.cli.app` adds them to ``legato`` itself."""

Name = Annotated[str, typer.Argument(metavar="NAME", help="The schedule's name.")]


@schedules_app.command("list", help="Every schedule: cron, next instant, state, ticks.")
def schedules_list(profile: Profile = None) -> None:
    from legato.cli.schedules import schedules_command

    call(lambda: schedules_command(profile=profile))


@schedules_app.command(
    "show", help="A schedule's next instants in UTC and its local time, DST days flagged."
)
def schedules_show(
    name: Name,
    count: Annotated[int, typer.Option("--next", "-n", help="How many instants.")] = 10,
    profile: Profile = None,
) -> None:
    from legato.cli.schedules import show_command

    call(lambda: show_command(name, count=count, profile=profile))


@schedules_app.command("pause", help="Stop claiming a schedule's instants.")
def schedules_pause(name: Name, profile: Profile = None) -> None:
    from legato.cli.schedules import pause_command

    call(lambda: pause_command(name, paused=True, profile=profile))


@schedules_app.command(
    "resume", help="Claim a schedule's instants again (missed ones by its catchup policy)."
)
def schedules_resume(name: Name, profile: Profile = None) -> None:
    from legato.cli.schedules import pause_command

    call(lambda: pause_command(name, paused=False, profile=profile))


@commands.command(
    short_help="Run a schedule's pipeline once per past interval; cancel it as one action.",
    help="Run schedule NAME's pipeline once per instant of its cron in (--from, --to], at "
    "most --max-active at once (legato scheduler starts them). --cancel ID stops a backfill: "
    "its queued runs never start and its running ones are cancelled. --list shows them.",
)
def backfill(
    name: Annotated[str | None, typer.Argument(metavar="NAME", help="The schedule.")] = None,
    *,
    start: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="TIME",
            help="ISO 8601 (UTC unless it has an offset).",
            show_default=False,
        ),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option(
            "--to",
            metavar="TIME",
            help="ISO 8601 (UTC unless it has an offset).",
            show_default=False,
        ),
    ] = None,
    max_active: Annotated[int, typer.Option("--max-active", metavar="N")] = 1,
    cancel: Annotated[
        str | None,
        typer.Option("--cancel", metavar="ID", help="Cancel this backfill.", show_default=False),
    ] = None,
    wait: Annotated[
        float, typer.Option("--wait", metavar="SECONDS", help="With --cancel: how long to wait.")
    ] = 30.0,
    listing: Annotated[bool, typer.Option("--list", help="List backfills.")] = False,
    profile: Profile = None,
) -> None:
    from legato.cli import schedules as bodies
    from legato.cli.exits import USAGE, CommandError

    def body() -> int:
        if listing:
            return bodies.list_backfills_command(profile=profile)
        if cancel is not None:
            return bodies.cancel_backfill_command(cancel, wait=wait, profile=profile)
        if name is None or start is None or end is None:
            raise CommandError("give NAME, --from and --to (or --cancel ID, or --list)", USAGE)
        return bodies.backfill_command(name, start, end, max_active=max_active, profile=profile)

    call(body)


@commands.command(
    short_help="Start runs when schedules are due (the daemon).",
    help="Start runs when schedules are due: the schedules of legato.toml and those the "
    "MODULES hold (legato.schedule(...) assigned to a module-level name). Each instant makes "
    "exactly one run, whatever crashes and however many schedulers run: on SQLite one acts "
    "at a time (the others wait for its lease), on PostgreSQL all do.",
)
def scheduler(
    modules: Annotated[
        list[str] | None,
        typer.Argument(metavar="[MODULES]...", help="Files or modules declaring schedules."),
    ] = None,
    *,
    poll: Annotated[
        float, typer.Option("--poll", metavar="SECONDS", help="Seconds between passes.")
    ] = 1.0,
    grace: Annotated[
        float,
        typer.Option(
            "--grace",
            metavar="SECONDS",
            help="How long a started run has to appear in the store before it is started "
            "again (its id makes a second start harmless).",
        ),
    ] = 60.0,
    lease_ttl: Annotated[
        float,
        typer.Option(
            "--lease-ttl",
            metavar="SECONDS",
            help="SQLite: how long the active scheduler's lease lasts unrenewed; another "
            "takes over after it.",
        ),
    ] = 10.0,
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit.")] = False,
    profile: Profile = None,
) -> None:
    from legato.cli.schedules import scheduler_command

    call(
        lambda: scheduler_command(
            modules or [], poll=poll, grace=grace, lease_ttl=lease_ttl, once=once, profile=profile
        )
    )
