"""Tasks that each reach a different part of the helpers and constants."""

from __future__ import annotations

import numpy as np

from legato import task

from . import helpers
from .config import DEFAULT_MODE, SETTINGS, WEIGHTS, Mode
from .helpers import Scaler, drop_stopwords, is_even


@task
def tokenize(text: str) -> list[str]:
    return helpers.clean(text).split()


@task
def filter_words(words: list[str]) -> list[str]:
    return drop_stopwords(words)


@task
def keep_large(values: list[float]) -> list[float]:
    return helpers.above(values)


@task
def parity(n: int) -> bool:
    return is_even(n)


@task
def scaled(x: float, offset: float = 1.0) -> float:
    return Scaler(offset).scale(x)


@task
def weighted(key: str) -> float:
    # A set literal compiles to a frozenset constant, whose order varies between processes.
    return WEIGHTS[key] if key in {"x", "y", "unknown"} else 0.0


@task
def mode_name() -> str:
    return DEFAULT_MODE.value if SETTINGS.window > 0 else Mode.SLOW.value


@task
def average(values: list[float]) -> float:
    return float(np.mean(values))


@task
def words_of(text: str) -> list[str]:
    # A task calling other tasks' functions directly.
    return filter_words(tokenize(text))


@task
def squares(values: list[int]) -> list[int]:
    return list(map(lambda v: v * v, values))


double = helpers.make_multiplier(2)


@task
def doubled(x: int) -> int:
    return double(x)


@task
def shouted(text: str) -> str:
    return helpers.lazy_clean(text)
