"""Runs' and pipelines' graphs, each pipeline version's shape and layout computed once.

The run store does not record a plan's dependencies, so a run's shape is read from its
pipeline's definition: ``python -m legato.server.graph_child TARGET`` in a child process
(the user's module runs there, never in the server), which also answers the version's
fingerprint. A shape whose fingerprint is not the run's is refused: the code has changed
since the run, and its graph would not be the run's. Shapes and layouts are kept per
fingerprint, so every run of a version after the first costs a dictionary lookup.

A pipeline's graph before any run (:meth:`GraphCache.pipeline`, for a start form) is its
definition as it is now: the child is asked each time (the code may have changed since the
last time), and its layout is the one kept for its fingerprint. At most one child reads a
target at a time: a request that arrives while one does waits for it and takes its answer
(read after the request came, so as fresh as its own would be), so however many requests
come, a server runs at most one child per pipeline.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from typing import Any

from fastapi import HTTPException

from legato.query.graph import (
    GraphShape,
    PipelineGraph,
    Placed,
    RunGraph,
    ShapeNode,
    layered,
    pipeline_graph,
    run_graph,
)
from legato.query.param_types import ParamField
from legato.secret_values import mask
from legato.store.base import RunStore

__all__ = ["SHAPE_TIMEOUT", "GraphCache"]

SHAPE_TIMEOUT = 60.0
"""Seconds the child that reads a pipeline's shape may take."""


class GraphCache:
    """Shapes and layouts by pipeline fingerprint; thread-safe."""

    def __init__(self) -> None:
        self._found: dict[str, tuple[GraphShape, dict[str, Placed]]] = {}
        self._lock = threading.Lock()
        self.loads = 0
        """How many times a shape was read from a pipeline's definition."""
        self._reading: dict[str, _Reading] = {}

    def graph(self, store: RunStore, run_id: str) -> RunGraph:
        """Run ``run_id``'s graph (an id or a unique prefix)."""
        info = store.get_run(run_id)
        with self._lock:
            known = self._found.get(info.fingerprint)
        if known is None:
            if not info.target:
                raise HTTPException(
                    409,
                    f"run {info.run_id}'s pipeline was defined where it cannot be loaded "
                    "again (__main__ or a notebook): its graph is not known",
                )
            shape = _shape(self._definition(info.target))
            if shape.fingerprint != info.fingerprint:
                raise HTTPException(
                    409,
                    f"the code of pipeline {info.pipeline!r} ({info.target}) has changed since "
                    f"run {info.run_id}: its graph now is not the run's",
                )
            known = self._keep(shape)
        shape, layout = known
        return run_graph(
            info.run_id,
            shape,
            layout,
            store.planned_tasks(info.run_id),
            store.item_counts(info.run_id),
        )

    def pipeline(self, name: str, target: str) -> PipelineGraph:
        """Pipeline ``name``'s graph as its definition (``target``) is now, with its run
        parameters as form fields."""
        asked = time.monotonic()
        with self._lock:
            reading = self._reading.setdefault(target, _Reading())
        with reading.lock:
            if reading.found is None or reading.at < asked:
                reading.found, reading.at = self._definition(target), time.monotonic()
            found = reading.found
        shape, layout = self._keep(_shape(found))
        return pipeline_graph(
            name=name,
            target=target,
            pipeline=found["name"],
            shape=shape,
            layout=layout,
            params=[ParamField(**{**f, "choices": tuple(f["choices"])}) for f in found["params"]],
        )

    def _keep(self, shape: GraphShape) -> tuple[GraphShape, dict[str, Placed]]:
        """``shape`` with its layout, the one kept for its fingerprint if there is one."""
        with self._lock:
            known = self._found.get(shape.fingerprint)
        if known is None:
            known = (shape, layered([n.key for n in shape.nodes], shape.edges))
            with self._lock:
                self._found[shape.fingerprint] = known
        return known

    def _definition(self, target: str) -> dict[str, Any]:
        """What the child reads of ``target``'s definition (see ``graph_child``)."""
        self.loads += 1
        try:
            done = subprocess.run(
                [sys.executable, "-m", "legato.server.graph_child", target],
                capture_output=True,
                text=True,
                timeout=SHAPE_TIMEOUT,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise HTTPException(
                504, f"reading the graph of {target} took longer than {SHAPE_TIMEOUT:.0f} s"
            ) from None
        if done.returncode != 0:
            raise HTTPException(
                409, mask(f"the pipeline {target} cannot be loaded: {done.stderr.strip()}")
            )
        found: dict[str, Any] = json.loads(done.stdout)
        return found


class _Reading:
    """The last definition read of one target, and the lock its readers take turns on."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.found: dict[str, Any] | None = None
        self.at = 0.0
        """When it was read (``time.monotonic``)."""


def _shape(found: dict[str, Any]) -> GraphShape:
    return GraphShape(
        fingerprint=found["fingerprint"],
        nodes=tuple(ShapeNode(**n) for n in found["nodes"]),
        edges=tuple((up, down) for up, down in found["edges"]),
    )
