"""``legato ui``: the HTTP API over the run store (see ``docs/server.md``)."""

from __future__ import annotations

from typing import Annotated

import typer

from legato.cli.boundary import call
from legato.cli.commands.options import SETTINGS, Profile

__all__ = ["commands"]

commands = typer.Typer(context_settings=SETTINGS)
"""Top-level commands: :mod:`legato.cli.app` adds them to ``legato`` itself."""


@commands.command(
    short_help="Serve the HTTP API over the run store (runs, logs, models).",
    help="Serve the HTTP API over runs, tasks, logs, metrics and models (under /api/v1, "
    "described by /api/v1/openapi.json). Binds 127.0.0.1; prints a login URL whose token "
    "(made on the first start, in ui-tokens.json in the legato home, with one token per "
    "role: viewer, operator, admin) every request must carry. Another address is refused "
    "until those tokens exist. Answers only requests addressed to localhost, 127.0.0.1 or "
    "[::1] unless more host names are allowed with --allowed-host.",
)
def ui(
    *,
    host: Annotated[
        str, typer.Option("--host", metavar="ADDRESS", help="Address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", metavar="PORT", help="Port to listen on.", min=1, max=65535)
    ] = 8080,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-host",
            metavar="NAME",
            help="Also answer requests whose Host is NAME (any port); repeatable.",
            show_default=False,
        ),
    ] = None,
    pipeline: Annotated[
        list[str] | None,
        typer.Option(
            "--pipeline",
            metavar="TARGET",
            help="A pipeline the API may start runs of (path/to/file.py:name or "
            "package.module:name); repeatable. Besides those of legato pipelines add and the "
            "pipelines table of legato.toml.",
            show_default=False,
        ),
    ] = None,
    profile: Profile = None,
) -> None:
    from legato.cli.ui import ui_command

    call(
        lambda: ui_command(
            host=host,
            port=port,
            allowed_hosts=tuple(allowed_host or ()),
            pipelines=tuple(pipeline or ()),
            profile=profile,
        )
    )
