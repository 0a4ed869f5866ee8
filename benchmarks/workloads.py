"""The benchmark workloads as legato pipelines, and the same work as plain Python.

Every task body is a function of the peers' ``common.py`` (``../shared/bench/peers/``), so the
work inside each task is identical to what Prefect, Dagster, Airflow... run there; only the
orchestration differs. ``common`` is imported from ``sys.path``: the runner puts the peers'
folder on ``PYTHONPATH`` so that worker processes of the processes executor find it too.

| workload | shape | tasks |
|---|---|---|
| ``w1`` | chain of ``n`` tasks passing an int along (``inc``) | n |
| ``w2`` | ``fan_source`` makes ``n`` items, ``ident`` per item, ``fan_reduce`` sums | n + 2 |
| ``w3`` | digits: load, split, scale, 4 models trained (``.map``), evaluated, best, deploy | 13 |
| ``w3b`` | ``w3`` with one task per model branch (a model's code can change alone) | 13 |
| ``dag`` | ``n`` tasks in layers of ``DAG_WIDTH``, each reading 1-3 of the layer before | n + 1 |
| ``handoff`` | ``produce`` makes a float64 array of ``nbytes``, ``consume`` reads it | 2 |

The scale series uses ``w2`` (fan-out) and ``dag``.
"""

from __future__ import annotations

import random
from functools import cache
from typing import TYPE_CHECKING, Any

import common as c  # type: ignore[import-not-found]  # the peers' task bodies (see above)

import legato
from legato import pipeline, task, unmapped

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "DAG_WIDTH",
    "MODELS",
    "chain_pipeline",
    "dag_edges",
    "dag_pipeline",
    "fan_pipeline",
    "handoff_pipeline",
    "ml_branches_pipeline",
    "ml_pipeline",
    "plain",
]

MODELS: tuple[str, ...] = tuple(c.MODELS)
DAG_WIDTH = 100
"""Tasks per layer of the random DAG: its width stays bounded however many tasks it has."""


# ------------------------------------------------------------------ W1 / W2 / scale
@task
def inc(x: int) -> int:
    return c.inc(x)  # type: ignore[no-any-return]


@task
def fan_source(n: int) -> list[int]:
    # common.fan_source() is list(range(N_FAN)) with N_FAN = 500; the same body, sized.
    return list(range(n))


@task
def ident(x: int) -> int:
    return c.ident(x)  # type: ignore[no-any-return]


@task
def fan_reduce(xs: list[int]) -> int:
    return c.fan_reduce(xs)  # type: ignore[no-any-return]


@cache
def chain_pipeline(n: int) -> legato.Pipeline[..., Any]:
    """W1: ``n`` tasks, each gets the previous int and returns it + 1 (result ``n``)."""

    @pipeline(name=f"w1_chain_{n}")
    def chain() -> int:
        x = 0
        for _ in range(n):
            x = inc(x)
        return x  # type: ignore[return-value]

    return chain


@cache
def fan_pipeline(n: int) -> legato.Pipeline[..., Any]:
    """W2: a source task returns ``list(range(n))``, one task per item, a reduce sums."""

    @pipeline(name=f"w2_fanout_{n}")
    def fanout() -> int:
        return fan_reduce(ident.map(fan_source(n)))  # type: ignore[no-any-return]

    return fanout


DAG_MODULUS = 1_000_003
"""Sums in the random DAG are taken modulo this: they would otherwise double layer by layer
(a 100,000-task DAG would pass 300-digit ints around, and measure bignum arithmetic)."""


@task
def combine(xs: list[int]) -> int:
    return c.fan_reduce(xs) % DAG_MODULUS  # type: ignore[no-any-return]


def dag_edges(n: int, width: int = DAG_WIDTH, seed: int = 0) -> list[list[int]]:
    """The inputs of each of ``n`` tasks: tasks come in layers of ``width``; a task of the
    first layer reads nothing, any other reads 1-3 distinct tasks of the layer before."""
    rng = random.Random(seed)
    edges: list[list[int]] = []
    for i in range(n):
        layer_start = i - i % width
        if layer_start == 0:
            edges.append([])
            continue
        previous = range(layer_start - width, layer_start)
        edges.append(sorted(rng.sample(previous, rng.randint(1, 3))))
    return edges


@cache
def dag_pipeline(n: int) -> legato.Pipeline[..., Any]:
    """A random DAG of ``n`` tasks of bounded width (``combine`` sums its inputs) plus a
    reduce over its last layer."""
    edges = dag_edges(n)

    @pipeline(name=f"dag_{n}")
    def dag() -> int:
        outputs: list[Any] = []
        for i, inputs in enumerate(edges):
            if inputs:
                outputs.append(combine([outputs[j] for j in inputs]))
            else:
                outputs.append(ident(i))
        return fan_reduce(outputs[-(n % DAG_WIDTH or DAG_WIDTH) :])  # type: ignore[no-any-return]

    return dag


def _plain_dag(n: int) -> int:
    values: list[int] = []
    for i, inputs in enumerate(dag_edges(n)):
        values.append(
            c.fan_reduce([values[j] for j in inputs]) % DAG_MODULUS if inputs else c.ident(i)
        )
    return c.fan_reduce(values[-(n % DAG_WIDTH or DAG_WIDTH) :])  # type: ignore[no-any-return]


# ------------------------------------------------------------------ W3: the digits pipeline
@task
def ml_load() -> Any:
    return c.ml_load()


@task
def ml_split(data: Any) -> Any:
    return c.ml_split(data)


@task
def ml_standardize(split: Any) -> Any:
    return c.ml_standardize(split)


@task
def ml_train(name: str, ds: Any) -> Any:
    return c.ml_train(name, ds)


@task
def ml_evaluate(name: str, model: Any, ds: Any) -> Any:
    return c.ml_evaluate(name, model, ds)


@task
def ml_pick_best(evals: list[Any]) -> Any:
    return c.ml_pick_best(evals)


@task
def ml_deploy(best: Any, out_dir: str) -> Any:
    return c.ml_deploy(best, out_dir)


@pipeline(name="w3_ml")
def ml_pipeline(out_dir: str) -> Any:
    """W3 as the peers build it with a map (Prefect's ``task.map``): 13 tasks."""
    ds = ml_standardize(ml_split(ml_load()))
    models = ml_train.map(list(MODELS), unmapped(ds))
    evals = ml_evaluate.map(list(MODELS), models, unmapped(ds))
    return ml_deploy(ml_pick_best(evals), out_dir)


ML_BRANCHES_TEMPLATE = '''\
"""W3 with one task per model branch, written to a file by the cache benchmark."""
import common as c
from legato import pipeline, task
from benchmarks.workloads import (
    ml_deploy, ml_evaluate, ml_load, ml_pick_best, ml_split, ml_standardize,
)


@task
def train_logreg(ds):
    return c.ml_train("logreg", ds)


@task
def train_rf(ds):
    return c.ml_train("rf", ds)


@task
def train_svc(ds):
    return c.ml_train("svc", ds)


@task
def train_knn(ds):
{knn_body}


@pipeline(name="w3_branches")
def ml_branches(out_dir: str):
    ds = ml_standardize(ml_split(ml_load()))
    trained = [
        ("logreg", train_logreg(ds)),
        ("rf", train_rf(ds)),
        ("svc", train_svc(ds)),
        ("knn", train_knn(ds)),
    ]
    evals = [ml_evaluate(name, model, ds) for name, model in trained]
    return ml_deploy(ml_pick_best(evals), out_dir)
'''

KNN_BODIES = {
    "original": '    return c.ml_train("knn", ds)',
    # The edit the cache benchmark makes: one model's code changes (3 neighbours, not 5).
    "edited": '    xtr, _, ytr, _ = ds\n    model = c.make_model("knn").set_params(n_neighbors=3)\n'
    "    return model.fit(xtr, ytr)",
}


def ml_branches_pipeline(source: str) -> str:
    """The source of the ``w3b`` module: ``source`` is a key of :data:`KNN_BODIES`."""
    return ML_BRANCHES_TEMPLATE.replace("{knn_body}", KNN_BODIES[source])


# ------------------------------------------------------------------ data passing
@task
def produce(nbytes: int) -> np.ndarray:
    """A float64 array of ``nbytes`` (its content differs from element to element)."""
    import numpy as np

    return np.arange(nbytes // 8, dtype=np.float64)


@task
def consume(array: np.ndarray) -> float:
    """Reads one value per 8 KiB of the array (every other page)."""
    return float(array[::1024].sum())


@cache
def handoff_pipeline(nbytes: int) -> legato.Pipeline[..., Any]:
    """Two tasks: ``produce`` hands an array of ``nbytes`` to ``consume``."""

    @pipeline(name=f"handoff_{nbytes}")
    def handoff() -> float:
        return consume(produce(nbytes))  # type: ignore[no-any-return]

    return handoff


# ------------------------------------------------------------------ plain Python
def plain(workload: str, size: int, out_dir: str = "") -> Any:
    """The same work as ``workload`` in plain sequential Python (the peers' baseline.py)."""
    if workload == "w1":
        x = 0
        for _ in range(size):
            x = c.inc(x)
        return x
    if workload == "w2":
        return c.fan_reduce([c.ident(i) for i in list(range(size))])
    if workload == "dag":
        return _plain_dag(size)
    if workload in ("w3", "w3b"):
        ds = c.ml_standardize(c.ml_split(c.ml_load()))
        models = {m: c.ml_train(m, ds) for m in MODELS}
        evals = [c.ml_evaluate(m, models[m], ds) for m in MODELS]
        return c.ml_deploy(c.ml_pick_best(evals), out_dir)
    raise ValueError(f"no plain version of {workload!r}")
