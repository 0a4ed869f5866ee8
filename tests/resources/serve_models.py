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
