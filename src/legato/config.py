"""Where legato keeps its state, read once from the environment.

``LEGATO_HOME`` (default ``./.legato``) holds the SQLite run store and the local artifact
store; ``LEGATO_STATE_URL`` and ``LEGATO_ARTIFACTS_URL`` point them elsewhere (a PostgreSQL
URL, an ``s3://`` bucket). Profiles in ``legato.toml`` build on the same settings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Settings", "settings_from_env"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Storage locations and defaults for runs."""

    home: Path
    """Folder for local state: ``legato.db`` and ``artifacts/`` unless overridden."""
    state_url: str
    """SQLAlchemy URL of the run store."""
    artifacts_url: str
    """fsspec URL (or local path) of the artifact store."""
    stale_after: float = 30.0
    """Seconds without a heartbeat after which a run's orchestrator counts as dead."""


def settings_from_env(environ: dict[str, str] | None = None) -> Settings:
    """Settings from ``LEGATO_*`` environment variables, with local defaults."""
    env = os.environ if environ is None else environ
    home = Path(env.get("LEGATO_HOME") or ".legato").expanduser().absolute()
    state_url = env.get("LEGATO_STATE_URL") or f"sqlite:///{home / 'legato.db'}"
    artifacts_url = env.get("LEGATO_ARTIFACTS_URL") or str(home / "artifacts")
    stale = float(env.get("LEGATO_STALE_AFTER") or 30.0)
    return Settings(home=home, state_url=state_url, artifacts_url=artifacts_url, stale_after=stale)
