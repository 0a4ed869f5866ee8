"""A script whose tasks live in ``__main__``: worker processes cannot import them, so they
travel by value. Prints the output of the run."""

from __future__ import annotations

import sys

import legato

OFFSET = 7  # a global of __main__ the task needs


def helper(x: int) -> int:  # a plain function of __main__ the task calls
    return x * x


@legato.task
def numbers(n: int) -> list[int]:
    return list(range(n))


@legato.task
def square_plus(x: int) -> int:
    return helper(x) + OFFSET


@legato.task
def total(xs: list[int]) -> tuple[int, object]:
    return sum(xs), (lambda: "lambdas come back too")


@legato.pipeline
def squares(n: int = 4) -> tuple[int, object]:
    return total(square_plus.map(numbers(n)))


if __name__ == "__main__":
    result = legato.run(squares, {"n": int(sys.argv[1])}, executor="processes")
    value, fn = result.output
    print(result.state.value, value, fn(), flush=True)
