"""Pipelines whose maps name their items with ``keyed(...)``: engine, store and CLI tests of
item keys. Each task leaves a ledger note (``fit linear``) when its function runs, where the
test sets a ledger; ``fit`` fails for the model ``forest`` while the file ``flag`` exists."""

from __future__ import annotations

import os
from pathlib import Path

from ledger_notes import note

from legato import keyed, log_metric, pipeline, task, unmapped

__all__ = [
    "CONFIGS",
    "MODELS",
    "best",
    "configured",
    "fit",
    "literal_sweep",
    "load",
    "score",
    "sweep",
]

MODELS = ["linear", "forest", "svm"]
CONFIGS = [{"name": "small", "depth": 2}, {"name": "large", "depth": 8}]


def _note(*parts: object) -> None:
    if "LEGATO_TEST_LEDGER" in os.environ:
        note(*parts)


@task
def load() -> list[int]:
    return [1, 2, 3]


@task
def fit(model: str, data: list[int], flag: str = "") -> dict[str, object]:
    _note("fit", model)
    print(f"fitting {model}")
    if flag and model == "forest" and Path(flag).exists():
        raise RuntimeError(f"failing on purpose while {flag} exists")
    return {"model": model, "score": len(model) + sum(data)}


@task
def score(fitted: dict[str, object]) -> float:
    _note("score", fitted["model"])
    value = float(fitted["score"]) / 10  # type: ignore[arg-type]
    log_metric("score", value)
    return value


@task
def best(scores: list[float]) -> float:
    return max(scores)


@pipeline
def sweep(models: list[str], flag: str = "") -> float:
    """Models from a run parameter: item keys are made when a run is planned."""
    data = load()
    fitted = fit.map(keyed(models), unmapped(data), flag)
    return best(score.map(keyed(fitted)))


@pipeline
def literal_sweep(flag: str = "") -> float:
    """Models from a literal list: item keys are made as the pipeline is defined."""
    data = load()
    fitted = fit.map(keyed(MODELS), unmapped(data), flag)
    return best(score.map(keyed(fitted)))


@task
def depth_of(config: dict[str, object]) -> int:
    return int(config["depth"])  # type: ignore[call-overload]


@pipeline
def configured() -> list[int]:
    """Items that are not text, named by ``by=``."""
    return depth_of.map(keyed(CONFIGS, by=lambda c: c["name"]))
