"""How the in-memory store answers ``find_runs``: the query of
:mod:`legato.model.run_query` applied to runs held in this process, one by one. The SQL
store answers the same queries with one statement (:mod:`legato.store.sql.queries`); the
conformance suite holds the two to the same pages."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from legato.model.run_query import RunCursor, RunPage, RunQuery, metric_of, param_matches
from legato.model.runs import RunInfo
from legato.model.tracking import Tracked, TrackKind

__all__ = ["find_runs"]


def find_runs(
    runs: Iterable[RunInfo], tracked: Callable[[str], Sequence[Tracked]], query: RunQuery
) -> RunPage:
    """The page of ``runs`` that ``query`` selects; ``tracked(run_id)`` gives a run's
    tracked values (for its tags and metrics)."""
    keyed: list[tuple[float, str, RunInfo]] = []
    for info in runs:
        if not _selects(query, info, tracked):
            continue
        key = (
            info.created_at
            if query.order_by is None
            else metric_of(tracked(info.run_id), query.order_by)
        )
        if key is not None:
            keyed.append((key, info.run_id, info))
    keyed.sort(key=lambda k: (k[0], k[1]), reverse=query.descending)
    after = query.after
    if after is not None:
        mark = (after.key, after.run_id)
        keyed = [k for k in keyed if (k[:2] < mark if query.descending else k[:2] > mark)]
    size = query.page_size
    page = keyed[:size]
    more = len(keyed) > size and page
    return RunPage(
        runs=tuple(info for _, _, info in page),
        next=RunCursor(key=page[-1][0], run_id=page[-1][1]) if more else None,
    )


def _selects(query: RunQuery, info: RunInfo, tracked: Callable[[str], Sequence[Tracked]]) -> bool:
    if query.pipeline is not None and info.pipeline != query.pipeline:
        return False
    if query.states is not None and info.state not in query.states:
        return False
    if query.silent_since is not None and not info.heartbeat_at < query.silent_since:
        return False
    if query.beating_since is not None and not info.heartbeat_at >= query.beating_since:
        return False
    if query.created_from is not None and not info.created_at >= query.created_from:
        return False
    if query.created_before is not None and not info.created_at < query.created_before:
        return False
    if query.param is not None and not param_matches(info.params, *query.param):
        return False
    if query.tag is not None:
        name, value = query.tag
        if not any(
            t.kind is TrackKind.TAG and t.name == name and t.value == value
            for t in tracked(info.run_id)
        ):
            return False
    return query.metric is None or query.metric.holds(
        metric_of(tracked(info.run_id), query.metric.name)
    )
