"""The Python client: ``legato.runs``, ``legato.get_run`` and ``legato.latest_output``, the
recorded runs of a profile read from a notebook or a script.

They answer what ``GET /api/v1/runs`` and ``legato runs list`` answer, from the same read
model (:mod:`legato.query.runs`: one filter, one store query, one judgement of a crashed
run), over the stores of the current profile, opened read-only as ``legato.read_tracked``
opens them (``profile=`` chooses another; ``store=`` takes a
:class:`~legato.store.base.Storage`, as ``legato.run(store=...)`` does). Unlike the API
server, they load outputs (:mod:`legato.query.stored`): the caller's own process reads its
own runs.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from legato.config import Settings, load_settings
from legato.engine.storage import open_storage
from legato.errors import ParameterError, UnknownRunError
from legato.model.run_query import MAX_PAGE, RunQuery, param_text
from legato.model.runs import RunInfo
from legato.model.states import RunState
from legato.query.runs import RunFilter, shown_state, to_query
from legato.query.stored import StoredRun, stored_run
from legato.query.views import RunSummary, run_summary
from legato.store.base import Storage

__all__ = ["get_run", "latest_output", "runs"]

Time = float | dt.datetime
"""A moment: seconds since the epoch, or a datetime (a naive one is local time)."""


def runs(
    pipeline: str | None = None,
    *,
    state: str | RunState | None = None,
    tag: str | None = None,
    params: Mapping[str, Any] | None = None,
    metric: str | None = None,
    metric_min: float | None = None,
    metric_max: float | None = None,
    since: Time | None = None,
    until: Time | None = None,
    sort: str = "created",
    descending: bool = True,
    limit: int | None = 50,
    profile: str | None = None,
    store: Storage | None = None,
) -> list[RunSummary]:
    """The recorded runs that match, newest first (or by ``sort``), at most ``limit`` (None:
    all of them), as ``GET /api/v1/runs`` lists them::

        legato.runs("train", state="succeeded", params={"lr": 0.01}, metric="accuracy",
                    metric_min=0.9, since=datetime(2026, 12, 1))

    ``state`` is a run state or ``"crashed"`` (not ended, its orchestrator gone); ``tag``
    is ``"name=value"`` (a tag one of its tasks set); ``params`` the run parameters it was
    given (each value compared as recorded: ``3`` is not ``"3"``); ``metric`` a metric whose
    value (its latest attempt's last) lies in ``[metric_min, metric_max]``; ``since`` and
    ``until`` bound its creation time; ``sort`` is ``"created"`` or a metric's name.
    ``ParameterError`` says what is malformed."""
    settings, storage = _open(profile, store)
    if limit is not None and limit < 1:
        raise ParameterError(f"limit must be at least 1 (or None: every run), not {limit}")
    now = time.time()
    wanted = RunFilter(
        pipeline=pipeline,
        state=state.value if isinstance(state, RunState) else state,
        tag=tag,
        metric=metric,
        metric_min=metric_min,
        metric_max=metric_max,
        created_from=_seconds(since, "since"),
        created_before=_seconds(until, "until"),
        sort=sort,
        descending=descending,
        limit=MAX_PAGE if limit is None or params else limit,
    )
    query = to_query(wanted, stale_after=settings.stale_after, now=now)
    matches = _ParamMatch(dict(params or {}))
    if matches.first is not None:
        query = replace(query, param=matches.first)
    found: list[RunSummary] = []
    while limit is None or len(found) < limit:
        page = storage.runs.find_runs(query)
        for info in page.runs:
            if matches(info) and (limit is None or len(found) < limit):
                found.append(run_summary(info, shown_state(info, settings.stale_after, now)))
        if page.next is None:
            break
        query = replace(query, after=page.next)
    return found


def get_run(run_id: str, *, profile: str | None = None, store: Storage | None = None) -> StoredRun:
    """Run ``run_id`` (an id or a unique prefix) as recorded: a :class:`~legato.RunResult`
    (``state``, ``ok``, ``tasks``, ``output``...) with its ``params``, ``metrics``, ``tags``
    and ``task_output(task)``. ``UnknownRunError`` (naming the store) when no run, or
    several, match."""
    settings, storage = _open(profile, store)
    return stored_run(storage.runs, storage.artifacts, run_id, stale_after=settings.stale_after)


def latest_output(
    pipeline: str,
    task: str | None = None,
    *,
    profile: str | None = None,
    store: Storage | None = None,
) -> Any:
    """The output of the newest succeeded run of ``pipeline``: what the pipeline returned,
    or, with ``task`` (a task's name or key), that task's output, loaded from the artifact
    store (checksums verified). ``UnknownRunError`` when the pipeline has no succeeded run,
    saying what its runs are; ``OutputSkippedError`` when that run's output was skipped (a
    branch not taken), naming the run, the task and the branch."""
    _, storage = _open(profile, store)
    page = storage.runs.find_runs(
        RunQuery(pipeline=pipeline, states=frozenset({RunState.SUCCEEDED}), limit=1)
    )
    if not page.runs:
        raise UnknownRunError(_never_succeeded(storage, pipeline))
    run = stored_run(storage.runs, storage.artifacts, page.runs[0].run_id)
    return run.output if task is None else run.task_output(task)


def _open(profile: str | None, store: Storage | None) -> tuple[Settings, Storage]:
    settings = load_settings(profile)
    return settings, store if store is not None else open_storage(settings, read_only=True)


def _never_succeeded(storage: Storage, pipeline: str) -> str:
    recent = storage.runs.find_runs(RunQuery(pipeline=pipeline, limit=5)).runs
    if recent:
        states = ", ".join(f"{r.run_id} {r.state.value}" for r in recent)
        return (
            f"pipeline {pipeline!r} has no succeeded run yet; its newest runs: {states} "
            "(legato.get_run(id) reads any of them)"
        )
    names = sorted({r.pipeline for r in storage.runs.find_runs(RunQuery(limit=MAX_PAGE)).runs})
    known = ", ".join(repr(n) for n in names) or "none: nothing has run with this store"
    return f"no run of pipeline {pipeline!r} is recorded; pipelines with recent runs: {known}"


def _seconds(moment: Time | None, what: str) -> float | None:
    if moment is None or isinstance(moment, int | float):
        return moment
    if isinstance(moment, dt.datetime):
        return moment.timestamp()
    raise ParameterError(
        f"{what} must be a datetime or seconds since the epoch, not {type(moment).__name__}"
    )


class _ParamMatch:
    """Whether a run was given ``params``: the first scalar one is left to the store's
    query (``first``), every one is checked on the runs it answers."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params
        self.first: tuple[str, tuple[str, ...]] | None = None
        for name, value in params.items():
            text = param_text(value)
            if text is not None:
                self.first = (name, (text,))
                break

    def __call__(self, info: RunInfo) -> bool:
        return all(
            name in info.params and _same(info.params[name], value)
            for name, value in self.params.items()
        )


def _same(recorded: Any, given: Any) -> bool:
    """Whether a recorded parameter is the value given: scalars as the store compares them
    (by their JSON text, so ``1`` is not ``True``), anything else by equality."""
    text = param_text(given)
    if text is not None:
        return param_text(recorded) == text
    return type(recorded) is type(given) and bool(recorded == given)
