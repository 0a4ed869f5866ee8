"""Pipelines the ``legato`` command runs in tests/cli: every kind of parameter, a retry, a
failure, a fan-out, a large output (and a larger one), output on stdout/stderr/logging, and
a long chain."""

from __future__ import annotations

import datetime as dt
import enum
import logging
import os
import sys
from pathlib import Path
from typing import Literal

from legato import RetryPolicy, pipeline, task, unmapped

log = logging.getLogger("cli_pipelines")


class Mode(enum.Enum):
    FAST = "fast"
    SLOW = "slow"


@task
def hello(name: str, times: int) -> str:
    print(f"hello {name}")
    print("a warning", file=sys.stderr)
    log.warning("logged for %s", name)
    return " ".join([f"hello {name}"] * times)


@task
def shout(text: str) -> str:
    return text.upper()


@pipeline
def greet(name: str = "world", times: int = 1) -> str:
    return shout(hello(name, times))


@task
def describe(values: dict[str, object]) -> dict[str, str]:
    return {k: f"{type(v).__name__}:{v}" for k, v in values.items()}


@pipeline
def typed(
    *,
    n: int,
    rate: float = 0.5,
    flag: bool = False,
    path: Path = Path("data.csv"),
    sizes: list[int] = [1],  # noqa: B006 (a run parameter's default, never mutated)
    when: dt.date = dt.date(2024, 1, 1),
    at: dt.datetime | None = None,
    mode: Mode = Mode.FAST,
    maybe: int | None = None,
    choice: Literal["a", "b"] = "a",
    weights: dict[str, float] = {},  # noqa: B006
    untyped="text",  # no annotation: the type of its default applies
    test_size: float = 0.2,
) -> dict[str, str]:
    return describe(
        {
            "n": n,
            "rate": rate,
            "flag": flag,
            "path": path,
            "sizes": sizes,
            "when": when,
            "at": at,
            "mode": mode,
            "maybe": maybe,
            "choice": choice,
            "weights": weights,
            "untyped": untyped,
            "test_size": test_size,
        }
    )


@task(retry=RetryPolicy(attempts=2, delay=0.05))
def flaky_step(marker: str) -> str:
    path = Path(marker)
    if not path.exists():
        path.write_text("failed once")
        raise ConnectionError("first attempt fails")
    return "ok"


@pipeline
def flaky(marker: str) -> str:
    return flaky_step(marker)


@task
def explode(what: str) -> str:
    raise ValueError(f"bad input: {what}")


@task
def independent() -> int:
    return 1


@pipeline
def broken(what: str = "x") -> tuple[str, int]:
    return shout(explode(what)), independent()


@task
def square(x: int, offset: int) -> int:
    return x * x + offset


@task
def total(values: list[int]) -> int:
    return sum(values)


@pipeline
def fanout(offset: int = 0) -> int:
    return total(square.map([1, 2, 3], unmapped(offset)))


@task
def big() -> str:
    return "x" * 100_000  # larger than the inline limit: stored as a file


@task
def small() -> dict[str, int]:
    return {"a": 1}


@pipeline
def outputs() -> tuple[str, dict[str, int]]:
    return big(), small()


@task
def huge() -> str:
    return "x" * (4 << 20)  # written to the artifact store in one 4 MiB write


@pipeline
def large() -> str:
    return huge()


@task
def step(x: int) -> int:
    return x + 1


@pipeline
def chain() -> int:
    x = 0
    for _ in range(100):
        x = step(x)
    return x


@task
def reveal() -> str:
    print(f"token is {os.environ.get('CLI_TEST_TOKEN', '')}")
    return "done"


@pipeline
def leaky() -> str:
    return reveal()
