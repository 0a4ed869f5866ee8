"""``legato ui``: serve the HTTP API over the run store (see ``docs/server.md``).

The command is declared here and registered in :mod:`legato.cli.app` with one call
(:func:`register`); like every command, it imports the server (FastAPI, uvicorn, the
stores) only when it runs, so ``legato --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

__all__ = ["register", "ui_command"]

_HELP = (
    "Serve the HTTP API over runs, tasks, logs, metrics and models (under /api/v1, "
    "described by /api/v1/openapi.json). Binds 127.0.0.1; prints a login URL whose token "
    "(made on the first start, in ui-tokens.json in the legato home, with one token per "
    "role: viewer, operator, admin) every request must carry. Another address is refused "
    "until those tokens exist. Answers only requests addressed to localhost, 127.0.0.1 or "
    "[::1] unless more host names are allowed with --allowed-host."
)


def register(app: typer.Typer, call: Callable[[Callable[[], int]], None]) -> None:
    """Add ``legato ui`` to ``app``; ``call`` runs a command's body and ends the command
    with its status (the app's error boundary)."""

    @app.command(
        short_help="Serve the HTTP API over the run store (runs, logs, models).", help=_HELP
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
                "package.module:name); repeatable.",
                show_default=False,
            ),
        ] = None,
        profile: Annotated[
            str | None,
            typer.Option(
                "--profile",
                metavar="NAME",
                help="Profile of legato.toml to use.",
                show_default=False,
            ),
        ] = None,
    ) -> None:
        call(
            lambda: ui_command(
                host=host,
                port=port,
                allowed_hosts=tuple(allowed_host or ()),
                pipelines=tuple(pipeline or ()),
                profile=profile,
            )
        )


def ui_command(
    *,
    host: str,
    port: int,
    allowed_hosts: tuple[str, ...],
    pipelines: tuple[str, ...] = (),
    profile: str | None,
) -> int:
    """Serve the API for ``profile``'s stores until interrupted."""
    from legato.cli.exits import OK, USAGE, CommandError
    from legato.cli.settings import load, mask, open_storage
    from legato.errors import ParameterError
    from legato.serve.hosts import HostPolicy
    from legato.server.actions import pipeline_names
    from legato.server.config import ServerConfig
    from legato.server.launch import Launcher
    from legato.server.serving import serve, server_tokens

    settings = load(profile)
    try:
        HostPolicy.of(allowed_hosts)
        known = pipeline_names(pipelines)
        tokens = server_tokens(settings.home, host)
    except ParameterError as exc:
        raise CommandError(mask(str(exc)), USAGE) from None
    storage = open_storage(settings, read_only=True)
    config = ServerConfig(
        store=storage.runs,
        artifacts=storage.artifacts,
        tokens=tokens,
        stale_after=settings.stale_after,
        allowed_hosts=allowed_hosts,
        writer=lambda: open_storage(settings).runs,
        launcher=Launcher(home=settings.home, profile=profile),
        pipelines=known,
    )
    serve(config, host=host, port=port, ready=lambda line: print(line, flush=True))
    return OK
