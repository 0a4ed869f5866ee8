"""The runs list: a :class:`RunFilter` as a user writes it (query string, command options)
becomes a :class:`~legato.model.run_query.RunQuery` for ``RunStore.find_runs``, and its page
becomes a :class:`~legato.query.views.RunList`.

``crashed`` is no stored state: a run is shown crashed when it has not ended and its
orchestrator is dead (:func:`shown_state`, the one judgement the CLI, the API and resume
share). Filtering on it in the store can only be a heartbeat condition: a run whose
orchestrator died less than ``stale_after`` seconds ago on this host is listed under its
live state, and shown crashed.

The page cursor travels as an opaque token: the sort key and id of the page's last run, with
the order it belongs to, base64url-encoded JSON. A token is refused with another order, or
when malformed, with a message saying to start from the first page.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import time
from dataclasses import dataclass

from legato.errors import ParameterError
from legato.liveness import orchestrator_alive
from legato.model.run_query import MetricRange, RunCursor, RunQuery, param_text
from legato.model.runs import RunInfo
from legato.model.states import CRASHED, RUN_STATES_SHOWN, RunState
from legato.query.views import RunList, run_summary
from legato.store.base import RunStore

__all__ = ["CRASHED", "RUN_STATES", "RunFilter", "list_runs", "shown_state", "to_query"]

RUN_STATES = RUN_STATES_SHOWN
"""The states a list filters on: every :class:`RunState`, and ``crashed``."""

_LIVE = frozenset(state for state in RunState if not state.is_terminal)
_CREATED = "created"


@dataclass(frozen=True, slots=True, kw_only=True)
class RunFilter:
    """Which runs to list and in which order, as a user writes it."""

    pipeline: str | None = None
    state: str | None = None
    """One of :data:`RUN_STATES`."""
    tag: str | None = None
    """``name=value``: a tag one of the run's tasks set."""
    param: str | None = None
    """``name=value``: a scalar run parameter, the value as JSON (``3``, ``true``) or as
    text (``adam``)."""
    metric: str | None = None
    """A metric whose value must lie in ``[metric_min, metric_max]``."""
    metric_min: float | None = None
    metric_max: float | None = None
    created_from: float | None = None
    """Created at or after this time (seconds since the epoch)."""
    created_before: float | None = None
    sort: str = _CREATED
    """``created``, or a metric's name: its runs by their value of it (runs without one
    are left out)."""
    descending: bool = True
    cursor: str | None = None
    """The token of the page to read (the ``next_cursor`` of the one before)."""
    limit: int = 50


def shown_state(info: RunInfo, stale_after: float, now: float | None = None) -> str:
    """The run's state, or ``crashed`` for one that has not ended and whose orchestrator is
    dead: known gone on this host (the judgement resume acts on), or, where that cannot be
    told, silent for ``stale_after`` seconds (no heartbeat)."""
    if info.state.is_terminal:
        return info.state.value
    alive = orchestrator_alive(info.owner, info.heartbeat_at)
    if alive is None:
        now = time.time() if now is None else now
        alive = now - info.heartbeat_at <= stale_after
    return info.state.value if alive else CRASHED


def list_runs(
    store: RunStore, wanted: RunFilter, *, stale_after: float, now: float | None = None
) -> RunList:
    """One page of the runs ``wanted`` selects."""
    now = time.time() if now is None else now
    query = to_query(wanted, stale_after=stale_after, now=now)
    page = store.find_runs(query)
    return RunList(
        runs=tuple(run_summary(r, shown_state(r, stale_after, now)) for r in page.runs),
        next_cursor=None if page.next is None else _encode(page.next, _order(wanted)),
    )


def to_query(wanted: RunFilter, *, stale_after: float, now: float) -> RunQuery:
    """The store query of ``wanted`` (``ParameterError`` naming what is malformed)."""
    states, silent_since, beating_since = _states(wanted.state, now - stale_after)
    if wanted.limit < 1:
        raise ParameterError(f"limit must be at least 1, not {wanted.limit}")
    metric = None
    if wanted.metric is not None:
        metric = MetricRange(
            name=_name(wanted.metric, "metric"),
            low=_bound(wanted.metric_min, "metric_min"),
            high=_bound(wanted.metric_max, "metric_max"),
        )
    elif wanted.metric_min is not None or wanted.metric_max is not None:
        raise ParameterError("metric_min and metric_max need metric: the name of the metric")
    return RunQuery(
        pipeline=wanted.pipeline,
        states=states,
        silent_since=silent_since,
        beating_since=beating_since,
        created_from=_bound(wanted.created_from, "created_from"),
        created_before=_bound(wanted.created_before, "created_before"),
        tag=_pair(wanted.tag, "tag") if wanted.tag is not None else None,
        param=_param(wanted.param) if wanted.param is not None else None,
        metric=metric,
        order_by=None if wanted.sort == _CREATED else _name(wanted.sort, "sort"),
        descending=wanted.descending,
        after=None if wanted.cursor is None else _decode(wanted.cursor, _order(wanted)),
        limit=wanted.limit,
    )


def _states(
    state: str | None, cutoff: float
) -> tuple[frozenset[RunState] | None, float | None, float | None]:
    """The stored states a shown state is, and the heartbeat condition that tells them."""
    if state is None:
        return None, None, None
    if state == CRASHED:
        return _LIVE, cutoff, None
    try:
        stored = RunState(state)
    except ValueError:
        raise ParameterError(f"state {state!r} is not one of {', '.join(RUN_STATES)}") from None
    return frozenset({stored}), None, cutoff if stored in _LIVE else None


def _name(text: str, what: str) -> str:
    if not text or not text.isprintable() or len(text) > 250:
        raise ParameterError(f"{what} {text[:60]!r} is not a name: give a metric's name")
    return text


def _bound(value: float | None, what: str) -> float | None:
    if value is not None and not math.isfinite(value):
        raise ParameterError(f"{what} must be a finite number, not {value!r}")
    return value


def _pair(text: str, what: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise ParameterError(f"{what} {text[:60]!r} must be written name=value")
    return name, value


def _param(text: str) -> tuple[str, tuple[str, ...]]:
    """A parameter filter: the name and the JSON texts its value may be stored as (the
    value as JSON, and as a string)."""
    name, value = _pair(text, "param")
    texts = [param_text(value)]
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = None
    else:
        texts.append(param_text(parsed))
    return name, tuple(sorted({t for t in texts if t is not None}))


def _order(wanted: RunFilter) -> str:
    return f"{wanted.sort}:{'desc' if wanted.descending else 'asc'}"


def _encode(cursor: RunCursor, order: str) -> str:
    raw = json.dumps([order, cursor.key, cursor.run_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(token: str, order: str) -> RunCursor:
    bad = ParameterError(
        f"cursor {token[:40]!r} is not one this list gave for sort and order {order!r}: "
        "leave it out to start from the first page"
    )
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        found, key, run_id = json.loads(raw)
    except (ValueError, TypeError, binascii.Error):
        raise bad from None
    if (
        found != order
        or not isinstance(key, int | float)
        or isinstance(key, bool)
        or not isinstance(run_id, str)
    ):
        raise bad
    return RunCursor(key=float(key), run_id=run_id)
