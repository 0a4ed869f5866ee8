"""Small tasks to fan out over lists known only at run time."""

from __future__ import annotations

from legato import task

__all__ = [
    "add",
    "collect",
    "double",
    "inc",
    "inc_except_two",
    "not_a_list",
    "source",
    "split",
    "total",
]


@task
def source(n: int) -> list[int]:
    return list(range(n))


@task
def not_a_list() -> int:
    return 42


@task
def split(n: int) -> tuple[list[int], list[int]]:
    """Evens and odds below ``n``."""
    return list(range(0, n, 2)), list(range(1, n, 2))


@task
def inc(x: int) -> int:
    return x + 1


@task
def double(x: int) -> int:
    return 2 * x


@task
def add(x: int, y: int) -> int:
    return x + y


@task
def total(xs: list[int]) -> int:
    return sum(xs)


@task
def collect(xs: list[int]) -> list[int]:
    return list(xs)


@task
def inc_except_two(x: int) -> int:
    if x == 2:
        raise ValueError("two is not welcome")
    return x + 1
