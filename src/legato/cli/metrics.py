"""``legato metrics RUN [--key K]``: the series of the metrics a run's tasks logged.

Each series is that of the task's latest attempt, and a task that was a cache hit shows the
series of the run that produced its output (see :mod:`legato.engine.tracked`). On a
terminal each series first gets one line: its sparkline and its final, lowest and highest
value; then, on a terminal or not, a table of every value (task, metric, step, value, time)
that stays one word per cell, for ``grep`` and ``awk``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from legato.cli.exits import OK, USAGE, CommandError
from legato.cli.formats import console, instant, number, sparkline
from legato.cli.settings import load, mask
from legato.cli.stores import open_existing
from legato.engine.tracked import Series, by_name, summarize

__all__ = ["chosen_series", "metrics_command"]


def chosen_series(
    series: Mapping[tuple[str, str], Series], keys: Sequence[str], run_id: str
) -> dict[str, Series]:
    """The series to show, by the name the commands give them (``loss``, or
    ``train/loss`` where several tasks logged ``loss``): all of them, or those a key of
    ``keys`` names, as a metric name (every task's series of it) or as ``task/name``."""
    named = by_name(series)
    if not keys:
        return named

    def names(label: str, s: Series) -> tuple[str, ...]:
        return label, s.name, f"{s.task}/{s.name}"

    chosen = {label: s for label, s in named.items() if set(keys) & set(names(label, s))}
    missing = [k for k in keys if not any(k in names(label, s) for label, s in named.items())]
    if missing:
        known = ", ".join(named) or "none"
        raise CommandError(
            f"run {run_id} has no metric {', '.join(map(repr, missing))}; its metrics: {known}",
            USAGE,
        )
    return chosen


def metrics_command(run_ref: str, *, keys: Sequence[str], profile: str | None) -> int:
    """Print the chosen series (all by default)."""
    store = open_existing(load(profile), f"run {run_ref!r}").runs
    info = store.get_run(run_ref)
    summary = summarize(store, info.run_id)
    shown = chosen_series(summary.series, keys, info.run_id)
    out = console()
    if not shown:
        out.print(f"run {info.run_id} logged no metrics", markup=False)
        return OK
    if out.is_terminal:
        _print_sparklines(out, shown)
        out.print()
    table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
    for name in ("task", "metric", "step", "value", "time"):
        table.add_column(name, justify="right" if name in ("step", "value") else "left")
    for s in shown.values():
        for point in s.points:
            # Text, not markup: an item key in brackets ([linear]) is no style tag.
            table.add_row(
                Text(s.task),
                Text(mask(s.name)),
                str(point.step),
                number(point.value),
                instant(point.at),
            )
    out.print(table)
    borrowed = sorted({s.task for s in shown.values() if s.task in summary.borrowed})
    for task in borrowed:
        out.print(
            f"{task} was a cache hit: its values are those of run {summary.borrowed[task]}",
            markup=False,
            style="dim",
        )
    return OK


def _print_sparklines(out: Console, shown: Mapping[str, Series]) -> None:
    width = max(len(label) for label in shown)
    for label, s in shown.items():
        values = [p.value for p in s.points]
        line = Text()
        line.append(mask(label).ljust(width), style="bold")
        line.append("  ")
        line.append(sparkline(values), style="cyan")
        line.append(
            f"  last {number(s.last.value)} at step {s.last.step} · min {number(s.minimum)}"
            f" · max {number(s.maximum)} · {len(values)} value{'s' if len(values) != 1 else ''}"
        )
        out.print(line, soft_wrap=True)
