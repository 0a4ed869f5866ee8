"""A run's artifacts, addressed only by run, task and attempt (outputs) or run, task and
name (logged artifacts), never by path: the reference comes from the run store, and its
location is checked before anything is read (:mod:`legato.query.preview`)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from legato.engine.tracked import summarize
from legato.model.artifacts import ArtifactRef
from legato.model.events import TaskTransitioned
from legato.model.states import TaskState
from legato.query.tasks import OutputView, described
from legato.store.base import RunStore

__all__ = [
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
    """A run's stored outputs and logged artifacts, by their metadata."""

    run_id: str
    outputs: tuple[OutputOf, ...]
    logged: tuple[LoggedView, ...]


def _outputs(
    store: RunStore, run_id: str, keys: Collection[str] | None = None
) -> dict[tuple[str, int], ArtifactRef]:
    """Each succeeded attempt's output (of the tasks with ``keys``, when given): read from
    the run's ``succeeded`` events alone, the events that led to them never decoded."""
    return {
        (e.key, e.attempt): e.output
        for e in store.read_events(run_id, keys=keys, states=[TaskState.SUCCEEDED])
        if isinstance(e, TaskTransitioned) and e.output
    }


def artifact_list(store: RunStore, run_id: str) -> ArtifactList:
    """What run ``run_id`` stored: each succeeded attempt's output, and the artifacts its
    tasks logged (a cache hit's are those of the run that produced them)."""
    info = store.get_run(run_id)
    outputs = tuple(
        OutputOf(task=key, attempt=attempt, output=described(ref))
        for (key, attempt), ref in _outputs(store, info.run_id).items()
    )
    logged = tuple(
        LoggedView(task=a.task, name=a.name, filename=a.filename, artifact=described(a.ref))
        for a in summarize(store, info.run_id).artifacts.values()
    )
    return ArtifactList(run_id=info.run_id, outputs=outputs, logged=logged)


def output_ref(store: RunStore, run_id: str, task: str, attempt: int) -> ArtifactRef | None:
    """The output of attempt ``attempt`` of task ``task`` of run ``run_id``, or None."""
    return _outputs(store, store.get_run(run_id).run_id, [task]).get((task, attempt))


def logged_ref(store: RunStore, run_id: str, task: str, name: str) -> ArtifactRef | None:
    """The artifact task ``task`` of run ``run_id`` logged as ``name``, or None."""
    found = summarize(store, store.get_run(run_id).run_id).artifacts.get((task, name))
    return found.ref if found is not None else None
