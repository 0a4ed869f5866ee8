"""The options of a run, defined once: :class:`RunOptions` (``run``, ``start``, ``prepare``)
and :class:`ResumeOptions` (``resume``, ``prepare_resume``), which share the fields of
:class:`CommonOptions`.

Each is a frozen dataclass with a docstring per field and one validation (``__post_init__``,
through one table of checks): a bad value raises :class:`~legato.errors.ParameterError` naming
the option, whoever built it. Edges build them directly (the CLI) or from a mapping
(:meth:`~CommonOptions.from_mapping`, for a JSON body: an unknown name is refused with the
closest known one).

The functions take the options in two spellings, which may be mixed (keywords win)::

    legato.run(p, {"a": 1}, executor="threads", store=False)
    legato.run(p, {"a": 1}, RunOptions(executor="threads", store=False))

The keywords are not declared a second time. :func:`takes_run_options` gives a function the
parameters of ``RunOptions``'s constructor through a ``ParamSpec``, so a type checker checks
``legato.run(p, executr="threads")`` exactly as it checks ``RunOptions(executr="threads")``
(an unknown name or a wrong type is an error), and the function's runtime signature lists
them (``help()``, IDEs, documentation). The alternatives repeat the fields: a ``TypedDict``
for ``**kwargs: Unpack[...]`` can neither be derived from a dataclass nor a dataclass from
it for a type checker, so the fields and their docs would exist twice (and ``Unpack`` needs
``typing_extensions`` on Python 3.11); keyword lists on each function were the copies, four
of them, that this module replaces.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from types import MappingProxyType
from typing import Any, ParamSpec, Protocol, Self, TypeVar, cast

from legato.config import EXECUTOR_NAMES
from legato.config_keys import CAPACITY_EXAMPLE, read_amounts
from legato.define.pipeline import Pipeline
from legato.engine.clock import Clock
from legato.engine.journal import Listener
from legato.engine.storage import StoreOption
from legato.errors import ParameterError
from legato.executors.base import Executor
from legato.model.specs import FailurePolicy
from legato.store.base import Storage

__all__ = [
    "CommonOptions",
    "ResumeFunction",
    "ResumeOptions",
    "RunFunction",
    "RunOptions",
    "takes_resume_options",
    "takes_run_options",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class CommonOptions:
    """What starting a run and resuming one both take: where it runs, where it is recorded,
    who watches it, which profile applies."""

    executor: str | Executor | None = None
    """Where tasks run: ``"inline"``, ``"threads"`` or ``"processes"`` (with the profile's
    concurrency), or an :class:`~legato.Executor` used as given. None: the profile's
    executor (threads unless it says otherwise); a resumed run keeps the one it ran with."""
    listeners: Sequence[Listener] = ()
    """Objects whose ``on_events(events)`` receives each batch of events once it is
    committed (progress displays, tests); one that raises is dropped and the run goes on."""
    clock: Clock | None = None
    """The engine's time (monotonic, wall, waiting on its inbox); None: the real clock. Tests
    pass ``legato.testing.FakeClock``, under which retry delays pass at once."""
    seed: int | None = None
    """Seed of the run's own random numbers (retry jitter), to make a run reproducible."""
    store: StoreOption = None
    """Where the run is recorded. None or True: the run store the profile names
    (``.legato/`` by default); False: nothing is stored (no caching, no resume);
    ``"memory"``: an in-memory store for this process; a ``Storage``: as given. A resume
    needs the store that recorded the run."""
    profile: str | None = None
    """The ``legato.toml`` profile whose settings apply (store, executor and concurrency,
    failure policy, ``stale_after``, secrets); None: ``LEGATO_PROFILE``, else the file's
    ``default_profile``. Options given here win over it."""
    capacity: Mapping[str, float | str] | str | None = None
    """What a named executor offers over the machine's and the profile's ``capacity``:
    ``cpus``, ``memory``, ``gpus``, ``slots`` or a custom resource's name -> amount
    (``{"gpus": 1, "db": 2}``, or the text ``"gpus=1,db=2"`` as ``--capacity`` takes it).
    Tasks asking for a custom resource (``Resources(custom={"db": 1})``) need it here or in
    the profile. An executor object keeps its own."""
    echo_logs: bool = True
    """Whether what tasks print also goes to this process's own output; it is captured and
    stored with the run either way (the CLI passes False and shows it from the store,
    prefixed by task)."""

    @property
    def amounts(self) -> Mapping[str, float | str]:
        """``capacity`` as checked: name -> amount (empty: none given)."""
        return cast("Mapping[str, float | str]", self.capacity or {})

    def __post_init__(self) -> None:
        for spec in fields(self):
            try:
                value = _CHECKS[spec.name](getattr(self, spec.name))
            except _InvalidError as exc:
                raise ParameterError(f"option {spec.name!r}: {exc}") from None
            object.__setattr__(self, spec.name, value)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Self:
        """Options from a mapping of option names to values, e.g. a JSON request body: a
        name that is no option raises :class:`~legato.errors.ParameterError` saying which
        one (and the closest option name), a bad value one naming the option."""
        if not isinstance(data, Mapping):
            raise ParameterError(f"options must be a mapping of names to values, not {data!r}")
        _check_names(cls, data)
        return cls(**data)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunOptions(CommonOptions):
    """How to run a pipeline: :func:`legato.run`, :func:`legato.start` and ``legato run``
    take these (as keywords or as one object)."""

    failure_policy: FailurePolicy | str | None = None
    """What the run does when a task fails for good: ``"keep_going"`` (independent tasks
    finish) or ``"fail_fast"`` (everything stops). None: the profile's, else the
    pipeline's own."""
    run_id: str | None = None
    """The new run's id: 1 to 64 letters, digits, ``-`` and ``_``, starting with a letter
    or digit. None: a new time-ordered id."""
    cache: bool = True
    """Whether tasks whose code and inputs are unchanged reuse stored results (False: every
    task runs; results are stored all the same). Recorded with the run: a resume keeps it."""
    refresh: bool | str | Iterable[str] = False
    """Tasks that run again even when a stored result would do: True for all, or task names
    or keys (one name may be a str). A name that is no task of the pipeline is refused
    before the run exists. Recorded with the run: a resume keeps it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ResumeOptions(CommonOptions):
    """How to continue a recorded run: :func:`legato.resume` and ``legato resume`` take
    these. What the run was started with (parameters, failure policy, cache options) is
    recorded with it and not chosen again."""

    pipeline: Pipeline[..., Any] | None = None
    """The run's pipeline. None: imported again from where the run recorded it (a run
    started from a script's ``__main__`` or a notebook needs it given)."""
    stale_after: float | None = None
    """Seconds without a heartbeat after which the run's orchestrator counts as dead and the
    run may be taken over. None: at once when that process is known to be gone, else the
    profile's ``stale_after``."""


# ------------------------------------------------------------------ checks, one per field


class _InvalidError(ValueError):
    """What is wrong with one option's value; ``__post_init__`` names the option."""


def _is(expected: str, test: Callable[[Any], bool]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if not test(value):
            raise _InvalidError(f"expected {expected}, not {value!r}")
        return value

    return check


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _executor(value: Any) -> str | Executor | None:
    if value is None or isinstance(value, Executor) or value in EXECUTOR_NAMES:
        return cast("str | Executor | None", value)
    raise _InvalidError(
        f"unknown executor {value!r}; use one of {', '.join(EXECUTOR_NAMES)} or pass an "
        "Executor instance"
    )


def _listeners(value: Any) -> tuple[Listener, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise _InvalidError(f"expected a list of listeners, not {value!r}")
    for listener in (listeners := tuple(value)):
        if not callable(getattr(listener, "on_events", None)):
            raise _InvalidError(f"{listener!r} has no on_events(events) method")
    return listeners


def _clock(value: Any) -> Clock | None:
    if value is not None and not all(
        callable(getattr(value, name, None)) for name in ("monotonic", "time", "wait")
    ):
        raise _InvalidError(f"{value!r} is no clock (monotonic(), time(), wait(inbox, timeout))")
    return cast("Clock | None", value)


def _store(value: Any) -> StoreOption:
    if value is None or isinstance(value, bool | Storage) or value == "memory":
        return cast(StoreOption, value)
    raise _InvalidError(
        f"unknown store {value!r}; leave it out for the profile's store, or pass False "
        "(record nothing) or 'memory' (this process only)"
    )


def _failure_policy(value: Any) -> FailurePolicy | None:
    try:
        return None if value is None else FailurePolicy(value)
    except ValueError:
        choices = " or ".join(repr(p.value) for p in FailurePolicy)
        raise _InvalidError(f"unknown failure policy {value!r}; use {choices}") from None


_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def _run_id(value: Any) -> str | None:
    if value is not None and not (isinstance(value, str) and _RUN_ID.match(value)):
        raise _InvalidError(
            f"run id {value!r} is not allowed: use 1 to 64 letters, digits, '-' and '_'"
        )
    return value


def _refresh(value: Any) -> bool | frozenset[str]:
    if isinstance(value, bool):
        return value
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, Iterable):
        raise _InvalidError(f"expected true, false or task names, not {value!r}")
    names = list(names)
    if not all(isinstance(name, str) for name in names):
        raise _InvalidError(f"task names are strings, not {names!r}")
    return frozenset(names) or False  # no names: nothing to refresh


def _capacity(value: Any) -> Mapping[str, float | str] | None:
    if value is None:
        return None
    try:
        return MappingProxyType(read_amounts(dict(value) if isinstance(value, Mapping) else value))
    except ValueError as exc:
        raise _InvalidError(f"{exc}; e.g. {{'gpus': 1, 'db': 2}} or '{CAPACITY_EXAMPLE}'") from None


def _stale_after(value: Any) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value < math.inf:
        raise _InvalidError(f"expected a number of seconds >= 0, not {value!r}")
    return float(value)


_CHECKS: Mapping[str, Callable[[Any], Any]] = {
    "executor": _executor,
    "listeners": _listeners,
    "clock": _clock,
    "seed": _is("a whole number", lambda v: v is None or _is_int(v)),
    "store": _store,
    "profile": _is("a profile name", lambda v: v is None or isinstance(v, str)),
    "echo_logs": _is("true or false", lambda v: isinstance(v, bool)),
    "failure_policy": _failure_policy,
    "run_id": _run_id,
    "cache": _is("true or false", lambda v: isinstance(v, bool)),
    "refresh": _refresh,
    "pipeline": _is("a @pipeline", lambda v: v is None or isinstance(v, Pipeline)),
    "stale_after": _stale_after,
    "capacity": _capacity,
}
"""The check of each option (a test keeps it equal to the fields): it returns the value as
the options keep it, or raises ``_InvalidError`` saying what is wrong."""


def _check_names(cls: type[CommonOptions], names: Iterable[object]) -> None:
    known = [spec.name for spec in fields(cls)]
    for name in names:
        if name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1) if isinstance(name, str) else []
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ParameterError(
            f"unknown option {name!r}{hint}; {cls.__name__} has {', '.join(known)}"
        )


# ------------------------------------------------------------------ the two call shapes

P = ParamSpec("P")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)
OptionsT = TypeVar("OptionsT", bound=CommonOptions)


class RunFunction(Protocol[P, R_co]):
    """``run``, ``start`` and ``prepare``: a pipeline, its parameters, then options as one
    :class:`RunOptions` and/or as keywords (``P``: those of ``RunOptions(...)``)."""

    def __call__(
        self,
        pipeline: Pipeline[..., Any],
        params: Mapping[str, Any] | None = None,
        options: RunOptions | None = None,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R_co: ...


class ResumeFunction(Protocol[P, R_co]):
    """``resume`` and ``prepare_resume``: a run id (or a unique prefix), then options as one
    :class:`ResumeOptions` and/or as keywords (``P``: those of ``ResumeOptions(...)``)."""

    def __call__(
        self,
        run_id: str,
        options: ResumeOptions | None = None,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R_co: ...


def takes_run_options(
    cls: Callable[P, RunOptions],
) -> Callable[
    [Callable[[Pipeline[..., Any], Mapping[str, Any] | None, RunOptions], R]],
    RunFunction[P, R],
]:
    """Decorate ``fn(pipeline, params, options)`` into a :class:`RunFunction` that also
    takes the fields of ``cls`` (``RunOptions``) as keywords."""

    def decorate(
        fn: Callable[[Pipeline[..., Any], Mapping[str, Any] | None, RunOptions], R],
    ) -> RunFunction[P, R]:
        options_type = cast("type[RunOptions]", cls)

        @functools.wraps(fn)
        def call(
            pipeline: Pipeline[..., Any],
            params: Mapping[str, Any] | None = None,
            options: RunOptions | None = None,
            **keywords: Any,
        ) -> R:
            return fn(pipeline, params, _merge(options_type, options, keywords))

        call.__signature__ = _signature(fn, options_type)  # type: ignore[attr-defined]
        return cast("RunFunction[P, R]", call)

    return decorate


def takes_resume_options(
    cls: Callable[P, ResumeOptions],
) -> Callable[[Callable[[str, ResumeOptions], R]], ResumeFunction[P, R]]:
    """Decorate ``fn(run_id, options)`` into a :class:`ResumeFunction` that also takes the
    fields of ``cls`` (``ResumeOptions``) as keywords."""

    def decorate(fn: Callable[[str, ResumeOptions], R]) -> ResumeFunction[P, R]:
        options_type = cast("type[ResumeOptions]", cls)

        @functools.wraps(fn)
        def call(run_id: str, options: ResumeOptions | None = None, **keywords: Any) -> R:
            return fn(run_id, _merge(options_type, options, keywords))

        call.__signature__ = _signature(fn, options_type)  # type: ignore[attr-defined]
        return cast("ResumeFunction[P, R]", call)

    return decorate


def _merge(cls: type[OptionsT], options: OptionsT | None, keywords: Mapping[str, Any]) -> OptionsT:
    """``options`` (None: the defaults) with ``keywords`` in place of their fields, checked
    as :meth:`CommonOptions.from_mapping` checks a mapping."""
    if options is None:
        return cls.from_mapping(keywords)
    if not isinstance(options, cls):
        raise ParameterError(
            f"options must be a {cls.__name__}, not {type(options).__name__}: pass the "
            "others as keywords"
        )
    if not keywords:
        return options
    _check_names(cls, keywords)
    return replace(options, **keywords)


def _signature(fn: Callable[..., Any], cls: type[CommonOptions]) -> inspect.Signature:
    """``fn``'s signature as callers see it: its own parameters, the options object
    optional, then every option as a keyword (what ``help()`` shows)."""
    own = inspect.signature(fn)
    *first, last = own.parameters.values()
    head = [first[0], *(p.replace(default=None) for p in first[1:])]
    options = last.replace(default=None, annotation=f"{cls.__name__} | None")
    keywords = [
        inspect.Parameter(
            spec.name, inspect.Parameter.KEYWORD_ONLY, default=spec.default, annotation=spec.type
        )
        for spec in fields(cls)
    ]
    return own.replace(parameters=[*head, options, *keywords])
