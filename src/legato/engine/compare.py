"""Runs side by side: their parameters and final metrics (``legato.runs_compare``,
``legato runs compare``).

What a run shows:

- its parameters (``param.<name>``), and the parameters its tasks logged;
- the final value of each metric its tasks logged (``metric.<name>``): the value at the
  highest step, from the task's latest attempt that logged it;
- a value logged under the same name by several tasks of the run is shown per task,
  ``metric.<task key>/<name>`` (the items of a map, ``train[0]``, ``train[1]``... or
  ``train[linear]``... when its items have keys, are tasks);
- a task that was a cache hit did not run and logged nothing: the run shows the values of
  the run that produced the cached output, and says so in ``notes``
  (``train: from run 01J...``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from legato.config import load_settings
from legato.engine.storage import open_storage
from legato.model.jsonable import from_jsonable
from legato.model.tracking import Tracked, TrackKind
from legato.store.base import RunStore

__all__ = ["RunSummary", "compare_rows", "runs_compare", "summarize"]

_MAX_HOPS = 20  # cache hits of cache hits: a chain this long is a bug, not a run history


class RunSummary:
    """What one run tracked: final values by (task key, name), and where they came from."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.params: dict[tuple[str, str], Any] = {}
        self.metrics: dict[tuple[str, str], float] = {}
        self.series: dict[tuple[str, str], list[tuple[int, float]]] = {}
        self.tags: dict[tuple[str, str], str] = {}
        self.artifacts: dict[tuple[str, str], dict[str, Any]] = {}
        self.borrowed: dict[str, str] = {}
        """Task key → the run whose values it shows (it was a cache hit)."""

    def flat(self, which: str) -> dict[str, Any]:
        """``params``, ``metrics`` or ``tags`` by name (``key/name`` where several tasks
        logged the name)."""
        values: dict[tuple[str, str], Any] = getattr(self, which)
        counts: dict[str, int] = {}
        for _, name in values:
            counts[name] = counts.get(name, 0) + 1
        return {
            (name if counts[name] == 1 else f"{key}/{name}"): value
            for (key, name), value in sorted(values.items())
        }


def _final(tracked: Iterable[Tracked], keys: set[str] | None, into: RunSummary) -> None:
    latest: dict[str, int] = {}
    records = [t for t in tracked if keys is None or t.key in keys]
    for t in records:
        latest[t.key] = max(latest.get(t.key, 0), t.attempt)
    for t in records:  # sorted by key, attempt, kind, name, step
        if t.attempt != latest[t.key]:
            continue
        ident = (t.key, t.name)
        if t.kind is TrackKind.METRIC:
            into.metrics[ident] = t.value  # the highest step comes last
            into.series.setdefault(ident, []).append((t.step, t.value))
        elif t.kind is TrackKind.PARAM:
            into.params[ident] = from_jsonable(t.value)
        elif t.kind is TrackKind.TAG:
            into.tags[ident] = t.value
        else:
            into.artifacts[ident] = t.value


def summarize(store: RunStore, run_id: str) -> RunSummary:
    """The final tracked values of a run, cache hits resolved to the runs that produced
    their outputs."""
    info = store.get_run(run_id)
    summary = RunSummary(info.run_id)
    _final(store.read_tracked(info.run_id), None, summary)
    pending: dict[str, set[str]] = {}
    for record in store.task_records(info.run_id):
        if record.cache_hit is not None and record.cache_hit != info.run_id:
            pending.setdefault(record.cache_hit, set()).add(record.key)
            summary.borrowed[record.key] = record.cache_hit
    hops = 0
    while pending and hops < _MAX_HOPS:
        hops += 1
        following: dict[str, set[str]] = {}
        for source, keys in pending.items():
            _final(store.read_tracked(source), keys, summary)
            for record in store.task_records(source):
                if record.key in keys and record.cache_hit not in (None, source):
                    assert record.cache_hit is not None
                    following.setdefault(record.cache_hit, set()).add(record.key)
                    summary.borrowed[record.key] = record.cache_hit
        pending = following
    return summary


def compare_rows(store: RunStore, run_ids: Sequence[str]) -> list[dict[str, Any]]:
    """One row per run: ``run``, ``pipeline``, ``state``, ``param.*``, ``metric.*`` and
    ``notes``; every row has every column (None where a run has no such value)."""
    rows: list[dict[str, Any]] = []
    for run_id in run_ids:
        info = store.get_run(run_id)
        summary = summarize(store, info.run_id)
        row: dict[str, Any] = {
            "run": info.run_id,
            "pipeline": info.pipeline,
            "state": info.state.value,
        }
        logged = {**dict(info.params), **summary.flat("params")}
        row.update({f"param.{k}": v for k, v in logged.items()})
        row.update({f"metric.{k}": v for k, v in summary.flat("metrics").items()})
        notes = [f"{k}: from run {r}" for k, r in sorted(summary.borrowed.items())]
        row["notes"] = "; ".join(notes)
        rows.append(row)
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    params = sorted(c for c in columns if c.startswith("param."))
    metrics = sorted(c for c in columns if c.startswith("metric."))
    ordered = ["run", "pipeline", "state", *params, *metrics, "notes"]
    return [{c: row.get(c) for c in ordered} for row in rows]


def runs_compare(
    run_ids: Sequence[str], *, store: RunStore | None = None, profile: str | None = None
) -> Any:
    """Parameters and final metrics of ``run_ids`` side by side (ids or unique prefixes):
    a pandas ``DataFrame`` indexed by run id when pandas is installed, else a list of
    dicts. ``store`` defaults to the profile's run store, as ``legato.run`` uses."""
    if store is None:
        store = open_storage(load_settings(profile), read_only=True).runs
    rows = compare_rows(store, list(run_ids))
    try:
        import pandas as pd  # type: ignore[import-untyped]  # noqa: PLC0415 (optional)
    except ImportError:
        return rows
    return pd.DataFrame(rows).set_index("run")
