"""Tasks whose values or errors are awkward to carry between processes."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from legato import task

__all__ = [
    "StrFailsError",
    "call_with_five",
    "make_lambda",
    "returns_generator",
    "returns_lock",
    "raises_unprintable",
    "raises_keyboard_interrupt",
    "raises_unpicklable",
    "use",
]


class StrFailsError(Exception):
    """An exception whose message cannot be computed."""

    def __str__(self) -> str:
        raise RuntimeError("__str__ of this exception fails")


class UnpicklableError(Exception):
    """An exception that holds a lock, so it cannot be pickled."""

    def __init__(self) -> None:
        super().__init__("holding a lock")
        self.lock = threading.Lock()


def _numbers() -> Iterator[int]:
    yield 1


@task
def returns_generator() -> Iterator[int]:
    return _numbers()


@task
def returns_lock() -> object:
    return threading.Lock()


@task
def make_lambda(k: int) -> object:
    return lambda x: x * k


@task
def use(value: object) -> str:
    return type(value).__name__


@task
def call_with_five(fn: object) -> int:
    assert callable(fn)
    return int(fn(5))


@task
def raises_unprintable() -> int:
    raise StrFailsError


@task
def raises_unpicklable() -> int:
    raise UnpicklableError


@task
def raises_keyboard_interrupt() -> int:
    raise KeyboardInterrupt("raised by the task itself")
