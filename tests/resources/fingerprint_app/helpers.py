"""Plain functions and a class the fixture tasks use, directly or through each other."""

from __future__ import annotations

from collections.abc import Callable

from . import config
from .config import STOPWORDS


def _strip(text: str) -> str:
    return text.strip()


def clean(text: str) -> str:
    # Lower case, so that "The" is a stopword too.
    return _strip(text).lower()


def drop_stopwords(words: list[str]) -> list[str]:
    return [w for w in words if w not in STOPWORDS]


def above(values: list[float]) -> list[float]:
    return [v for v in values if v > config.THRESHOLD]


def unrelated(x: int) -> int:
    return x * 2


def is_even(n: int) -> bool:
    return True if n == 0 else is_odd(n - 1)


def is_odd(n: int) -> bool:
    return False if n == 0 else is_even(n - 1)


class Scaler:
    FACTOR = 2.0

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def scale(self, x: float) -> float:
        return x * self.FACTOR + self.offset

    @staticmethod
    def describe() -> str:
        return "scaler"


def make_multiplier(k: int) -> Callable[[int], int]:
    def multiply(x: int) -> int:
        return x * k

    return multiply


def lazy_clean(text: str) -> str:
    from .helpers_extra import shout

    return shout(text)
