"""Which run store a command looks in, named in its messages, and what a command that
needs recorded runs says when the store does not exist.

A command that only reads never creates a store: when the run store's database is not
there (nothing has run in this project yet, or the command runs where another project's
settings apply), it says so, with the store's path and why legato looked there (which
setting named it, or how the project root was found), instead of reading an empty store and
answering ``no runs yet`` about a store the user did not mean. Every "nothing found"
message names the store with :func:`store_name`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from legato.cli.exits import USAGE, CommandError
from legato.cli.settings import open_storage, without_password
from legato.config import Settings
from legato.project import HOME_FOLDER
from legato.store.open import store_file

if TYPE_CHECKING:
    from legato.store.base import Storage

__all__ = ["missing_store", "open_existing", "require_store", "store_name"]


def store_name(settings: Settings, cwd: Path | None = None) -> str:
    """The run store ``settings`` name, in a few words: a SQLite file relative to ``cwd``
    (default: the working folder) when it is in the project being worked in
    (``../.legato/legato.db``), else its path (``~`` for the home folder); any other store by
    its URL without the password."""
    path = store_file(settings.state_url)
    if path is None:
        return without_password(settings.state_url)
    here = cwd if cwd is not None else Path.cwd()
    root = settings.project.root
    if path.is_relative_to(here) or (path.is_relative_to(root) and here.is_relative_to(root)):
        return os.path.relpath(path, here)
    home = Path.home()
    return f"~/{path.relative_to(home)}" if path.is_relative_to(home) else str(path)


def missing_store(settings: Settings) -> str | None:
    """Why there is nothing to read, when the run store ``settings`` name has not been
    made yet; None when it exists (or is not a file: a server database's state is what
    opening it tells)."""
    path = store_file(settings.state_url)
    if path is None or path.exists():
        return None
    return (
        f"no run store at {store_name(settings)}: nothing has been recorded there "
        f"yet (legato run creates it). Looked there because {_named_by(settings)}"
    )


def require_store(settings: Settings, wanted: str) -> None:
    """Raise a :class:`CommandError` (exit status 2: nothing to act on) when the run store
    does not exist yet, for commands that look for something in it: ``wanted`` says what
    (``"run '01m8'"``, ``"model 'digits'"``)."""
    missing = missing_store(settings)
    if missing is not None:
        raise CommandError(f"cannot find {wanted}: {missing}", USAGE)


def open_existing(settings: Settings, wanted: str, *, read_only: bool = True) -> Storage:
    """The stores ``settings`` name, once :func:`require_store` found the run store."""
    require_store(settings, wanted)
    return open_storage(settings, read_only=read_only)


def _named_by(settings: Settings) -> str:
    origins = settings.origins
    if "state_url" in origins:
        return f"{origins['state_url']} names it."
    if "home" in origins:
        return f"it is the default store in the home folder {origins['home']} names."
    return (
        f"it is the default store ({HOME_FOLDER}) of the project root, "
        f"{settings.project.describe()}."
    )
