"""The pipeline whose run the API's graph budget draws (``benchmarks/api_seed.py`` seeds a
run of it): a map over ``n`` items between plain tasks, and one task beside them. ``legato
ui`` reads its shape from this file in a child process, as it does for any run."""

from __future__ import annotations

import legato
from legato import task


@task
def load(n: int) -> list[int]:
    return list(range(n))


@task
def square(x: int) -> int:
    return x * x


@task
def total(xs: list[int]) -> int:
    return sum(xs)


@task
def report(count: int, total: int) -> str:
    return f"{count} items, {total}"


@task
def notify(n: int) -> str:
    return f"started {n}"


@legato.pipeline
def squares(n: int = 100_000) -> str:
    """load -> square (a map) -> total -> report, and notify beside them."""
    notify(n)
    return report(n, total(square.map(load(n))))
