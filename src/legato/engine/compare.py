"""Runs side by side: their parameters and metrics (``legato.runs_compare``,
``legato runs compare``).

What a run shows (its values as :func:`legato.engine.tracked.summarize` reads them):

- its parameters (``param.<name>``), and the parameters its tasks logged;
- each metric its tasks logged: its final value (``metric.<name>``: the value at the
  highest step, from the task's latest attempt that logged it), and the lowest and highest
  value of its series (``metric_min.<name>``, ``metric_max.<name>``; NaN left out);
- a value logged under the same name by several tasks of the run is shown per task,
  ``metric.<task key>/<name>`` (the items of a map, ``train[0]``, ``train[1]``... or
  ``train[linear]``... when its items have keys, are tasks);
- a task that was a cache hit did not run and logged nothing: the run shows the values of
  the run that produced the cached output, and says so in ``notes``
  (``train: from run 01J...``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from legato.config import load_settings
from legato.engine.storage import open_storage
from legato.engine.tracked import by_name, summarize_runs
from legato.store.base import RunReading, RunStore

__all__ = ["METRIC_COLUMNS", "compare_rows", "read_named", "runs_compare"]

METRIC_COLUMNS = ("metric.", "metric_min.", "metric_max.")
"""The prefixes of a metric's columns, in the order they are shown: final, lowest, highest."""


def compare_rows(store: RunStore, run_ids: Sequence[str]) -> list[dict[str, Any]]:
    """One row per run: ``run``, ``pipeline``, ``state``, ``param.*``, for each metric
    ``metric.*``, ``metric_min.*`` and ``metric_max.*``, and ``notes``; every row has every
    column (None where a run has no such value)."""
    ids, readings = read_named(store, run_ids)
    summaries = summarize_runs(store, readings, extremes=True)
    rows: list[dict[str, Any]] = []
    for run_id in ids:
        info, summary = readings[run_id].info, summaries[run_id]
        row: dict[str, Any] = {
            "run": info.run_id,
            "pipeline": info.pipeline,
            "state": info.state.value,
        }
        logged = {**dict(info.params), **by_name(summary.params)}
        row.update({f"param.{k}": v for k, v in logged.items()})
        for name, series in by_name(summary.series).items():
            final, low, high = METRIC_COLUMNS
            row[final + name] = series.last.value
            row[low + name] = series.minimum
            row[high + name] = series.maximum
        notes = [f"{k}: from run {r}" for k, r in sorted(summary.borrowed.items())]
        row["notes"] = "; ".join(notes)
        rows.append(row)
    columns: set[str] = set()
    for row in rows:
        columns.update(row)
    params = sorted(c for c in columns if c.startswith("param."))
    final = METRIC_COLUMNS[0]
    names = sorted(c.removeprefix(final) for c in columns if c.startswith(final))
    metrics = [prefix + name for name in names for prefix in METRIC_COLUMNS]
    ordered = ["run", "pipeline", "state", *params, *metrics, "notes"]
    return [{c: row.get(c) for c in ordered} for row in rows]


def read_named(
    store: RunStore,
    run_ids: Sequence[str],
    *,
    extremes: bool = True,
    metrics: Collection[str] | None = None,
) -> tuple[list[str], dict[str, RunReading]]:
    """The ids of the runs ``run_ids`` name, in their order, and the runs read
    (:meth:`RunStore.read_runs` with ``extremes`` and ``metrics``): exact ids together, then
    the runs prefixes name (a prefix matching no run, or several, raises
    ``UnknownRunError``)."""
    found = store.read_runs(run_ids, extremes=extremes, metrics=metrics)
    ids = [r if r in found else store.get_run(r).run_id for r in run_ids]
    missing = [r for r in ids if r not in found]
    if missing:
        found.update(store.read_runs(missing, extremes=extremes, metrics=metrics))
    return ids, found


def runs_compare(
    run_ids: Sequence[str], *, store: RunStore | None = None, profile: str | None = None
) -> Any:
    """Parameters and metrics of ``run_ids`` side by side (ids or unique prefixes):
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
