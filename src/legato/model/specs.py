"""Typed options of tasks and pipelines: frozen, documented per field, validated once."""

from __future__ import annotations

import inspect
import math
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from legato.errors import DefinitionError

__all__ = [
    "Capacity",
    "FailurePolicy",
    "Resources",
    "RetryPolicy",
    "TaskOptions",
    "TaskSpec",
    "check_name",
    "parse_memory",
]

_MEMORY_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "ki": 1024,
    "kib": 1024,
    "mi": 1024**2,
    "mib": 1024**2,
    "gi": 1024**3,
    "gib": 1024**3,
    "ti": 1024**4,
    "tib": 1024**4,
}
_MEMORY_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_memory(value: int | float | str) -> int:
    """Bytes from ``2048``, ``"512MiB"``, ``"4GB"`` or ``"1.5 GiB"``."""
    if isinstance(value, bool):
        raise DefinitionError(
            f"memory must be a number of bytes or a size like '4GiB', not {value!r}",
            fix="pass resources=Resources(memory='4GiB')",
        )
    if isinstance(value, int | float):
        if value < 0 or not math.isfinite(value):
            raise DefinitionError(
                f"memory must be a non-negative size, not {value!r}",
                fix="pass a size such as Resources(memory='4GiB') or a number of bytes",
            )
        return int(value)
    match = _MEMORY_RE.match(value)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _MEMORY_UNITS:
        raise DefinitionError(
            f"cannot read memory size {value!r}",
            fix="write a number with an optional unit: '512MiB', '4GiB', '2GB' or 1073741824",
        )
    return int(float(match.group(1)) * _MEMORY_UNITS[unit])


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How a failed attempt is retried.

    The delay before attempt ``n + 1`` is ``delay * backoff ** (n - 1)``, capped at
    ``max_delay``, then spread by ``± jitter`` (a fraction) so that many failing tasks do not
    retry in lock-step.
    """

    attempts: int = 1
    """Attempts in all, the first included (1 means no retry)."""
    delay: float = 1.0
    """Seconds before the first retry."""
    backoff: float = 2.0
    """Factor applied to the delay after each retry (1.0 keeps it constant)."""
    max_delay: float = 300.0
    """Upper bound on any single delay, in seconds."""
    jitter: float = 0.1
    """Random spread of each delay, as a fraction in [0, 1)."""
    retry_on: tuple[type[BaseException], ...] | type[BaseException] = (Exception,)
    """Exception types that are retried (one class or a tuple); other errors fail the task
    at once."""
    retry_on_timeout: bool = True
    """Whether an attempt that ran past its timeout is retried."""

    def __post_init__(self) -> None:
        fix = "e.g. RetryPolicy(attempts=3, delay=1.0, backoff=2.0, jitter=0.1)"
        if isinstance(self.attempts, bool) or not isinstance(self.attempts, int):
            raise DefinitionError(f"retry attempts must be an int, not {self.attempts!r}", fix=fix)
        if self.attempts < 1:
            raise DefinitionError(
                f"retry attempts must be at least 1 (the first attempt), not {self.attempts}",
                fix=fix,
            )
        for name in ("delay", "max_delay"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or value < 0 or not math.isfinite(value):
                raise DefinitionError(f"retry {name} must be >= 0 seconds, not {value!r}", fix=fix)
        if not isinstance(self.backoff, int | float) or self.backoff < 1:
            raise DefinitionError(f"retry backoff must be >= 1, not {self.backoff!r}", fix=fix)
        if not isinstance(self.jitter, int | float) or not 0 <= self.jitter < 1:
            raise DefinitionError(
                f"retry jitter must be a fraction in [0, 1), not {self.jitter!r}", fix=fix
            )
        retry_on = self.retry_on if isinstance(self.retry_on, tuple) else (self.retry_on,)
        object.__setattr__(self, "retry_on", retry_on)
        if not all(isinstance(t, type) and issubclass(t, BaseException) for t in retry_on):
            raise DefinitionError(
                f"retry_on must be exception classes, not {self.retry_on!r}",
                fix="pass retry_on=(ConnectionError, TimeoutError)",
            )

    @property
    def retry_on_names(self) -> frozenset[str]:
        """Qualified names of ``retry_on``; errors are matched by name so the control plane
        never needs the exception object."""
        classes = self.retry_on if isinstance(self.retry_on, tuple) else (self.retry_on,)
        return frozenset(f"{t.__module__}.{t.__qualname__}" for t in classes)

    def delay_before(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before ``attempt`` (2 for the first retry)."""
        base = min(self.max_delay, self.delay * self.backoff ** max(0, attempt - 2))
        if self.jitter:
            base *= rng.uniform(1 - self.jitter, 1 + self.jitter)
        return max(0.0, base)


@dataclass(frozen=True, slots=True, kw_only=True)
class Resources:
    """What one attempt of a task needs while it runs.

    The local executors never start tasks whose requests together exceed the machine's
    capacity; a task asking for more than the executor can ever offer is rejected before the
    run starts.
    """

    cpus: float = 1.0
    """CPU cores (fractions allowed: 0.5 lets two such tasks share a core)."""
    memory: int = 0
    """Bytes of memory; give a size such as ``"4GiB"`` and it is converted."""
    gpus: int = 0
    """Whole GPUs."""
    custom: Mapping[str, float] = field(default_factory=dict)
    """Named amounts of anything else the executor's capacity declares (licences, DB slots)."""

    def __post_init__(self) -> None:
        fix = "e.g. Resources(cpus=2, memory='4GiB', gpus=1, custom={'db': 1})"
        if isinstance(self.cpus, bool) or not isinstance(self.cpus, int | float):
            raise DefinitionError(f"cpus must be a number, not {self.cpus!r}", fix=fix)
        if self.cpus < 0 or not math.isfinite(self.cpus):
            raise DefinitionError(f"cpus must be >= 0, not {self.cpus!r}", fix=fix)
        object.__setattr__(self, "memory", parse_memory(self.memory))
        if isinstance(self.gpus, bool) or not isinstance(self.gpus, int) or self.gpus < 0:
            raise DefinitionError(f"gpus must be a whole number >= 0, not {self.gpus!r}", fix=fix)
        for key, amount in self.custom.items():
            if not isinstance(key, str) or not isinstance(amount, int | float) or amount < 0:
                raise DefinitionError(
                    f"custom resources map names to amounts >= 0; got {key!r}: {amount!r}",
                    fix=fix,
                )
        object.__setattr__(self, "custom", dict(self.custom))

    def amounts(self) -> dict[str, float]:
        """Every non-zero amount by name: ``cpus``, ``memory``, ``gpus`` and custom names."""
        out: dict[str, float] = {}
        if self.cpus:
            out["cpus"] = float(self.cpus)
        if self.memory:
            out["memory"] = float(self.memory)
        if self.gpus:
            out["gpus"] = float(self.gpus)
        for key, amount in self.custom.items():
            if amount:
                out[key] = float(amount)
        return out


class FailurePolicy(StrEnum):
    """What a run does when a task fails for good."""

    KEEP_GOING = "keep_going"
    """Let independent branches finish; only the failed task's dependents are skipped
    (as ``upstream_failed``). A later resume has the least left to do."""
    FAIL_FAST = "fail_fast"
    """Cancel what is pending and stop what is running as soon as one task fails."""


_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


def check_name(name: str, what: str) -> str:
    """Task and pipeline names become keys, file names and CLI arguments: keep them plain."""
    if not isinstance(name, str) or not _NAME_RE.match(name) or len(name) > 200:
        raise DefinitionError(
            f"{what} name {name!r} is not allowed",
            fix="use letters, digits, '_', '-' and '.', starting with a letter or '_'",
        )
    return name


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskOptions:
    """Everything ``@task(...)`` can set."""

    name: str
    """The task's name in graphs, logs and the CLI (default: the function's name)."""
    retry: RetryPolicy = RetryPolicy()
    """Retry policy; ``@task(retries=2)`` is short for ``RetryPolicy(attempts=3)``."""
    timeout: float | None = None
    """Seconds one attempt may run before it is stopped. Hard (the worker is killed) with the
    processes executor; soft (the result is discarded) with threads and inline."""
    resources: Resources = Resources()
    """What one attempt needs while it runs."""
    tags: frozenset[str] = frozenset()
    """Free-form labels, shown in the UI and usable in filters."""

    def __post_init__(self) -> None:
        check_name(self.name, "task")
        if self.timeout is not None and (
            isinstance(self.timeout, bool)
            or not isinstance(self.timeout, int | float)
            or self.timeout <= 0
            or not math.isfinite(self.timeout)
        ):
            raise DefinitionError(
                f"timeout of task {self.name!r} must be a positive number of seconds, "
                f"not {self.timeout!r}",
                task=self.name,
                fix="pass timeout=30 (seconds) or leave it out for no timeout",
            )
        if not isinstance(self.retry, RetryPolicy):
            raise DefinitionError(
                f"retry of task {self.name!r} must be a RetryPolicy, not {self.retry!r}",
                task=self.name,
                fix="pass retry=RetryPolicy(attempts=3) or retries=2",
            )
        if not isinstance(self.resources, Resources):
            raise DefinitionError(
                f"resources of task {self.name!r} must be a Resources, not {self.resources!r}",
                task=self.name,
                fix="pass resources=Resources(cpus=2, memory='4GiB')",
            )
        object.__setattr__(self, "tags", frozenset(self.tags))


@dataclass(frozen=True, slots=True, kw_only=True)
class Capacity:
    """What an executor can run at once. Defaults are read from the machine by the
    executors; every field can be set by hand."""

    cpus: float
    """CPU cores tasks may use together."""
    memory: int
    """Bytes of memory tasks may use together."""
    gpus: int = 0
    """GPUs, handed out by index."""
    custom: Mapping[str, float] = field(default_factory=dict)
    """Amounts of user-named resources (``Resources.custom``)."""
    slots: int = 1
    """Attempts that may run at once (worker threads or processes)."""

    def amounts(self) -> dict[str, float]:
        """Every amount by name, as :meth:`Resources.amounts` names them."""
        out = {"cpus": float(self.cpus), "memory": float(self.memory), "gpus": float(self.gpus)}
        out.update({k: float(v) for k, v in self.custom.items()})
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskSpec:
    """A task definition: the user's function and its options. Inert and frozen."""

    fn: Callable[..., Any]
    options: TaskOptions
    signature: inspect.Signature
    outputs: int | None = None
    """How many values the function returns when that is fixed (``-> tuple[A, B]`` or
    ``@task(outputs=2)``); lets a pipeline body unpack them."""

    @property
    def name(self) -> str:
        return self.options.name

    @property
    def fn_id(self) -> str:
        """Identity of the function within this interpreter (worker caches key on it)."""
        return f"{self.fn.__module__}.{self.fn.__qualname__}#{id(self.fn):x}"
