"""The SQL run store's reads, as functions of a connection, and how its rows become
records (:class:`RunInfo`, :class:`TaskRecord`, :class:`Tracked`, :class:`LogEntry`).

Apart from :mod:`legato.store.sql.store` so that the store keeps transactions, writes and
ownership, and a reader finds each row's decoding in one place.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa

from legato.errors import StoreError, UnknownRunError
from legato.model.artifacts import ArtifactRef
from legato.model.codec import artifact_from_dict
from legato.model.errors import ErrorInfo, ErrorKind
from legato.model.jsonable import from_jsonable, to_jsonable
from legato.model.records import TaskRecord
from legato.model.runs import RunInfo
from legato.model.states import RunState, TaskState
from legato.model.tracking import Tracked, TrackKind
from legato.store import metric_summary
from legato.store.base import RunReading
from legato.store.refusals import only_match, unknown_run_message
from legato.store.sql.batch import dumps
from legato.store.sql.run_tables import artifacts, runs, task_runs
from legato.store.sql.tracking_tables import metric_summaries, tracked_metrics, tracked_values

__all__ = [
    "cache_hits",
    "cache_parts",
    "item_counts",
    "output_ref",
    "planned",
    "run",
    "run_info",
    "runs_of",
    "storable",
    "task_record",
    "tasks",
    "tracked",
    "tracked_of",
]


_RUN = sa.select(runs).where(runs.c.run_id == sa.bindparam("run_id"))
# Built once, as the statements below: a comparison reads hundreds of runs.


def run(run_id: str, where: str, c: sa.Connection) -> RunInfo:
    """The run with this id, or the only one whose id starts with it (``where`` names the
    store in the error)."""
    row = c.execute(_RUN, {"run_id": run_id}).first()
    if row is not None:
        return run_info(row)
    if not run_id:
        raise UnknownRunError(unknown_run_message(run_id, where))
    pattern = run_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    found = c.execute(
        sa.select(runs.c.run_id)
        .where(
            runs.c.run_id.like(pattern + "%", escape="\\"),
            # SQLite's LIKE ignores case; ids do not.
            sa.func.substr(runs.c.run_id, 1, len(run_id)) == run_id,
        )
        .order_by(runs.c.run_id)
        .limit(6)
    ).scalars()
    match = only_match(run_id, list(found), where)
    return run_info(c.execute(sa.select(runs).where(runs.c.run_id == match)).one())


_M, _S = tracked_metrics.c, metric_summaries.c
# Built once, for runs named by an expanding ``IN``: a comparison reads hundreds of runs.
_IDS: sa.BindParameter[list[str]] = sa.bindparam("run_ids", expanding=True)
_ALL_POINTS = sa.select(
    _M.run_id, _M.key, _M.attempt, _M.name, _M.step, _M.value, _M.at, _M.map_index
).where(_M.run_id.in_(_IDS))
_SUMMARIES = sa.select(
    _S.run_id, _S.key, _S.attempt, _S.name, *(_S[c] for c in metric_summary.END_COLUMNS)
).where(_S.run_id.in_(_IDS))
_NAMES: sa.BindParameter[list[str]] = sa.bindparam("names", expanding=True)
# The range on ``attempt`` (always true) lets SQLite's planner, which has no statistics,
# seek by (run_id, name) on ix_tracked_metrics_run_name instead of walking each run's every
# metric by the primary key: one metric of 200 runs x 50 metrics in 0.07 s, not 0.17 to 0.5.
_NAMED_POINTS = _ALL_POINTS.where(_M.name.in_(_NAMES), _M.attempt >= 1)
_NAMED_SUMMARIES = _SUMMARIES.where(_S.name.in_(_NAMES))
_OTHER_LASTS = sa.select(
    _S.run_id, _S.key, _S.attempt, _S.name, _S.last_step, _S.last_value, _S.last_at,
    _S.last_map_index,
).where(_S.run_id.in_(_IDS), _S.name.not_in(_NAMES))  # fmt: skip
_VALUES = sa.select(tracked_values).where(tracked_values.c.run_id.in_(_IDS))
_RUNS = sa.select(runs).where(runs.c.run_id.in_(_IDS))
_CACHE_HITS = sa.select(task_runs.c.run_id, task_runs.c.key, task_runs.c.cache_hit).where(
    task_runs.c.run_id.in_(_IDS), task_runs.c.cache_hit.is_not(None)
)
CHUNK = 500
"""The most run ids one ``IN (...)`` names: well under any database's limit of bound
parameters (SQLite's is 32,766, older builds' 999)."""


def tracked(run_id: str, c: sa.Connection, *, extremes: bool = False) -> list[Tracked]:
    """The tracked values of a run: by task key, attempt, kind, name and step (of each
    metric series only its extreme and last points, with ``extremes``)."""
    return tracked_of([run_id], c, extremes=extremes).get(run_id, [])


def tracked_of(
    run_ids: Sequence[str],
    c: sa.Connection,
    *,
    extremes: bool = False,
    metrics: Collection[str] | None = None,
) -> dict[str, list[Tracked]]:
    """:func:`tracked` of each of ``run_ids`` that logged any value, in one query of
    metrics and one of other values per :data:`CHUNK` runs (each fetched whole: a row at a
    time costs a driver call per row). ``metrics``: only the series of these names are read
    point by point (:meth:`RunStore.read_runs`); of the others, their summaries' last
    points."""
    found: dict[str, list[Tracked]] = {}
    for chunk in _chunks(run_ids):
        points = _points(chunk, c, extremes=extremes, metrics=metrics)
        for run_id, key, attempt, name, (step, value, at, map_index) in points:
            found.setdefault(run_id, []).append(
                Tracked(
                    run_id=run_id,
                    key=key,
                    attempt=attempt,
                    kind=TrackKind.METRIC,
                    name=name,
                    value=math.nan if value is None else value,
                    map_index=map_index,
                    step=step,
                    at=at,
                )
            )
        for row in c.execute(_VALUES, {"run_ids": chunk}).all():
            found.setdefault(row.run_id, []).append(
                Tracked(
                    run_id=row.run_id,
                    key=row.key,
                    attempt=row.attempt,
                    kind=TrackKind(row.kind),
                    name=row.name,
                    value=json.loads(row.value),
                    map_index=row.map_index,
                    at=row.at,
                )
            )
    for values in found.values():
        # Sorted here, not in SQL: the same order as the in-memory store whatever the
        # database's collation.
        values.sort(key=lambda t: (t.key, t.attempt, t.kind.value, t.name, t.step))
    return found


def runs_of(
    run_ids: Sequence[str],
    c: sa.Connection,
    *,
    extremes: bool = False,
    metrics: Collection[str] | None = None,
) -> dict[str, RunReading]:
    """The runs with exactly these ids, each with its tracked values and cache hits: four
    queries per :data:`CHUNK` runs (five with ``metrics``), however many runs."""
    infos = {}
    hits: dict[str, dict[str, str]] = {}
    for chunk in _chunks(run_ids):
        infos.update({row.run_id: run_info(row) for row in c.execute(_RUNS, {"run_ids": chunk})})
        for run_id, key, hit in c.execute(_CACHE_HITS, {"run_ids": chunk}):
            hits.setdefault(run_id, {})[key] = hit
    tracked = tracked_of(list(infos), c, extremes=extremes, metrics=metrics)
    return {
        run_id: RunReading(
            info=infos[run_id], tracked=tracked.get(run_id, []), cache_hits=hits.get(run_id, {})
        )
        for run_id in dict.fromkeys(run_ids)
        if run_id in infos
    }


def _points(
    chunk: list[str], c: sa.Connection, *, extremes: bool, metrics: Collection[str] | None
) -> list[tuple[str, str, int, str, metric_summary.Point]]:
    """The metric points of the runs of ``chunk`` (see :func:`tracked_of`), each as
    ``(run_id, key, attempt, name, point)``."""
    bound: dict[str, Any] = {"run_ids": chunk}
    if metrics is not None:
        bound["names"] = sorted(metrics)
    found: list[tuple[str, str, int, str, metric_summary.Point]] = []
    if extremes:
        query = _SUMMARIES if metrics is None else _NAMED_SUMMARIES
        for row in c.execute(query, bound).all():
            found.extend(
                (row[0], row[1], row[2], row[3], p) for p in metric_summary.points_of(row[4:])
            )
    else:
        query = _ALL_POINTS if metrics is None else _NAMED_POINTS
        found.extend(
            (row[0], row[1], row[2], row[3], tuple(row[4:]))
            for row in c.execute(query, bound).all()
        )
    if metrics is not None:
        found.extend(
            (row[0], row[1], row[2], row[3], tuple(row[4:]))
            for row in c.execute(_OTHER_LASTS, bound).all()
        )
    return found


def _chunks(run_ids: Sequence[str]) -> list[list[str]]:
    unique = list(dict.fromkeys(run_ids))
    return [unique[i : i + CHUNK] for i in range(0, len(unique), CHUNK)]


def tasks(run_id: str, c: sa.Connection, keys: Collection[str] | None = None) -> list[TaskRecord]:
    """The task projection: planned tasks in plan order, then map items as they appeared
    (of ``keys`` only, when given: a few primary-key seeks per chunk of them)."""
    query = (
        sa.select(task_runs, artifacts.c.inline)
        .select_from(
            task_runs.outerjoin(artifacts, artifacts.c.checksum == task_runs.c.output_checksum)
        )
        .where(task_runs.c.run_id == run_id)
        .order_by(task_runs.c.ord_seq, task_runs.c.ord_idx)
    )
    if keys is None:
        return [task_record(row) for row in c.execute(query)]
    rows = [
        row
        for chunk in _chunks(list(keys))
        for row in c.execute(query.where(task_runs.c.key.in_(chunk)))
    ]
    rows.sort(key=lambda row: (row.ord_seq, row.ord_idx))
    return [task_record(row) for row in rows]


def cache_parts(
    run_id: str, c: sa.Connection, keys: Collection[str] | None = None
) -> dict[str, dict[str, str]]:
    """What the cache keys of a run's tasks covered, by task key (of ``keys`` only, when
    given)."""
    query = sa.select(task_runs.c.key, task_runs.c.cache_parts).where(
        task_runs.c.run_id == run_id, task_runs.c.cache_parts.is_not(None)
    )
    loads = json.loads
    if keys is None:
        return {key: loads(parts) for key, parts in c.execute(query)}
    return {
        key: loads(parts)
        for chunk in _chunks(list(keys))
        for key, parts in c.execute(query.where(task_runs.c.key.in_(chunk)))
    }


def planned(run_id: str, c: sa.Connection) -> list[TaskRecord]:
    """The planned tasks in plan order (map items, which have a parent, left out)."""
    query = (
        sa.select(task_runs, artifacts.c.inline)
        .select_from(
            task_runs.outerjoin(artifacts, artifacts.c.checksum == task_runs.c.output_checksum)
        )
        .where(task_runs.c.run_id == run_id, task_runs.c.parent.is_(None))
        .order_by(task_runs.c.ord_seq, task_runs.c.ord_idx)
    )
    return [task_record(row) for row in c.execute(query)]


def item_counts(run_id: str, c: sa.Connection) -> dict[str, dict[str, int]]:
    """Map items (group records left out) per mapped task, per state: one grouped scan."""
    t = task_runs.c
    query = (
        sa.select(t.parent, t.state, sa.func.count())
        .where(t.run_id == run_id, t.parent.is_not(None), t.mapped == sa.false())
        .group_by(t.parent, t.state)
    )
    counts: dict[str, dict[str, int]] = {}
    for parent, state, n in c.execute(query):
        counts.setdefault(parent, {})[state] = n
    return counts


def cache_hits(run_id: str, c: sa.Connection) -> dict[str, str]:
    """Task key -> the run whose output it reused."""
    return {key: hit for _, key, hit in c.execute(_CACHE_HITS, {"run_ids": [run_id]})}


def storable(run: RunInfo) -> tuple[str, str]:
    """The run's parameters and environment as JSON; ``StoreError`` if a value cannot be
    stored."""
    try:
        return dumps(to_jsonable(dict(run.params))), dumps(to_jsonable(dict(run.environment)))
    except (TypeError, ValueError) as exc:
        raise StoreError(f"run {run.run_id!r} cannot be stored: {exc}") from None


def run_info(row: sa.Row[Any]) -> RunInfo:
    """A ``runs`` row as a :class:`RunInfo`."""
    return RunInfo(
        run_id=row.run_id,
        pipeline=row.pipeline,
        target=row.target,
        fingerprint=row.fingerprint,
        state=RunState(row.state),
        params=from_jsonable(json.loads(row.params)),
        executor=row.executor,
        created_at=row.created_at,
        ended_at=row.ended_at,
        heartbeat_at=row.heartbeat_at,
        owner=row.owner,
        epoch=row.epoch,
        reason=row.reason,
        environment=from_jsonable(json.loads(row.environment)),
        cancel_requested_at=row.cancel_requested_at,
        cancel_reason=row.cancel_reason or "",
    )


def output_ref(text: str, inline: bytes | None) -> ArtifactRef:
    """A stored output reference, with its inline bytes when the artifact has them."""
    ref = artifact_from_dict(json.loads(text))
    return ref if inline is None else dataclasses.replace(ref, inline=bytes(inline))


def task_record(row: sa.Row[Any]) -> TaskRecord:
    """A ``task_runs`` row (joined with its artifact's inline bytes) as a record."""
    error = None
    if row.error_type is not None:
        detail = json.loads(row.error_detail or "{}")
        error = ErrorInfo(
            kind=ErrorKind(detail.get("kind", ErrorKind.RAISED.value)),
            type_name=row.error_type,
            message=row.error_message or "",
            traceback=row.error_traceback or "",
            mro=tuple(detail.get("mro", ())),
        )
    return TaskRecord(
        key=row.key,
        name=row.name,
        state=TaskState(row.state),
        attempt=row.attempt,
        map_index=row.map_index,
        parent=row.parent,
        mapped=bool(row.mapped),
        items=row.items,
        started_at=row.started_at,
        ended_at=row.ended_at,
        first_started_at=row.first_started_at,
        ran_for=row.ran_for,
        reason=row.reason,
        error=error,
        output=output_ref(row.output, row.inline) if row.output is not None else None,
        cache_key=row.cache_key,
        cache_hit=row.cache_hit,
        cache_parts=json.loads(row.cache_parts) if row.cache_parts is not None else None,
    )
