"""What the engine and the runtime need from storage: a run store and an artifact store."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from legato.model.artifacts import ArtifactRef
from legato.model.events import Event
from legato.model.records import TaskRecord
from legato.model.registry import AliasChange, ModelVersion
from legato.model.run_query import RunPage, RunQuery
from legato.model.runs import CacheHit, LogEntry, RunInfo
from legato.model.states import RunState, TaskState
from legato.model.tracking import Tracked

__all__ = [
    "ANY_VERSION",
    "ArtifactStore",
    "ItemPage",
    "ModelStore",
    "RunReading",
    "RunStore",
    "StepCount",
    "Storage",
]

ANY_VERSION = -1
"""``expect`` for :meth:`ModelStore.move_alias`: whatever version the alias names now."""


@dataclass(frozen=True, slots=True)
class RunReading:
    """A run with what its attempts tracked and its cache hits: what summing up its values
    reads (:meth:`RunStore.read_runs`)."""

    info: RunInfo
    tracked: list[Tracked]
    """As :meth:`RunStore.read_tracked` returns them."""
    cache_hits: dict[str, str]
    """As :meth:`RunStore.cache_hits` returns them."""


@dataclass(frozen=True, slots=True)
class ItemPage:
    """A page of a mapped task's items (:meth:`RunStore.map_items`), or of a run's tasks
    (:meth:`RunStore.task_page`)."""

    total: int
    """How many items (tasks) the filter matches, on every page."""
    items: list[TaskRecord]
    """By map index (tasks: in the order they appeared)."""


@dataclass(frozen=True, slots=True)
class StepCount:
    """How many of a run's tasks of one name (a step: a task of the plan, a map's items, a
    mapped sub-pipeline's copies) stand in each state (:meth:`RunStore.step_counts`)."""

    name: str
    states: dict[str, int]
    """Its tasks and map items per state, the group records of mapped tasks left out."""
    maps: dict[str, int]
    """The group records of its mapped tasks per state; empty for a step that is no map."""


class ModelStore(Protocol):
    """The model registry's tables (in the run store's database). Every implementation
    passes ``tests/store/registry_conformance.py``. Names are validated by the caller
    (:mod:`legato.model.registry`); methods raise ``UnknownModelError`` for a model or
    version that does not exist."""

    def add_version(
        self, version: ModelVersion, *, owner: str | None = None
    ) -> tuple[ModelVersion, bool]:
        """Store ``version`` as the next version of its model (its ``version`` field is
        ignored), creating the model on first use, atomically however many writers
        register at once. A version from the same run and task (``run_id``, ``task``) as an
        existing one is not added again: that one is returned, with ``False``. Raises
        ``FencedError`` when the run's task has moved on to a newer attempt than
        ``version.attempt`` (a stale attempt may not register), and, with ``owner`` (a
        task registering from inside a run: its orchestrator's owner token), when the run
        is no longer ``owner``'s (taken over): both judged in the transaction that writes,
        and nothing is written. Without ``owner`` (registering outside a run) only the
        attempt is fenced."""
        ...

    def get_version(self, name: str, version: int) -> ModelVersion:
        """One version."""
        ...

    def list_versions(self, name: str) -> list[ModelVersion]:
        """A model's versions, oldest first."""
        ...

    def list_models(self) -> list[str]:
        """Names of the models that exist, sorted."""
        ...

    def get_aliases(self, name: str) -> dict[str, int]:
        """Each alias of the model and the version it names."""
        ...

    def move_alias(
        self,
        name: str,
        alias: str,
        version: int | None,
        *,
        action: str,
        reason: str,
        actor: str,
        at: float,
        expect: int | None = ANY_VERSION,
    ) -> AliasChange:
        """Point ``alias`` at ``version`` (None: remove it) and record the change with the
        previous holder, in one transaction. With ``expect`` other than ``ANY_VERSION``
        the alias must name that version (None: no version) now, else ``RegistryError``
        (someone else moved it meanwhile) and nothing changes."""
        ...

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasChange]:
        """Changes of the model's aliases (or one alias), oldest first."""
        ...

    def delete_version(self, name: str, version: int) -> None:
        """Delete a version (its number is never reused); ``AliasInUseError`` while an
        alias names it."""
        ...


class RunStore(Protocol):
    """Durable state of runs. Every implementation passes ``tests/store/conformance.py``."""

    url: str
    """Where it keeps its data (for ``legato doctor`` and error messages)."""

    @property
    def models(self) -> ModelStore:
        """The model registry kept in the same database."""
        ...

    def create_run(self, run: RunInfo) -> None:
        """Record a new run (and its pipeline version). Raises ``RunExistsError`` if the id is
        taken."""
        ...

    def append(
        self,
        run_id: str,
        owner: str,
        events: Sequence[Event],
        tracked: Sequence[Tracked] = (),
    ) -> None:
        """Commit ``events`` (one turn of the loop) in one transaction: the event log, the
        task projection, artifacts and cache entries the events carry, the run's state and
        heartbeat, and the ``tracked`` values of its attempts (a value logged again under
        the same attempt, kind, name and step replaces the earlier one; ``events`` may be
        empty when only ``tracked`` is written). Raises ``FencedError`` if ``owner`` no
        longer owns the run; event sequence numbers must continue the run's log. A change
        naming an older attempt than the projection row's is ignored; a row in a terminal
        state changes only for a newer attempt (a resume), and a succeeded row never."""
        ...

    def heartbeat(self, run_id: str, owner: str) -> None:
        """Renew the lease of the run's orchestrator: its heartbeat, stamped with the store's
        own clock, as every append's is (``FencedError`` if ``owner`` no longer owns it)."""
        ...

    def take_over(
        self, run_id: str, owner: str, *, lease: float, seen: RunInfo | None = None
    ) -> RunInfo:
        """Make ``owner`` the run's orchestrator, bumping its epoch: a compare-and-set that
        succeeds only if the run is still owned as ``seen`` (the owner and epoch the taker
        read) says, and has ended or its owner's lease has expired — no heartbeat for more
        than ``lease`` seconds on the store's clock (the taker's own clock plays no part).
        Raises ``RunBusyError`` otherwise, before the taker has done anything. A run taken
        over is ``running`` again (its new owner drives it), so an ended run is free to take
        only until someone took it: a second taker then finds a live owner's lease."""
        ...

    def request_cancel(self, run_id: str, reason: str) -> RunInfo:
        """Ask the run's orchestrator, wherever it runs, to cancel the run: the request is
        recorded with the run (``cancel_requested_at``, on the store's clock) unless one
        already is or the run has ended; the orchestrator reads it within a second
        (:meth:`cancel_requested`) and cancels as a Ctrl-C would. A take-over (a resume)
        clears it. Returns the run as it now stands."""
        ...

    def cancel_requested(self, run_id: str) -> str | None:
        """The reason of the cancel request recorded for the run, or None: what its
        orchestrator polls."""
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

    def find_runs(self, query: RunQuery) -> RunPage:
        """One page of the runs ``query`` selects (pipeline, states, heartbeat, creation
        time, a tag, a run parameter, a metric's range), in its order (creation time or a
        metric's value, then the run id), after its cursor; with the cursor of the next
        page when there may be one. See :mod:`legato.model.run_query` for what a run's value
        of a metric is."""
        ...

    def read_events(
        self,
        run_id: str,
        after_seq: int = 0,
        *,
        limit: int | None = None,
        kinds: Collection[type[Event]] | None = None,
        keys: Collection[str] | None = None,
        states: Collection[TaskState] | None = None,
    ) -> list[Event]:
        """The run's events with ``seq > after_seq``, in order; of these classes only, when
        ``kinds`` is given (a run's rollback without decoding its million task events); the
        task events (:class:`~legato.model.events.TaskTransitioned`) of the tasks with these
        ``keys`` only, when given (the attempts of a page of tasks, without decoding the
        events of the million others), into these ``states`` only, when given (a run's
        outputs, without the events that led to them); the first ``limit`` of them when
        given (a page of a log of millions of events, or its ``RunStarted`` alone)."""
        ...

    def task_records(self, run_id: str, *, keys: Collection[str] | None = None) -> list[TaskRecord]:
        """The task projection of a run; of the tasks with these ``keys`` only, when given
        (the few tasks a run's output names, without reading its million others)."""
        ...

    def run_output(self, run_id: str) -> dict[str, Any] | None:
        """How the run's output is made (its ``RunStarted``'s ``output``; None where it was
        not recorded), without decoding the plan beside it: a million planned tasks."""
        ...

    def step_counts(self, run_id: str) -> list[StepCount]:
        """How many of the run's tasks of each name stand in each state, names in the order
        their first tasks appeared (the plan's order): a run of a million tasks summed up
        by one grouped query, never read."""
        ...

    def task_page(
        self,
        run_id: str,
        *,
        states: Collection[TaskState] | None = None,
        offset: int = 0,
        limit: int = 100,
        groups: bool = False,
    ) -> ItemPage:
        """The run's tasks and map items (the group records of mapped tasks left out, or in
        their places with ``groups``) in one of ``states`` when given, in the order they
        appeared, ``limit`` of them from the ``offset``-th, and how many match: the failed
        or running tasks of a huge run, a page at a time (nothing for an unknown run)."""
        ...

    def planned_tasks(self, run_id: str) -> list[TaskRecord]:
        """The task projection's planned tasks in plan order, map items left out: a run's
        shape and states without reading each of its (maybe 100,000) map items."""
        ...

    def item_counts(self, run_id: str) -> dict[str, dict[str, int]]:
        """How many items of each mapped task (by its key) stand in each state."""
        ...

    def map_items(
        self,
        run_id: str,
        parent: str,
        *,
        state: TaskState | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> ItemPage:
        """The items of mapped task ``parent`` (its group record left out), in ``state``
        when given, by map index, ``limit`` of them from the ``offset``-th, and how many
        match: a list of a 100,000-item map scrolled a page at a time, never read whole
        (nothing for an unknown run or task)."""
        ...

    def cache_hits(self, run_id: str) -> dict[str, str]:
        """Of the run's tasks that were cache hits: task key -> the run whose output each
        reused."""
        ...

    def cache_parts(
        self, run_id: str, *, keys: Collection[str] | None = None
    ) -> dict[str, dict[str, str]]:
        """What the cache keys of a run's tasks covered, by task key (to explain misses);
        of ``keys`` only, when given (those without parts left out)."""
        ...

    def lookup_cache(self, keys: Sequence[str]) -> dict[str, CacheHit]:
        """The newest cache entry for each of ``keys`` that has one (the engine applies
        expiry, which is a task option)."""
        ...

    def clear_cache(self, *, task: str | None = None) -> int:
        """Forget cache entries (all, or of one task name); returns how many."""
        ...

    def task_names(self) -> list[str]:
        """The names of every task the store knows, sorted: of any run's tasks and of
        cache entries (to tell a task that has no cache entries from a misspelt name).
        Reads every task of every run: for rare commands, never for a run."""
        ...

    def read_tracked(self, run_id: str, *, extremes: bool = False) -> list[Tracked]:
        """The tracked values of a run's attempts: by task key, attempt, kind, name and
        step. ``extremes``: of each metric series (task key, attempt, name) only the points
        at its highest step and with its lowest and highest value (NaN left out; of equal
        values the lowest step's), which is what a comparison shows of it, kept by the store
        as the values are written (``legato.store.metric_summary``) instead of read point by
        point."""
        ...

    def read_runs(
        self,
        run_ids: Sequence[str],
        *,
        extremes: bool = False,
        metrics: Collection[str] | None = None,
    ) -> dict[str, RunReading]:
        """Of the runs with exactly these ids, in their order (others left out: a prefix is
        :meth:`get_run`'s to resolve), each one's info, tracked values and cache hits, read
        together: comparing 200 runs costs a few queries, not three round trips per run.
        ``metrics``: only the metric series of these names are read as ``extremes`` says;
        of every other series only its point at the highest step (so which attempt logged
        what is still known): one metric's curves of 200 runs without every step of
        every metric."""
        ...

    def append_logs(self, entries: Sequence[LogEntry]) -> None:
        """Store captured output."""
        ...

    def read_logs(
        self, run_id: str, *, key: str | None = None, after_seq: int = 0
    ) -> list[LogEntry]:
        """Captured output of a run (or one task), in order."""
        ...

    def log_size(self, run_id: str, key: str, attempt: int) -> int:
        """How many bytes (UTF-8) attempt ``attempt`` of task ``key`` wrote."""
        ...

    def read_log_bytes(self, run_id: str, key: str, attempt: int, start: int, stop: int) -> bytes:
        """Bytes ``[start, stop)`` of what that attempt wrote (its entries joined, as UTF-8;
        a window edge may fall inside a character): reading a log's tail costs what the
        tail is, not what the log is."""
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

    def put_json_list(self, values: Iterable[Any], *, producer: str) -> ArtifactRef:
        """Store the list of ``values`` as ``put`` stores it with the ``json`` serialiser,
        encoded and written a few thousand at a time (legato's own JSON)."""
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
