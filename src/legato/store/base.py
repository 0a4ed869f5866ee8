"""What the engine and the runtime need from storage: a run store and an artifact store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from legato.model.artifacts import ArtifactRef
from legato.model.events import Event
from legato.model.records import TaskRecord
from legato.model.runs import CacheHit, LogEntry, RunInfo
from legato.model.states import RunState

__all__ = ["ArtifactStore", "RunStore", "Storage"]


class RunStore(Protocol):
    """Durable state of runs. Every implementation passes ``tests/store/conformance.py``."""

    url: str
    """Where it keeps its data (for ``legato doctor`` and error messages)."""

    def create_run(self, run: RunInfo) -> None:
        """Record a new run (and its pipeline version). Raises ``RunExistsError`` if the id is
        taken."""
        ...

    def append(self, run_id: str, owner: str, events: Sequence[Event]) -> None:
        """Commit ``events`` (one turn of the loop) in one transaction: the event log, the
        task projection, artifacts and cache entries the events carry, the run's state and
        heartbeat. Raises ``FencedError`` if ``owner`` no longer owns the run; event
        sequence numbers must continue the run's log. A change naming an older attempt than
        the projection row's is ignored; a row in a terminal state changes only for a newer
        attempt (a resume), and a succeeded row never."""
        ...

    def heartbeat(self, run_id: str, owner: str, at: float) -> None:
        """Show the run's orchestrator is alive (``FencedError`` if not the owner)."""
        ...

    def take_over(self, run_id: str, owner: str, *, now: float, stale_after: float) -> RunInfo:
        """Make ``owner`` the run's orchestrator, bumping its epoch, if the current one is
        gone (heartbeat older than ``stale_after`` seconds) or the run has ended. Raises
        ``RunBusyError`` while another orchestrator is alive."""
        ...

    def get_run(self, run_id: str) -> RunInfo:
        """The run with this id, or the only one whose id starts with it. Raises
        ``UnknownRunError`` (no match or an ambiguous prefix)."""
        ...

    def list_runs(
        self, *, pipeline: str | None = None, state: RunState | None = None, limit: int = 50
    ) -> list[RunInfo]:
        """Runs, newest first."""
        ...

    def read_events(self, run_id: str, after_seq: int = 0) -> list[Event]:
        """The run's events with ``seq > after_seq``, in order."""
        ...

    def task_records(self, run_id: str) -> list[TaskRecord]:
        """The task projection of a run."""
        ...

    def cache_parts(self, run_id: str) -> dict[str, dict[str, str]]:
        """What the cache keys of a run's tasks covered, by task key (to explain misses)."""
        ...

    def lookup_cache(self, keys: Sequence[str]) -> dict[str, CacheHit]:
        """The newest cache entry for each of ``keys`` that has one (the engine applies
        expiry, which is a task option)."""
        ...

    def clear_cache(self, *, task: str | None = None) -> int:
        """Forget cache entries (all, or of one task name); returns how many."""
        ...

    def append_logs(self, entries: Sequence[LogEntry]) -> None:
        """Store captured output."""
        ...

    def read_logs(
        self, run_id: str, *, key: str | None = None, after_seq: int = 0
    ) -> list[LogEntry]:
        """Captured output of a run (or one task), in order."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class ArtifactStore(Protocol):
    """Task outputs as checksummed, immutable artifacts."""

    url: str

    def put(self, obj: Any, *, producer: str) -> ArtifactRef:
        """Serialise ``obj`` with the serialiser its type calls for; keep it inline in the
        reference when small, else write it atomically (temporary name, fsync, rename)."""
        ...

    def get(self, ref: ArtifactRef) -> Any:
        """Load an artifact after verifying its checksum (``IntegrityError`` naming the
        artifact and its producer otherwise)."""
        ...

    def verify(self, ref: ArtifactRef) -> None:
        """Check that the artifact exists and its checksum matches, without loading it."""
        ...


@dataclass(frozen=True, slots=True)
class Storage:
    """The pair a durable run uses."""

    runs: RunStore
    artifacts: ArtifactStore

    def close(self) -> None:
        self.runs.close()
