"""Typed options of tasks and pipelines: frozen, documented per field, validated once."""

from __future__ import annotations

import inspect
import math
import random
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from legato.choices import FailurePolicy  # defined below config, which validates it
from legato.model.amounts import Capacity, Resources, parse_memory
from legato.model.locations import invalid as _invalid
from legato.model.locations import user_location
from legato.model.triggers import Trigger

__all__ = [
    "CacheKeyContext",
    "CachePolicy",
    "Capacity",
    "FailurePolicy",
    "Resources",
    "RetryPolicy",
    "TaskOptions",
    "TaskSpec",
    "check_name",
    "check_tags",
    "parse_memory",
    "user_location",
]

_USER_TRIGGERS = (Trigger.ALL_SUCCEEDED, Trigger.ALL_DONE, Trigger.ANY_FAILED)


def check_trigger(value: object, task: str) -> Trigger:
    """``value`` as a trigger a task may declare, or a ``DefinitionError`` naming them."""
    if isinstance(value, str) and value in _USER_TRIGGERS:
        return Trigger(value)
    shown = ", ".join(repr(t.value) for t in _USER_TRIGGERS)
    raise _invalid(
        f"trigger of task {task!r} must be one of {shown}, not {value!r}",
        task=task,
        fix='pass trigger="all_done" to run whatever happened to the inputs, '
        'trigger="any_failed" to run only when one failed; join branches with legato.one_of',
    )


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
            raise _invalid(f"retry attempts must be an int, not {self.attempts!r}", fix)
        if self.attempts < 1:
            raise _invalid(
                f"retry attempts must be at least 1 (the first attempt), not {self.attempts}",
                fix,
            )
        for name in ("delay", "max_delay"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or value < 0
                or not math.isfinite(value)
            ):
                raise _invalid(f"retry {name} must be >= 0 seconds, not {value!r}", fix)
        if (
            isinstance(self.backoff, bool)
            or not isinstance(self.backoff, int | float)
            or not 1 <= self.backoff < math.inf
        ):
            raise _invalid(f"retry backoff must be >= 1, not {self.backoff!r}", fix)
        if (
            isinstance(self.jitter, bool)
            or not isinstance(self.jitter, int | float)
            or not 0 <= self.jitter < 1
        ):
            raise _invalid(f"retry jitter must be a fraction in [0, 1), not {self.jitter!r}", fix)
        retry_on = self.retry_on if isinstance(self.retry_on, tuple) else (self.retry_on,)
        if not all(isinstance(t, type) and issubclass(t, BaseException) for t in retry_on):
            raise _invalid(
                f"retry_on must be exception classes, not {self.retry_on!r}",
                fix="pass retry_on=(ConnectionError, TimeoutError)",
            )
        object.__setattr__(self, "retry_on", retry_on)
        if not isinstance(self.retry_on_timeout, bool):
            raise _invalid(
                f"retry_on_timeout must be True or False, not {self.retry_on_timeout!r}", fix
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


_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


def check_name(name: str, what: str) -> str:
    """Task and pipeline names become keys, file names and CLI arguments: keep them plain."""
    if not isinstance(name, str) or not _NAME_RE.match(name) or len(name) > 200:
        raise _invalid(
            f"{what} name {name!r} is not allowed",
            fix="use letters, digits, '_', '-' and '.', starting with a letter or '_' "
            f"(pass name=... to choose the {what}'s name)",
        )
    return name


def check_tags(tags: Iterable[str], task: str) -> frozenset[str]:
    """Tags as a frozenset of non-empty strings."""
    # A bare string is an iterable of one-letter "tags": almost certainly not what was meant.
    fix = "pass a list: tags=['nightly']"
    if isinstance(tags, str) or not isinstance(tags, Iterable):
        raise _invalid(f"tags of task {task!r} must be a list of strings, not {tags!r}", fix, task)
    out = frozenset(tags)
    bad = [t for t in out if not isinstance(t, str) or not t]
    if bad:
        raise _invalid(
            f"tags of task {task!r} must be non-empty strings, not {bad[0]!r}", fix, task
        )
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheKeyContext:
    """What a custom cache key function sees of one call: never the loaded inputs (the
    orchestrator does not load task data), but their content digests."""

    task: str
    code: str
    """Fingerprint of the task's code and the user code it reaches."""
    inputs: Mapping[str, str]
    """Content digest of each argument that comes from another task or a file."""
    literals: Mapping[str, Any]
    """Arguments written in the pipeline body and run parameters, by parameter name."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CachePolicy:
    """Whether and how a task's results are reused.

    On by default: a task whose code (and the user code it calls), input content, literal
    arguments and version are unchanged reuses its stored output instead of running.
    """

    enabled: bool = True
    """Look results up before running (results are stored either way)."""
    version: str = ""
    """Bump to invalidate results of unchanged code (e.g. after fixing external data)."""
    expire: float | None = None
    """Seconds after which a stored result is no longer reused."""
    key: Callable[[CacheKeyContext], str] | None = None
    """Replaces the computed key: results are reused when it returns an equal string."""

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise _invalid(
                f"cache enabled must be True or False, not {self.enabled!r}",
                fix="pass CachePolicy(enabled=False) to switch caching off for a task",
            )
        if not isinstance(self.version, str):
            raise _invalid(
                f"cache version must be a str, not {self.version!r}",
                fix="pass CachePolicy(version='2')",
            )
        expire = self.expire
        if expire is not None:
            seconds = getattr(expire, "total_seconds", None)
            if callable(seconds):
                expire = float(seconds())
                object.__setattr__(self, "expire", expire)
            if isinstance(expire, bool) or not isinstance(expire, int | float) or expire <= 0:
                raise _invalid(
                    f"cache expire must be a positive number of seconds, not {self.expire!r}",
                    fix="pass CachePolicy(expire=3600) or a datetime.timedelta",
                )
        if self.key is not None and not callable(self.key):
            raise _invalid(
                f"cache key must be a function, not {self.key!r}",
                fix="pass CachePolicy(key=lambda ctx: ...) returning a str",
            )


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
    cache: CachePolicy = CachePolicy()
    """Result caching; ``@task(cache=False)`` switches lookups off."""
    on_rollback: Callable[..., Any] | None = None
    """Compensation: called as ``handler(output, RollbackContext)`` (or ``handler(output)``)
    when the run fails after this task succeeded in it, to undo what the task did."""
    trigger: Trigger | None = None
    """When the task runs given how its inputs ended (``@task(trigger="all_done")``); None:
    ``all_succeeded``, or ``all_done`` inside a ``legato.finally_()`` block."""

    def __post_init__(self) -> None:
        check_name(self.name, "task")
        if self.trigger is not None:
            object.__setattr__(self, "trigger", check_trigger(self.trigger, self.name))
        if self.on_rollback is not None and not callable(self.on_rollback):
            raise _invalid(
                f"on_rollback of task {self.name!r} must be a function, not {self.on_rollback!r}",
                task=self.name,
                fix="pass on_rollback=undo, where def undo(output, ctx): ... undoes the task",
            )
        if not isinstance(self.cache, CachePolicy):
            raise _invalid(
                f"cache of task {self.name!r} must be True, False or a CachePolicy, "
                f"not {self.cache!r}",
                task=self.name,
                fix="pass cache=False or cache=CachePolicy(version='2', expire=3600)",
            )
        if self.timeout is not None and (
            isinstance(self.timeout, bool)
            or not isinstance(self.timeout, int | float)
            or self.timeout <= 0
            or not math.isfinite(self.timeout)
        ):
            raise _invalid(
                f"timeout of task {self.name!r} must be a positive number of seconds, "
                f"not {self.timeout!r}",
                task=self.name,
                fix="pass timeout=30 (seconds) or leave it out for no timeout",
            )
        if not isinstance(self.retry, RetryPolicy):
            raise _invalid(
                f"retry of task {self.name!r} must be a RetryPolicy, not {self.retry!r}",
                task=self.name,
                fix="pass retry=RetryPolicy(attempts=3) or retries=2",
            )
        if not isinstance(self.resources, Resources):
            raise _invalid(
                f"resources of task {self.name!r} must be a Resources, not {self.resources!r}",
                task=self.name,
                fix="pass resources=Resources(cpus=2, memory='4GiB')",
            )
        object.__setattr__(self, "tags", check_tags(self.tags, self.name))


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
