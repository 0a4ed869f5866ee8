"""A run's artifacts, addressed only by run, task and attempt (outputs) or run, task and
name (logged artifacts), never by path: the reference comes from the run store, and its
location is checked before anything is read (:mod:`legato.query.preview`)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from legato.engine.tracked import summarize
from legato.errors import ParameterError
from legato.model.artifacts import ArtifactRef
from legato.model.events import TaskTransitioned
from legato.model.states import TaskState
from legato.query.tasks import OutputView, described
from legato.store.base import RunStore

__all__ = [
    "MAX_OUTPUTS",
    "ArtifactList",
    "LoggedView",
    "OutputOf",
    "artifact_list",
    "logged_ref",
    "output_ref",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputOf:
    """The output of one succeeded attempt of a task."""

    task: str
    attempt: int
    output: OutputView


@dataclass(frozen=True, slots=True, kw_only=True)
class LoggedView:
    """An artifact a task logged with ``log_artifact``."""

    task: str
    name: str
    filename: str | None
    artifact: OutputView


@dataclass(frozen=True, slots=True, kw_only=True)
class ArtifactList:
    """A run's stored outputs, a page at a time, and its logged artifacts, by their
    metadata."""

    run_id: str
    outputs: tuple[OutputOf, ...]
    logged: tuple[LoggedView, ...]
    next_after_seq: int | None = None
    """Where the next page of outputs starts (``after_seq``); None: this page is the last."""


MAX_OUTPUTS = 10_000
"""The most succeeded attempts one page of outputs reads, and a page's size when none is
asked."""


def _succeeded(
    store: RunStore,
    run_id: str,
    *,
    keys: Collection[str] | None = None,
    after_seq: int = 0,
    limit: int | None = None,
) -> list[TaskTransitioned]:
    """The run's ``succeeded`` events (of the tasks with ``keys``, when given), read alone:
    the events that led to them are never decoded."""
    found = store.read_events(
        run_id, after_seq, keys=keys, states=[TaskState.SUCCEEDED], limit=limit
    )
    return [e for e in found if isinstance(e, TaskTransitioned)]


def artifact_list(
    store: RunStore, run_id: str, *, after_seq: int = 0, limit: int = MAX_OUTPUTS
) -> ArtifactList:
    """What run ``run_id`` stored: the output of each succeeded attempt, ``limit`` (1 to
    :data:`MAX_OUTPUTS`) succeeded attempts from the event after ``after_seq`` on, and the
    artifacts its tasks logged (a cache hit's are those of the run that produced them).
    Raises ``ParameterError`` for a page out of bounds."""
    if not 1 <= limit <= MAX_OUTPUTS or after_seq < 0:
        raise ParameterError(f"a page is 1 to {MAX_OUTPUTS} outputs after event 0 or later")
    info = store.get_run(run_id)
    succeeded = _succeeded(store, info.run_id, after_seq=after_seq, limit=limit)
    refs = {(e.key, e.attempt): e.output for e in succeeded if e.output is not None}
    outputs = tuple(
        OutputOf(task=key, attempt=attempt, output=described(ref))
        for (key, attempt), ref in refs.items()
    )
    logged = tuple(
        LoggedView(task=a.task, name=a.name, filename=a.filename, artifact=described(a.ref))
        for a in summarize(store, info.run_id).artifacts.values()
    )
    full = len(succeeded) == limit
    return ArtifactList(
        run_id=info.run_id,
        outputs=outputs,
        logged=logged,
        next_after_seq=succeeded[-1].seq if full else None,
    )


def output_ref(store: RunStore, run_id: str, task: str, attempt: int) -> ArtifactRef | None:
    """The output of attempt ``attempt`` of task ``task`` of run ``run_id``, or None."""
    found = _succeeded(store, store.get_run(run_id).run_id, keys=[task])
    return next((e.output for e in found if e.attempt == attempt and e.output), None)


def logged_ref(store: RunStore, run_id: str, task: str, name: str) -> ArtifactRef | None:
    """The artifact task ``task`` of run ``run_id`` logged as ``name``, or None."""
    found = summarize(store, store.get_run(run_id).run_id).artifacts.get((task, name))
    return found.ref if found is not None else None
