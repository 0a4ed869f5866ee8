"""Runs side by side, as ``legato runs compare`` shows them (:func:`legato.engine.compare.
compare_rows`: parameters, each metric's final, lowest and highest value, and where a cache
hit's values came from), made JSON: NaN as null, paths and dates as text."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from legato.engine.compare import compare_rows
from legato.errors import ParameterError
from legato.query.views import json_value
from legato.store.base import RunStore

__all__ = ["MAX_COMPARED", "Comparison", "compare"]

MAX_COMPARED = 200
"""The most runs one comparison holds."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Comparison:
    """One row per run, every row with every column (null where a run has no value)."""

    columns: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]


def compare(store: RunStore, run_ids: Sequence[str]) -> Comparison:
    """Runs ``run_ids`` (ids or unique prefixes, 1 to :data:`MAX_COMPARED`) side by side."""
    if not 1 <= len(run_ids) <= MAX_COMPARED:
        raise ParameterError(f"compare 1 to {MAX_COMPARED} runs, not {len(run_ids)}")
    rows = compare_rows(store, run_ids)
    shown = tuple(
        {k: None if isinstance(v, float) and math.isnan(v) else json_value(v) for k, v in r.items()}
        for r in rows
    )
    return Comparison(columns=tuple(rows[0]) if rows else (), rows=shown)
