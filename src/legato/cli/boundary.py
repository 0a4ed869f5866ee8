"""The command line's one error boundary: a command's body runs inside :func:`call`, which
ends the command with its exit status, and turns the errors it knows into one line on
standard error (see :mod:`legato.cli.exits`); anything else is a bug and keeps its
traceback."""

from __future__ import annotations

import traceback
from collections.abc import Callable

import typer

from legato.cli.exits import CANCELLED, FAILED, USAGE, CommandError

__all__ = ["call", "complain"]


def call(command: Callable[[], int]) -> None:
    """Run a command's body and end with its exit status; known errors become one line on
    standard error and their status (see :mod:`legato.cli.exits`)."""
    try:
        code = command()
    except CommandError as exc:
        complain(exc.message)
        code = exc.code
    except KeyboardInterrupt:
        complain("interrupted")
        code = CANCELLED
    except Exception as exc:
        code = _error_status(exc)
    raise typer.Exit(code)


def _error_status(exc: Exception) -> int:
    from legato.cli.settings import mask
    from legato.errors import (
        ConfigError,
        DefinitionError,
        InvalidNameError,
        LegatoError,
        ParameterError,
        UnknownModelError,
        UnknownRunError,
    )

    if isinstance(
        exc,
        DefinitionError
        | ParameterError
        | ConfigError
        | UnknownRunError
        | InvalidNameError
        | UnknownModelError,
    ):
        complain(mask(str(exc)))
        return USAGE
    if isinstance(exc, LegatoError):
        complain(mask(str(exc)))
        return FAILED
    complain(mask("".join(traceback.format_exception(exc))).rstrip())
    return FAILED


def complain(message: str) -> None:
    """Print ``error: MESSAGE`` on standard error."""
    from rich.text import Text

    from legato.cli.formats import error_console

    error_console().print(Text("error: ", style="bold red") + Text(message))
