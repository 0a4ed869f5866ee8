"""Runs' graphs, each pipeline version's shape and layout computed once.

The run store does not record a plan's dependencies, so a run's shape is read from its
pipeline's definition: ``python -m legato.server.graph_child TARGET`` in a child process
(the user's module runs there, never in the server), which also answers the version's
fingerprint. A shape whose fingerprint is not the run's is refused: the code has changed
since the run, and its graph would not be the run's. Shapes and layouts are kept per
fingerprint, so every run of a version after the first costs a dictionary lookup.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading

from fastapi import HTTPException

from legato.query.graph import GraphShape, Placed, RunGraph, ShapeNode, layered, run_graph
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
            shape = self._shape(info.target)
            if shape.fingerprint != info.fingerprint:
                raise HTTPException(
                    409,
                    f"the code of pipeline {info.pipeline!r} ({info.target}) has changed since "
                    f"run {info.run_id}: its graph now is not the run's",
                )
            known = (shape, layered([n.key for n in shape.nodes], shape.edges))
            with self._lock:
                self._found[info.fingerprint] = known
        shape, layout = known
        return run_graph(
            info.run_id,
            shape,
            layout,
            store.planned_tasks(info.run_id),
            store.item_counts(info.run_id),
        )

    def _shape(self, target: str) -> GraphShape:
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
        found = json.loads(done.stdout)
        return GraphShape(
            fingerprint=found["fingerprint"],
            nodes=tuple(ShapeNode(**n) for n in found["nodes"]),
            edges=tuple((up, down) for up, down in found["edges"]),
        )
