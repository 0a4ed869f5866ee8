"""The settings a server works with, as an admin is shown them: what the profile says
(stores, executor, lease, secrets by name) and what the server was started with (allowed
hosts, the pipelines it may start), with every password in a URL masked. A secret's value
is never here: a profile names the environment variable that holds it, and the API masks
any known secret value in every answer besides."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from legato.config import Settings

__all__ = ["SettingsView", "settings_view", "without_password"]

_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/:@\s]*):[^@/\s]+@")
_QUERY_SECRET = re.compile(
    r"(?P<head>[?&](?:password|passwd|pwd|secret|token|key|access_key|secret_key)=)[^&\s]+",
    re.IGNORECASE,
)


def without_password(text: str) -> str:
    """``text`` with passwords in URLs hidden: ``scheme://user:***@host``, and the values
    of ``password=``, ``token=``, ``secret_key=``... in a query string."""
    return _QUERY_SECRET.sub(r"\g<head>***", _PASSWORD.sub(r"\g<head>:***@", text))


@dataclass(frozen=True, slots=True, kw_only=True)
class SettingsView:
    """A server's effective settings."""

    profile: str
    source: str
    """The settings file they came from, or ``defaults``."""
    project: str
    """The project root."""
    home: str
    state_url: str
    """The run store (a password in it masked)."""
    artifacts_url: str
    """The artifact store (a password in it masked)."""
    executor: str | None
    concurrency: int | None
    failure_policy: str | None
    stale_after: float
    """Seconds without a heartbeat after which a run's orchestrator counts as gone: the
    lease an orchestrator holds, and when a run shows as ``crashed``."""
    secrets: dict[str, str]
    """Each secret the profile declares, by name: the environment variable holding it (its
    value is never shown)."""
    origins: dict[str, str]
    """Where each value that is not a default was set."""
    allowed_hosts: tuple[str, ...]
    """Host names requests may be addressed to besides the loopback ones."""
    pipelines: dict[str, str]
    """The pipelines the server may start, by name: their targets."""
    writes: bool
    """Whether the server may write (cancel requests); False: it only reads."""
    starts_runs: bool
    """Whether it may start and resume runs (in child processes)."""


def settings_view(
    settings: Settings,
    *,
    allowed_hosts: tuple[str, ...],
    pipelines: Mapping[str, str],
    writes: bool,
    starts_runs: bool,
) -> SettingsView:
    """``settings`` and the server's own, as shown (passwords masked)."""
    return SettingsView(
        profile=settings.profile,
        source=settings.source,
        project=str(settings.project.root),
        home=str(settings.home),
        state_url=without_password(settings.state_url),
        artifacts_url=without_password(settings.artifacts_url),
        executor=settings.executor,
        concurrency=settings.concurrency,
        failure_policy=settings.failure_policy,
        stale_after=settings.stale_after,
        secrets=dict(sorted(settings.secrets.items())),
        origins={k: without_password(v) for k, v in sorted(settings.origins.items())},
        allowed_hosts=tuple(allowed_hosts),
        pipelines=dict(sorted(pipelines.items())),
        writes=writes,
        starts_runs=starts_runs,
    )
