"""Pipelines whose parameters are records: TypedDicts (data, given as JSON on the command
line) and a dataclass (an object, which a run cannot take as a parameter)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NotRequired, TypedDict

from legato import pipeline, task


class Limits(TypedDict):
    depth: int
    rate: float


class Model(TypedDict):
    name: str
    limits: Limits
    tags: NotRequired[list[str]]


@dataclass
class Config:
    lr: float = 0.1
    layers: int = 2


@task
def types_of(value: object) -> str:
    """The value with the type of each part: what the task received."""
    if isinstance(value, dict):
        inner = ", ".join(f"{k}={types_of(v)}" for k, v in value.items())
        return "dict(" + inner + ")"
    if isinstance(value, list):
        return "list(" + ", ".join(types_of(v) for v in value) + ")"
    return f"{type(value).__name__}:{value}"


@pipeline
def shaped(model: Model) -> str:
    return types_of(model)


@pipeline
def configured(cfg: Config) -> str:
    return types_of(cfg)


@pipeline
def configured_many(cfgs: list[Config] | None = None) -> str:
    return types_of(cfgs)
