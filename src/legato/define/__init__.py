"""Authoring: ``@task`` and ``@pipeline``, tracing into a validated graph."""

from legato.define.graph import Graph, MapSpec, Node, ParamSpec
from legato.define.mapping import keyed, unmapped
from legato.define.pipeline import Pipeline, pipeline
from legato.define.placeholders import Output
from legato.define.products import product
from legato.define.task import Task, task

__all__ = [
    "Graph",
    "MapSpec",
    "Node",
    "Output",
    "ParamSpec",
    "Pipeline",
    "Task",
    "keyed",
    "pipeline",
    "product",
    "task",
    "unmapped",
]
