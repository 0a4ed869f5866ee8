"""Pipelines shown in a notebook: one with a map and parameters (whose item ``fail_on``
raises with markup in its message), one whose docstring holds markup, one that does not
trace."""

from __future__ import annotations

from legato import pipeline, task


@task
def load(n: int) -> list[int]:
    return list(range(n))


@task
def square(x: int, fail_on: int) -> int:
    if x == fail_on:
        raise ValueError("<script>alert('pwned')</script> & friends")
    return x * x


@task
def total(xs: list[int]) -> int:
    return sum(xs)


@pipeline
def squares(n: int = 4, fail_on: int = -1) -> int:
    """Sum of squares.

    The rest of the description is not shown in the title."""
    return total(square.map(load(n), fail_on))


@pipeline
def marked_up() -> int:
    """<script>alert("docstring")</script> **bold** & co."""
    return total(load(3))


@pipeline
def broken() -> int:
    xs = load(3)
    if len(xs) > 2:  # a placeholder in Python control flow: rejected when traced
        return total(xs)
    return 0
