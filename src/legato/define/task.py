"""``@task``: a plain function becomes a task definition that still calls like the function."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any, Generic, ParamSpec, TypeVar, overload

from legato.define.mapping import Keyed, Unmapped
from legato.define.ordering import AFTER, takes_after
from legato.define.products import expand_products
from legato.define.tracing import current_tracer
from legato.errors import DefinitionError
from legato.model.ids import SourceLocation
from legato.model.specs import (
    CachePolicy,
    Resources,
    RetryPolicy,
    TaskOptions,
    TaskSpec,
    check_tags,
    user_location,
)

__all__ = ["Task", "check_handler", "handler_arity", "task"]

P = ParamSpec("P")
R = TypeVar("R")


class Task(Generic[P, R]):
    """A task: a function plus frozen options.

    Called inside a ``@pipeline`` body it records a node and returns a placeholder for its
    output. Called anywhere else it simply runs the function, so tasks stay unit-testable.
    """

    __slots__ = ("__dict__", "spec")

    def __init__(self, spec: TaskSpec) -> None:
        self.spec = spec
        functools.update_wrapper(self, spec.fn)

    @property
    def name(self) -> str:
        """The task's name."""
        return self.spec.name

    @property
    def options(self) -> TaskOptions:
        """The task's options."""
        return self.spec.options

    @property
    def fn(self) -> Callable[P, R]:
        """The plain function."""
        return self.spec.fn

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        tracer = current_tracer()
        if tracer is None:
            # Outside a pipeline there is nothing to order: after= is dropped, not passed on.
            if AFTER in kwargs and not takes_after(self.spec.signature.parameters):
                kwargs.pop(AFTER)
            return self.spec.fn(*args, **kwargs)  # type: ignore[no-any-return]
        return tracer.record(self.spec, args, kwargs, mapped=False)  # type: ignore[return-value]

    def map(self, *args: Any, **kwargs: Any) -> list[R]:
        """Run the task once per item of the list arguments (paired by position); other
        arguments, and any wrapped in :func:`~legato.unmapped`, go whole to every item.

        In a pipeline body the lists may be other tasks' outputs, expanded at run time; the
        result passed downstream is the list of item outputs, in order. The items are
        ``task[0]``, ``task[1]``...; a list wrapped in :func:`~legato.keyed` names them by
        its values instead (``task[linear]``), and :func:`~legato.product` runs every
        combination of several lists (``task[alpha=0.1,l1_ratio=0.5]``).
        """
        tracer = current_tracer()
        if tracer is not None:
            return tracer.record(self.spec, args, kwargs, mapped=True)  # type: ignore[return-value]
        return _map_eagerly(self.spec, args, kwargs)

    def with_options(
        self,
        *,
        name: str | None = None,
        retries: int | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        resources: Resources | None = None,
        tags: Iterable[str] | None = None,
        cache: bool | CachePolicy | None = None,
        on_rollback: Callable[..., Any] | None = None,
        trigger: str | None = None,
    ) -> Task[P, R]:
        """A copy of this task with some options changed (each as :func:`task` takes it):
        ``train.with_options(resources=Resources(gpus=1, memory="16GiB", limit=True))``
        asks for other resources in one pipeline without changing the task elsewhere;
        ``name=`` tells two variants of one task apart in one pipeline."""
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = name
        if trigger is not None:
            changes["trigger"] = trigger
        if retries is not None or retry is not None:
            changes["retry"] = _retry_policy(
                retries, retry, self.spec.options.retry, self.spec.name, user_location()
            )
        if timeout is not None:
            changes["timeout"] = timeout
        if resources is not None:
            changes["resources"] = resources
        if tags is not None:
            changes["tags"] = check_tags(tags, self.spec.name)
        if cache is not None:
            changes["cache"] = (
                cache if isinstance(cache, CachePolicy) else CachePolicy(enabled=cache)
            )
        if on_rollback is not None:
            check_handler(on_rollback, self.spec.name, user_location())
            changes["on_rollback"] = on_rollback
            if cache is None and self.spec.options.cache == CachePolicy():
                changes["cache"] = CachePolicy(enabled=False)
        return Task(replace(self.spec, options=replace(self.spec.options, **changes)))

    def __repr__(self) -> str:
        return f"<task {self.spec.name}>"


def _map_eagerly(spec: TaskSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
    """``task.map`` outside a pipeline: a plain loop with the same pairing rules (item keys
    name nothing here: the result is the list of outputs)."""
    if AFTER in kwargs and not takes_after(spec.signature.parameters):
        kwargs = {k: v for k, v in kwargs.items() if k != AFTER}
    args, kwargs, _ = expand_products(spec.name, spec.signature, args, kwargs)
    args = tuple(a.value if isinstance(a, Keyed) else a for a in args)
    kwargs = {k: v.value if isinstance(v, Keyed) else v for k, v in kwargs.items()}
    lengths = {len(v) for v in (*args, *kwargs.values()) if isinstance(v, list | range)}
    if len(lengths) != 1:
        raise ValueError(
            f"{spec.name}.map() needs lists of one common length to map over, got lengths "
            f"{sorted(lengths)}; tuples and other values go whole to every item, and so do "
            "lists wrapped in unmapped(...)"
        )
    (n,) = lengths

    def pick(value: Any, i: int) -> Any:
        if isinstance(value, Unmapped):
            return value.value
        if isinstance(value, list | range):
            return value[i]
        return value

    return [
        spec.fn(*(pick(a, i) for a in args), **{k: pick(v, i) for k, v in kwargs.items()})
        for i in range(n)
    ]


def _retry_policy(
    retries: int | None,
    retry: RetryPolicy | None,
    default: RetryPolicy,
    task: str,
    location: SourceLocation | None,
) -> RetryPolicy:
    if retries is not None and retry is not None:
        raise DefinitionError(
            f"task {task!r} was given both retries= and retry=",
            fix="use retries=N for N retries with the default delays, or retry=RetryPolicy(...)",
            task=task,
            location=location,
        )
    if retry is not None:
        return retry
    if retries is not None:
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise DefinitionError(
                f"retries of task {task!r} must be a whole number >= 0, not {retries!r}",
                fix="pass retries=3 for up to three retries after the first attempt",
                task=task,
                location=location,
            )
        return replace(default, attempts=retries + 1)
    return default


def _cache_policy(cache: bool | CachePolicy, on_rollback: Callable[..., Any] | None) -> CachePolicy:
    if isinstance(cache, CachePolicy):
        return cache  # explicit: a cache hit of a task with a handler is not compensated
    # A task that can be undone acts outside its output: reusing the output would skip the
    # act (and a rollback may have undone it), so only an explicit CachePolicy opts in.
    return CachePolicy(enabled=cache and on_rollback is None)


def check_handler(handler: Any, task: str, location: SourceLocation | None) -> None:
    """Refuse an ``on_rollback`` that cannot be called as ``handler(output, ctx)`` or
    ``handler(output)``."""
    fix = "def undo(output, ctx): ... then @task(on_rollback=undo)"
    if not callable(handler) or inspect.isclass(handler):
        raise DefinitionError(
            f"on_rollback of task {task!r} must be a function, not {handler!r}",
            fix=fix,
            task=task,
            location=location,
        )
    if inspect.iscoroutinefunction(handler) or inspect.isgeneratorfunction(handler):
        raise DefinitionError(
            f"on_rollback of task {task!r} is an async or generator function",
            fix="write the handler as a plain def",
            task=task,
            location=location,
        )
    if handler_arity(handler) == 0:
        raise DefinitionError(
            f"on_rollback of task {task!r} ({getattr(handler, '__qualname__', handler)}) "
            "cannot be called with the task's output",
            fix=fix,
            task=task,
            location=location,
        )


def handler_arity(handler: Any) -> int:
    """2 if ``handler`` takes ``(output, ctx)``, 1 if it takes ``(output)``, else 0."""
    try:
        signature = inspect.signature(handler)
    except (TypeError, ValueError):
        return 2  # a builtin or C callable: let the call decide
    for arity in (2, 1):
        try:
            signature.bind(*([None] * arity))
        except TypeError:
            continue
        return arity
    return 0


def _fixed_outputs(fn: Callable[..., Any]) -> int | None:
    """How many values ``fn`` returns, from a ``-> tuple[A, B]`` annotation."""
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # unresolvable forward references: fall back to the raw text
        raw = inspect.get_annotations(fn).get("return")
        if isinstance(raw, str):
            text = raw.replace(" ", "")
            if text.startswith(("tuple[", "Tuple[", "typing.Tuple[")) and "..." not in text:
                inner = text[text.index("[") + 1 : -1]
                depth, count = 0, 1
                for ch in inner:
                    depth += ch == "["
                    depth -= ch == "]"
                    count += ch == "," and depth == 0
                return count if inner and inner != "()" else None
        return None
    ret = hints.get("return")
    if typing.get_origin(ret) is tuple:
        items = typing.get_args(ret)
        if items and Ellipsis not in items and items != ((),):
            return len(items)
    return None


@overload
def task(fn: Callable[P, R], /) -> Task[P, R]: ...


@overload
def task(
    *,
    name: str | None = None,
    retries: int | None = None,
    retry: RetryPolicy | None = None,
    timeout: float | None = None,
    resources: Resources | None = None,
    tags: Iterable[str] = (),
    outputs: int | None = None,
    cache: bool | CachePolicy = True,
    on_rollback: Callable[..., Any] | None = None,
    trigger: str | None = None,
) -> Callable[[Callable[P, R]], Task[P, R]]: ...


def task(
    fn: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    retries: int | None = None,
    retry: RetryPolicy | None = None,
    timeout: float | None = None,
    resources: Resources | None = None,
    tags: Iterable[str] = (),
    outputs: int | None = None,
    cache: bool | CachePolicy = True,
    on_rollback: Callable[..., Any] | None = None,
    trigger: str | None = None,
) -> Task[P, R] | Callable[[Callable[P, R]], Task[P, R]]:
    """Make a function a task.

    Args:
        name: name in graphs, logs and the CLI (default: the function's name).
        retries: how many times to retry a failed attempt, with the default delays
            (1 s, doubling, ±10% jitter); or give ``retry=RetryPolicy(...)``.
        retry: the full retry policy.
        timeout: seconds one attempt may run before it is stopped.
        resources: what one attempt needs (CPUs, memory, GPUs, custom amounts).
        tags: free-form labels.
        outputs: how many values the function returns, when not annotated as
            ``-> tuple[A, B]``; lets a pipeline body unpack them.
        cache: ``False`` to never reuse stored results, or a ``CachePolicy`` (version,
            expiry, custom key).
        on_rollback: compensation, called as ``on_rollback(output, ctx)`` (``ctx`` a
            :class:`~legato.RollbackContext`; a one-parameter handler gets the output only)
            when the run fails after this task succeeded in it: handlers of the succeeded
            tasks run in reverse order of completion, on the run's executor. Handlers must be
            idempotent: one in flight when the orchestrator dies runs again on resume. A task
            with a handler acts outside its output, so its result is not reused from the
            cache unless ``cache`` is a ``CachePolicy`` (a cache hit did nothing in the run
            and is not compensated).
    """

    def decorate(f: Callable[P, R]) -> Task[P, R]:
        location = user_location()  # the decorator's line, for every error below
        label = name if name is not None else getattr(f, "__name__", None)
        if isinstance(f, Task):
            raise DefinitionError(
                f"{f.name} is already a task",
                fix="apply @task once per function",
                task=f.name,
                location=location,
            )
        if not callable(f) or inspect.isclass(f):
            raise DefinitionError(
                f"@task decorates functions, not {f!r}",
                fix="put @task on a def (a method or a function that builds the object)",
                task=label,
                location=location,
            )
        if inspect.iscoroutinefunction(f) or inspect.isasyncgenfunction(f):
            raise DefinitionError(
                f"task {label!r} ({f.__qualname__}) is an async function; tasks are plain "
                "functions",
                fix="write the task as a def and call asyncio.run(...) inside it",
                task=label,
                location=location,
            )
        if inspect.isgeneratorfunction(f):
            raise DefinitionError(
                f"task {label!r} ({f.__qualname__}) is a generator function; a task returns "
                "one value",
                fix="return a list instead of yielding items",
                task=label,
                location=location,
            )
        if label is None:
            raise DefinitionError(
                f"{f!r} has no __name__ to name the task after",
                fix="pass @task(name=...) or task(name=...)(fn)",
                location=location,
            )
        if outputs is not None and (
            isinstance(outputs, bool) or not isinstance(outputs, int) or outputs < 1
        ):
            raise DefinitionError(
                f"outputs of task {label!r} must be a positive whole number, not {outputs!r}",
                fix="pass outputs=2 for a function that returns two values",
                task=label,
                location=location,
            )
        try:
            signature = inspect.signature(f)
        except (TypeError, ValueError) as exc:
            raise DefinitionError(
                f"cannot read the signature of task {label!r}: {exc}",
                fix="wrap the callable in a def with named parameters and decorate that",
                task=label,
                location=location,
            ) from None
        if on_rollback is not None:
            check_handler(on_rollback, label, location)
        options = TaskOptions(
            name=label,
            retry=_retry_policy(retries, retry, RetryPolicy(), label, location),
            timeout=timeout,
            resources=resources if resources is not None else Resources(),
            tags=check_tags(tags, label),
            cache=_cache_policy(cache, on_rollback),
            on_rollback=on_rollback,
            trigger=trigger,  # type: ignore[arg-type]  # checked by TaskOptions
        )
        spec = TaskSpec(
            fn=f,
            options=options,
            signature=signature,
            outputs=outputs if outputs is not None else _fixed_outputs(f),
        )
        return Task(spec)

    if fn is not None:
        return decorate(fn)
    return decorate
