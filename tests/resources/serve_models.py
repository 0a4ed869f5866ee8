"""Small models for the serving and deployment tests: picklable (importable by name, so a
``legato serve`` process loads them) and fast."""

from __future__ import annotations

from typing import Any

import numpy as np

SIGNATURE = {
    "kind": "tensor",
    "inputs": [{"name": "input", "dtype": "float64"}],
    "shape": [None, 3],
}


class RowSum:
    """Predicts ``factor * sum(row)``: versions differ by their factor, so a client can tell
    which version answered."""

    def __init__(self, factor: float, padding: int = 0) -> None:
        self.factor = factor
        self.padding = b"x" * padding  # big enough, the artifact is a file of its own

    def predict(self, rows: Any) -> Any:
        return np.asarray(rows, dtype=float).sum(axis=1) * self.factor


class Broken:
    """A model whose every prediction fails (a bad deployment)."""

    def predict(self, rows: Any) -> Any:
        raise RuntimeError("this model is broken")


def constant(rows: Any) -> list[int]:
    """A callable model without predict()."""
    return [7] * len(rows)


def non_negative(predictions: list[float]) -> bool:
    """A smoke test's check: row sums of non-negative rows are never negative."""
    return all(p >= 0 for p in predictions)


TABLE = {"age": [30, 41], "score": [0.5, 1.5], "city": ["Oslo", "Lyon"], "member": [True, False]}
"""An example table: what a columns model is registered from (as a DataFrame or as it is)."""
TABLE_RECORDS = [
    {"age": 30, "score": 0.5, "city": "Oslo", "member": True},
    {"age": 41, "score": 1.5, "city": "Lyon", "member": False},
]
"""``TABLE`` as records."""
TABLE_ROWS = [[30, 0.5, "Oslo", True], [41, 1.5, "Lyon", False]]
"""``TABLE`` as rows of the column values in order."""


class Tabular:
    """A columns model that takes nothing but what its signature says: a DataFrame of the
    columns ``age``, ``score``, ``city``, ``member`` in that order, each of its dtype; it
    predicts ``age + score + len(city) + member``."""

    DTYPES = ("int64", "float64", "str", "bool")

    def predict(self, frame: Any) -> Any:
        import pandas as pd

        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"Tabular takes a DataFrame, not a {type(frame).__name__}")
        got = tuple((str(c), str(d)) for c, d in frame.dtypes.items())
        if got != tuple(zip(TABLE, self.DTYPES, strict=True)):
            raise TypeError(f"Tabular takes the columns {list(TABLE)} of {self.DTYPES}, not {got}")
        return frame["age"] + frame["score"] + frame["city"].str.len() + frame["member"]


class Counts:
    """A tensor model of whole numbers: batches of 2x2 int64 matrices, their sums."""

    def predict(self, batch: Any) -> Any:
        if batch.dtype != np.int64 or batch.shape[1:] != (2, 2):
            raise TypeError(f"Counts takes int64 matrices 2x2, not {batch.dtype} {batch.shape}")
        return batch.sum(axis=(1, 2))
