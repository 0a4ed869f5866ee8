"""Who may call the API: three roles, one token each, kept in a file only the user can read.

A role allows what the ones below it allow:

- ``viewer`` reads runs, tasks, logs, metrics and models;
- ``operator`` also starts, cancels and resumes runs;
- ``admin`` also changes the model registry (promote, roll back) and settings.

The tokens live in ``<legato home>/ui-tokens.json`` (``TOKEN_FILE``), made on the server's
first start with mode 0600 (created with that mode, never widened after), one random
256-bit token per role. A file that others may read or write is refused rather than used:
its tokens must be taken as known. Nothing here imports a web framework.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import stat
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from legato.errors import ConfigError

__all__ = ["TOKEN_FILE", "Role", "Tokens", "create_tokens", "read_tokens"]

TOKEN_FILE = "ui-tokens.json"
"""The tokens' file name in the legato home."""

_MIN_TOKEN = 32


class Role(StrEnum):
    """What a token allows, each role more than the one before."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    def allows(self, needed: Role) -> bool:
        """Whether this role may do what ``needed`` may."""
        order = list(Role)
        return order.index(self) >= order.index(needed)


@dataclass(frozen=True, slots=True)
class Tokens:
    """One token per role."""

    viewer: str
    operator: str
    admin: str

    def role_of(self, given: str | None) -> Role | None:
        """The role ``given`` is the token of, or None. Every token is compared, in constant
        time, so the answer's timing tells nothing about which one nearly matched."""
        if not given:
            return None
        found: Role | None = None
        for role in Role:
            if hmac.compare_digest(given.encode(), getattr(self, role.value).encode()):
                found = role
        return found

    def token(self, role: Role) -> str:
        """The token of ``role``."""
        return str(getattr(self, role.value))


def create_tokens(path: Path) -> Tokens:
    """Make the token file at ``path`` with a new random token per role, readable and
    writable by its owner only; the file there already is read instead (never replaced)."""
    tokens = Tokens(*(secrets.token_urlsafe(32) for _ in Role))
    text = json.dumps({role.value: tokens.token(role) for role in Role}, indent=2) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_tokens(path)
    with os.fdopen(fd, "w") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    return tokens


def read_tokens(path: Path) -> Tokens:
    """The tokens in ``path``; ``ConfigError`` saying how to fix a file others can read, or
    one that is malformed."""
    try:
        mode = path.stat().st_mode
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(
            f"the API tokens cannot be read: {exc.strerror}", source=str(path)
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"the API tokens may be read by other users (mode {stat.S_IMODE(mode):o}): "
            "treat them as known. Remove the file to have new ones made on the next start, "
            f"or make it private: chmod 600 {path}",
            source=str(path),
        )
    try:
        found = json.loads(text)
        values = [found[role.value] for role in Role]
    except (ValueError, KeyError, TypeError):
        values = []
    if len(values) != len(Role) or not all(
        isinstance(v, str) and len(v) >= _MIN_TOKEN and v.isascii() and v.isprintable()
        for v in values
    ):
        raise ConfigError(
            "the API tokens are malformed: remove the file to have new ones made on the next start",
            source=str(path),
            expected=f"a JSON object with a token of at least {_MIN_TOKEN} printable "
            f"characters for each of {', '.join(Role)}",
        )
    return Tokens(*values)
