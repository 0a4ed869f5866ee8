"""``@pipeline``: a function whose body wires tasks together, traced once into a graph."""

from __future__ import annotations

import functools
import html
import inspect
import threading
from collections.abc import Callable, Container, Mapping
from typing import Any, Generic, ParamSpec, TypeVar, overload

from legato.define import render
from legato.define.arguments import call_form
from legato.define.graph import Graph
from legato.define.graph import ParamSpec as RunParam
from legato.define.lanes import map_eagerly, trace_lane
from legato.define.params import check_params
from legato.define.tracing import Tracer, current_tracer
from legato.errors import DefinitionError
from legato.model.ids import SourceLocation
from legato.model.specs import FailurePolicy, check_name, user_location

__all__ = ["Pipeline", "pipeline"]

P = ParamSpec("P")
R = TypeVar("R")


class Pipeline(Generic[P, R]):
    """A pipeline definition.

    ``graph`` traces the body once (on first use) and validates it. Called inside another
    pipeline's body, the pipeline's tasks join the caller's graph. Called anywhere else it runs
    its body as plain Python, tasks included, which is handy in unit tests; use
    :func:`legato.run` to run it with orchestration.
    """

    def __init__(
        self,
        fn: Callable[P, R],
        *,
        name: str,
        failure_policy: FailurePolicy,
        description: str,
    ) -> None:
        self.fn = fn
        self.name = check_name(name, "pipeline")
        self.failure_policy = FailurePolicy(failure_policy)
        self.description = description
        self.params = _run_params(fn, self.name)
        self._graph: Graph | None = None
        self._lock = threading.Lock()
        functools.update_wrapper(self, fn)

    @property
    def graph(self) -> Graph:
        """The validated graph, traced on first access."""
        if self._graph is None:
            with self._lock:
                if self._graph is None:
                    self._graph = self._trace()
        return self._graph

    def _trace(self) -> Graph:
        tracer = Tracer(self.name)
        returned = tracer.trace(self.fn, self.params)
        if not tracer.nodes:
            raise DefinitionError(
                f"pipeline {self.name!r} calls no task",
                fix="call at least one @task function in the pipeline body",
                pipeline=self.name,
                location=_definition_site(self.fn),
            )
        return Graph(
            pipeline=self.name,
            nodes=tracer.finished_nodes(),
            params=self.params,
            output=tracer.output_arg(returned),
            failure_policy=self.failure_policy,
            lanes=tracer.lanes,
        )

    def bind_params(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """Check run parameters against the signature; return them with defaults filled in."""
        return check_params(self.name, self.params, params or {})

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        tracer = current_tracer()
        if tracer is None:
            return self.fn(*args, **kwargs)
        signature = inspect.signature(self.fn)
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise DefinitionError(
                f"pipeline {self.name!r} was called with arguments that do not match its "
                f"signature: {exc}",
                fix=f"call it as {call_form(self.name, signature)}",
                pipeline=tracer.pipeline,
                location=user_location(),
            ) from None
        bound.apply_defaults()
        return tracer.inline(self.name, self.fn, bound.arguments)  # type: ignore[no-any-return]

    def map(self, *args: Any, **kwargs: Any) -> list[R]:
        """Run the whole pipeline once per item of the list arguments (paired by position;
        :func:`~legato.unmapped` and :func:`~legato.keyed` as in ``task.map``), each item's
        chain on its own: an item's next step starts once *its* previous step has
        succeeded. Inside a pipeline body the lists are literal lists or list run
        parameters, and the result is the list of what the body returns for each item
        (see :mod:`legato.define.lanes`); anywhere else the body simply runs per item."""
        tracer = current_tracer()
        if tracer is None:
            return map_eagerly(self.fn, args, kwargs)
        return trace_lane(tracer, self.name, self.fn, args, kwargs)  # type: ignore[return-value]

    def _repr_mimebundle_(
        self, include: Container[str] | None = None, exclude: Container[str] | None = None
    ) -> dict[str, str]:
        """Jupyter's display: the pipeline's name and summary above its graph. A pipeline
        that does not trace shows its error instead of raising inside the notebook's display
        machinery."""
        try:
            graph = self.graph
        except DefinitionError as exc:
            return {"text/plain": f"{self!r} cannot be traced: {exc}"}
        summary = self.description.split("\n\n", 1)[0].replace("\n", " ")
        title = f"pipeline **{html.escape(self.name)}**"
        if summary:
            title += f": {html.escape(summary)}"
        return render.mimebundle(graph, title=title, include=include, exclude=exclude)

    def __repr__(self) -> str:
        return f"<pipeline {self.name}>"


def _definition_site(fn: Callable[..., Any]) -> SourceLocation:
    """Where ``fn`` is defined (its first decorator's line)."""
    code = fn.__code__
    return SourceLocation(
        filename=code.co_filename, lineno=code.co_firstlineno, function=fn.__qualname__
    )


def _run_params(fn: Callable[..., Any], name: str) -> tuple[RunParam, ...]:
    out = []
    for p in inspect.signature(fn).parameters.values():
        if p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            stars = "*" if p.kind is inspect.Parameter.VAR_POSITIONAL else "**"
            raise DefinitionError(
                f"pipeline {name!r} takes {stars}{p.name}; run parameters need names",
                fix="declare each run parameter as a named argument with a default",
                pipeline=name,
                location=_definition_site(fn),
            )
        if p.kind is inspect.Parameter.POSITIONAL_ONLY:
            raise DefinitionError(
                f"pipeline {name!r} has positional-only parameter {p.name!r}",
                fix="remove the '/' from the signature: run parameters are passed by name",
                pipeline=name,
                location=_definition_site(fn),
            )
        out.append(RunParam(name=p.name, default=p.default, annotation=p.annotation))
    return tuple(out)


@overload
def pipeline(fn: Callable[P, R], /) -> Pipeline[P, R]: ...


@overload
def pipeline(
    *, name: str | None = None, failure_policy: FailurePolicy | str = ...
) -> Callable[[Callable[P, R]], Pipeline[P, R]]: ...


def pipeline(
    fn: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    failure_policy: FailurePolicy | str = FailurePolicy.KEEP_GOING,
) -> Pipeline[P, R] | Callable[[Callable[P, R]], Pipeline[P, R]]:
    """Make a function a pipeline.

    Its body calls tasks; each call records a node and returns a placeholder, so the whole
    graph is known before anything runs. Its parameters become run parameters (those with
    defaults are optional).

    Args:
        name: the pipeline's name (default: the function's name).
        failure_policy: ``"keep_going"`` (default: independent branches finish when a task
            fails) or ``"fail_fast"`` (stop everything at the first failure); a run can
            override it.
    """
    try:
        policy = FailurePolicy(failure_policy)
    except ValueError:
        raise DefinitionError(
            f"failure_policy must be one of {[p.value for p in FailurePolicy]}, "
            f"not {failure_policy!r}",
            fix="pass failure_policy='keep_going' or 'fail_fast'",
            pipeline=name,
            location=user_location(),
        ) from None

    def decorate(f: Callable[P, R]) -> Pipeline[P, R]:
        if not inspect.isfunction(f):
            raise DefinitionError(
                f"@pipeline decorates functions, not {f!r}",
                fix="put @pipeline on a def",
                pipeline=name,
                location=user_location(),
            )
        kind = (
            "an async function"
            if inspect.iscoroutinefunction(f) or inspect.isasyncgenfunction(f)
            else "a generator function"
            if inspect.isgeneratorfunction(f)
            else None
        )
        if kind is not None:
            # Its body would not run when called, so tracing would find no task at all.
            raise DefinitionError(
                f"pipeline {name or f.__name__!r} is {kind}; a pipeline body is a plain def",
                fix="write the pipeline as a def that calls tasks (tasks may use "
                "asyncio.run(...) inside)",
                pipeline=name or f.__name__,
                location=user_location(),
            )
        return Pipeline(
            f,
            name=name if name is not None else f.__name__,
            failure_policy=policy,
            description=inspect.getdoc(f) or "",
        )

    if fn is not None:
        return decorate(fn)
    return decorate
