"""The settings a command works with, and masking of secrets in what it prints.

Settings are ``legato.config.load_settings(profile)``: ``legato.toml`` (or ``[tool.legato]``
of ``pyproject.toml``) with its profiles, ``LEGATO_*`` variables over them. Loading them also
registers the values of the profile's secrets, so :func:`mask` hides them in anything a
command prints (task output, errors, settings).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from legato.cli.exits import USAGE, CommandError
from legato.config import Settings, load_settings
from legato.engine.storage import open_storage as open_settings_storage
from legato.errors import ConfigError
from legato.query.settings import without_password
from legato.runtime.secrets import mask as mask_secrets
from legato.runtime.secrets import watch

if TYPE_CHECKING:
    from legato.store.base import Storage

__all__ = ["load", "mask", "open_storage", "without_password"]


def load(profile: str | None = None) -> Settings:
    """The settings in effect for ``profile`` (``None``: ``LEGATO_PROFILE``, else the
    file's default). A broken ``legato.toml`` or an unknown profile is a
    :class:`CommandError` with exit status 2."""
    try:
        settings = load_settings(profile)
    except ConfigError as exc:
        raise CommandError(mask(str(exc)), USAGE) from None
    watch(settings.secret_refs)
    return settings


def open_storage(settings: Settings, *, read_only: bool = False) -> Storage:
    """The run store and artifact store ``settings`` name (opened once per process: the
    same objects the runs this process starts use). Commands that only read pass
    ``read_only``: they then work on a store they may not write, and change nothing in it
    (no database created, no schema upgraded, no temporary files swept)."""
    return open_settings_storage(settings, read_only=read_only)


def mask(text: str) -> str:
    """``text`` as it may be shown: secret values and passwords in URLs replaced."""
    return mask_secrets(without_password(text))
