"""``legato serve``: a registered model over HTTP."""

from __future__ import annotations

from typing import Annotated

import typer

from legato.cli.boundary import call
from legato.cli.commands.options import SETTINGS, Profile

__all__ = ["commands"]

commands = typer.Typer(context_settings=SETTINGS)
"""Top-level commands: :mod:`legato.cli.app` adds them to ``legato`` itself."""


@commands.command(
    short_help="Serve a registered model over HTTP (POST /predict).",
    help="Serve a model of the registry: POST /predict takes JSON rows or columns, GET "
    "/health and GET /metadata describe it. NAME@ALIAS (or NAME, the latest version) is "
    "followed: when the alias moves, the new version is loaded in the background and "
    "switched in without failing requests. Binds 127.0.0.1; any other address needs a token. "
    "Answers only requests addressed to localhost, 127.0.0.1 or [::1] unless more host names "
    "are allowed with --allowed-host.",
)
def serve(
    model: Annotated[
        str,
        typer.Argument(metavar="MODEL", help="NAME (latest version), NAME@ALIAS or NAME:VERSION."),
    ],
    *,
    host: Annotated[
        str, typer.Option("--host", metavar="ADDRESS", help="Address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", metavar="PORT", help="Port to listen on.")] = 8000,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            metavar="TOKEN",
            help="Require 'Authorization: Bearer TOKEN' (default: LEGATO_SERVE_TOKEN); "
            "required off loopback.",
            show_default=False,
        ),
    ] = None,
    poll: Annotated[
        float,
        typer.Option("--poll", metavar="SECONDS", help="How often to check the alias (0: never)."),
    ] = 1.0,
    max_body: Annotated[
        int, typer.Option("--max-body", metavar="BYTES", help="Largest request body accepted.")
    ] = 16 * 1024 * 1024,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-host",
            metavar="NAME",
            help="Also answer requests whose Host is NAME (any port); repeatable. "
            "'*.example.com' allows the names under a domain, '*' any (no DNS-rebinding "
            "protection).",
            show_default=False,
        ),
    ] = None,
    profile: Profile = None,
) -> None:
    from legato.cli.serving import serve_command

    call(
        lambda: serve_command(
            model,
            host=host,
            port=port,
            token=token,
            poll=poll,
            max_body=max_body,
            profile=profile,
            allowed_hosts=tuple(allowed_host or ()),
        )
    )
