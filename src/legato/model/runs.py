"""Run-level records the run store keeps besides the event log."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from legato.model.artifacts import ArtifactRef
from legato.model.states import RunState

__all__ = ["CacheHit", "LogEntry", "RunInfo"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunInfo:
    """A run as the store lists it."""

    run_id: str
    pipeline: str
    target: str = ""
    """How to load the pipeline again (``pkg.module:name`` or ``path/file.py:name``), for
    resume; empty when it cannot be reloaded (defined in ``__main__`` or a notebook)."""
    fingerprint: str = ""
    """Fingerprint of the pipeline's graph and code (its version)."""
    state: RunState = RunState.PENDING
    params: Mapping[str, Any] = field(default_factory=dict)
    executor: str = ""
    created_at: float = 0.0
    ended_at: float | None = None
    heartbeat_at: float = 0.0
    owner: str = ""
    """Token of the orchestrator process that may write the run's events."""
    epoch: int = 1
    """Bumped each time another orchestrator takes the run over (resume)."""
    reason: str = ""
    environment: Mapping[str, Any] = field(default_factory=dict)
    """Python, platform, packages, git commit and dirty flag, host and user."""
    cancel_requested_at: float | None = None
    """When someone asked for the run to be cancelled through the store (``legato cancel``,
    the API), on the store's clock; its orchestrator reads the request and cancels."""
    cancel_reason: str = ""
    """What the cancel request said."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheHit:
    """A stored output whose cache key matches."""

    key: str
    output: ArtifactRef
    run_id: str
    task: str
    """Task key in that run."""
    created_at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class LogEntry:
    """A chunk of what one attempt wrote to stdout, stderr or ``logging``."""

    run_id: str
    key: str
    attempt: int
    stream: str
    """``stdout``, ``stderr`` or ``log``."""
    text: str
    at: float
    seq: int = 0
    """Order within the run, assigned by the store."""
