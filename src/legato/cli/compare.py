"""``legato runs compare RUN RUN ...``: parameters and final metrics side by side."""

from __future__ import annotations

import math
from typing import Any

from rich.table import Table
from rich.text import Text

from legato.cli.exits import OK
from legato.cli.formats import console
from legato.cli.settings import load, mask, open_storage
from legato.engine.compare import compare_rows

__all__ = ["compare_command"]


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.6g}"
    return str(value)


def compare_command(run_refs: list[str], *, profile: str | None) -> int:
    """One column per run, one row per parameter and metric."""
    storage = open_storage(load(profile), read_only=True)
    rows = compare_rows(storage.runs, run_refs)
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
