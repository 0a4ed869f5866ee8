"""``legato runs compare``: parameters and metrics of runs side by side, the runs named or
the latest ones of a pipeline."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from legato.cli.exits import OK, USAGE, CommandError
from legato.cli.formats import console, number
from legato.cli.settings import load, mask
from legato.cli.stores import open_existing
from legato.engine.compare import compare_rows
from legato.store.base import RunStore

__all__ = ["check_choice", "chosen_runs", "compare_command"]


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return number(value)
    return str(value)


def check_choice(run_refs: list[str], *, last: int | None, pipeline: str | None) -> None:
    """Refuse an unclear choice of runs (exit status 2) before any store is opened."""
    if last is None:
        if pipeline is not None and not run_refs:
            raise CommandError("--pipeline picks runs with --last N: add --last N", USAGE)
        if pipeline is not None:
            raise CommandError(
                "--pipeline picks runs with --last N and cannot filter runs named by id: "
                "give run ids, or --last N --pipeline NAME",
                USAGE,
            )
        if not run_refs:
            raise CommandError(
                "name the runs to compare: RUN RUN ..., or --last N [--pipeline NAME]", USAGE
            )
    elif run_refs:
        raise CommandError(
            "give run ids or --last N, not both (--last N picks the N newest runs)", USAGE
        )


def chosen_runs(
    store: RunStore, run_refs: list[str], *, last: int | None, pipeline: str | None
) -> list[str]:
    """The runs to compare: those named, in the order given; or with ``last``, the
    ``last`` newest runs (of ``pipeline``), oldest first so that values read left to right
    in the order the runs started."""
    check_choice(run_refs, last=last, pipeline=pipeline)
    if last is None:
        return run_refs
    runs = store.list_runs(pipeline=pipeline, limit=last)
    if not runs:
        which = f" of pipeline {pipeline!r}" if pipeline else ""
        raise CommandError(f"no runs{which} to compare (legato runs lists them)", USAGE)
    return [info.run_id for info in reversed(runs)]


def compare_command(
    run_refs: list[str], *, last: int | None, pipeline: str | None, profile: str | None
) -> int:
    """One column per run, one row per parameter and metric (final, lowest, highest)."""
    check_choice(run_refs, last=last, pipeline=pipeline)
    which = f"runs {', '.join(map(repr, run_refs))}" if run_refs else f"the last {last} runs"
    storage = open_existing(load(profile), which)
    rows = compare_rows(
        storage.runs, chosen_runs(storage.runs, run_refs, last=last, pipeline=pipeline)
    )
    table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
    table.add_column("")
    for row in rows:
        table.add_column(str(row["run"]))
    names = [c for c in rows[0] if c not in ("run", "notes")] if rows else []
    # Text, not markup: names hold task keys (``score[linear]/accuracy``) that rich would
    # read as style tags and drop.
    for name in names:
        table.add_row(Text(name), *(Text(mask(_cell(row[name]))) for row in rows))
    if any(row["notes"] for row in rows):
        table.add_row("notes", *(Text(row["notes"] or "-") for row in rows))
    console().print(table)
    return OK
