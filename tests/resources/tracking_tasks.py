"""Tasks that track parameters, metrics, tags and artifacts and register models, for the
tracking and registry tests (imported by worker processes too)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import legato
from legato import RetryPolicy, pipeline, task
from legato.errors import FencedError
from legato.store.open import open_run_store


@task
def prepare(n: int) -> list[float]:
    legato.log_param("n", n)
    return [float(i) for i in range(n)]


@task
def train(data: list[float], lr: float) -> dict[str, float]:
    legato.log_param("lr", lr)
    legato.log_params({"layers": 2, "names": ["a", "b"]})
    for epoch in range(3):
        legato.log_metric("loss", 1.0 / (epoch + 1))
    legato.log_metric("accuracy", 0.5, step=10)
    legato.log_metric("accuracy", 0.75, step=20)
    legato.set_tags({"stage": "dev"}, owner="ml")
    legato.log_artifact({"weights": data}, "weights")
    return {"lr": lr, "sum": sum(data)}


@task
def score(model: dict[str, float], fold: int) -> float:
    legato.log_metric("fold_score", fold / 10)
    return fold / 10


@pipeline
def experiment(n: int = 4, lr: float = 0.1) -> list[float]:
    model = train(prepare(n), lr)
    return score.map(legato.unmapped(model), [1, 2])


@task
def logs_a_file(path: str) -> None:
    legato.log_artifact(Path(path), "report")


@pipeline
def file_artifact(path: str) -> None:
    logs_a_file(path)


@task(timeout=0.3, retry=RetryPolicy(attempts=2, delay=0.0, jitter=0.0))
def late_logger() -> int:
    """Attempt 1 outlives its timeout and logs afterwards (in a thread it keeps running);
    attempt 2 logs at once."""
    ctx = legato.context()
    assert ctx is not None
    if ctx.attempt == 1:
        time.sleep(0.8)
        legato.log_metric("late", 1.0)
        Path(os.environ["LEGATO_TEST_MARKER"]).write_text("logged")
        return 1
    legato.log_metric("fresh", 2.0)
    return 2


@task
def waiter(value: int) -> int:
    """Keeps the run going until attempt 1 above has logged, and a pulse of the loop has
    drained what it logged."""
    marker = Path(os.environ["LEGATO_TEST_MARKER"])
    deadline = time.monotonic() + 10
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.8)
    return value


@pipeline
def stale() -> int:
    return waiter(late_logger())


@task
def features() -> list[list[float]]:
    return [[float(i), float(i % 3)] for i in range(12)]


@task(retry=RetryPolicy(attempts=2, delay=0.0, jitter=0.0))
def fit_and_register(rows: list[list[float]], c: float) -> legato.ModelVersion | None:
    """Registers, then fails its first attempt: the retry registers again."""
    ctx = legato.context()
    assert ctx is not None
    legato.log_param("c", c)
    legato.log_metric("accuracy", 0.5 + ctx.attempt / 10)
    mv = legato.register_model(
        "tiny",
        {"c": c, "rows": len(rows), "attempt": ctx.attempt},
        signature=legato.infer_signature(rows),
        tags={"kind": "dict"},
    )
    if ctx.attempt == 1:
        raise RuntimeError("fails after registering")
    return mv


@task
def deploy(mv: legato.ModelVersion) -> str:
    return mv.ref


@pipeline
def register(c: float = 1.0) -> str:
    return deploy(fit_and_register(features(), c))


@task
def register_after_take_over(store_url: str, ledger: str) -> None:
    """Has its run taken over by another orchestrator (as ``legato resume`` does once the
    lease ran out), then registers. What ``register_model`` did goes to ``ledger``: this
    attempt's outcome is never committed, its orchestrator being fenced off."""
    ctx = legato.context()
    assert ctx is not None
    runs = open_run_store(store_url)
    try:
        runs.take_over(ctx.run_id, "another-orchestrator", lease=0.0)
    finally:
        runs.close()
    try:
        legato.register_model("fenced", {"weights": [1.0]})
    except FencedError as exc:
        Path(ledger).write_text(f"refused: {exc}")
        raise
    Path(ledger).write_text("registered")


@pipeline
def taken_over(store_url: str, ledger: str) -> None:
    register_after_take_over(store_url, ledger)
