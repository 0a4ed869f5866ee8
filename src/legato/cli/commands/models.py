"""``legato models``: the model registry."""

from __future__ import annotations

from typing import Annotated

import typer

from legato.cli.boundary import call
from legato.cli.commands.options import SETTINGS, DefaultGroup, Profile

__all__ = ["models_app"]

models_app = typer.Typer(
    cls=DefaultGroup,
    help="The model registry: list models, show one, promote, roll back, delete versions.",
    context_settings=SETTINGS,
)

ModelName = Annotated[str, typer.Argument(metavar="NAME", help="The model's name.")]
Version = Annotated[str, typer.Argument(metavar="VERSION", help="A version number.")]
Reason = Annotated[
    str, typer.Option("--reason", metavar="TEXT", help="Why, recorded with the change.")
]
Actor = Annotated[
    str | None,
    typer.Option(
        "--actor",
        metavar="WHO",
        help="Who, recorded with the change (default: user@host).",
        show_default=False,
    ),
]


@models_app.command("list", help="Every model with its number of versions and its aliases.")
def models_list(profile: Profile = None) -> None:
    from legato.cli.models import list_command

    call(lambda: list_command(profile=profile))


@models_app.command(
    "show",
    help="NAME: its versions, aliases and alias history. NAME@ALIAS or NAME:VERSION: that "
    "version with its lineage (run, task, code, inputs, parameters, metrics, environment).",
)
def models_show(
    ref: Annotated[str, typer.Argument(metavar="MODEL", help="NAME, NAME@ALIAS or NAME:VERSION.")],
    profile: Profile = None,
) -> None:
    from legato.cli.models import show_command

    call(lambda: show_command(ref, profile=profile))


@models_app.command("promote", help="Point an alias (production by default) at a version.")
def models_promote(
    name: ModelName,
    version: Version,
    *,
    alias: Annotated[
        str, typer.Option("--alias", metavar="ALIAS", help="The alias to move.")
    ] = "production",
    reason: Reason = "",
    actor: Actor = None,
    profile: Profile = None,
) -> None:
    from legato.cli.models import promote_command

    call(
        lambda: promote_command(
            name, version, alias=alias, reason=reason, actor=actor, profile=profile
        )
    )


@models_app.command(
    "rollback",
    help="Move an alias back to the version it named before (one step), or to --to VERSION.",
)
def models_rollback(
    name: ModelName,
    *,
    alias: Annotated[
        str, typer.Option("--alias", metavar="ALIAS", help="The alias to move back.")
    ] = "production",
    to: Annotated[
        str | None,
        typer.Option("--to", metavar="VERSION", help="The version to go back to."),
    ] = None,
    reason: Reason = "",
    actor: Actor = None,
    profile: Profile = None,
) -> None:
    from legato.cli.models import rollback_command

    call(
        lambda: rollback_command(
            name, alias=alias, to=to, reason=reason, actor=actor, profile=profile
        )
    )


@models_app.command("delete", help="Delete a version no alias points at.")
def models_delete(name: ModelName, version: Version, profile: Profile = None) -> None:
    from legato.cli.models import delete_command

    call(lambda: delete_command(name, version, profile=profile))
