# ruff: noqa: PLE0303, PLE0304, PLE0305, PLE0307 - placeholder dunders raise on purpose
"""The placeholders a traced pipeline body holds: what calling a task returns while the body
is traced (:class:`Output`), a run parameter (:class:`ParamOutput`) and one item of a mapped
sub-pipeline (:class:`LaneOutput`).

A placeholder stands for a value that exists only at run time. Anything that would need that
value now (``if``, ``for``, ``len``, arithmetic, ``str``, attribute access) raises a
:class:`~legato.errors.DefinitionError` that names the task and the line; indexing and
unpacking give placeholders of parts of it. The :class:`~legato.define.tracing.Tracer` makes
them and turns them back into input bindings.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NoReturn

from legato.define.lanespec import LaneItem
from legato.define.mapping import Keyed, Unmapped
from legato.errors import DefinitionError
from legato.model.ids import SourceLocation
from legato.model.specs import user_location
from legato.model.values import Arg, Param, Ref

if TYPE_CHECKING:
    from legato.define.tracing import Tracer

__all__ = [
    "LaneOutput",
    "Output",
    "ParamOutput",
    "contains_placeholder",
    "find_lane",
    "find_placeholder",
]


class Output:
    """A placeholder for a task's output inside a pipeline body.

    Index it (``out[0]``, ``out["key"]``) or unpack it when the task returns a fixed tuple;
    pass it to other tasks. Its value exists only when the run executes the task.
    """

    __slots__ = ("_length", "_location", "_node", "_path", "_ref", "_task", "_tracer")

    def __init__(
        self,
        tracer: Tracer,
        node: str,
        task: str,
        *,
        path: tuple[Any, ...] = (),
        length: int | None = None,
        location: SourceLocation | None = None,
    ) -> None:
        self._tracer = tracer
        self._node = node
        self._path = path
        self._task = task
        self._length = length
        self._location = location
        self._ref: Ref | None = None

    def _as_arg(self) -> Arg:
        # One reference for every task that reads this output (a wide graph's nodes are
        # read by several each).
        ref = self._ref
        if ref is None:
            ref = self._ref = Ref(self._node, self._path)
        return ref

    def _describe(self) -> str:
        suffix = "".join(f"[{p!r}]" for p in self._path)
        return f"the output of task {self._node!r}{suffix}"

    def __repr__(self) -> str:
        return f"<{self._describe()} (known at run time)>"

    def __getitem__(self, index: Any) -> Output:
        if isinstance(index, slice) or not isinstance(index, int | str):
            self._misuse(
                f"indexed with {index!r}",
                "index outputs with an int or a str (out[0], out['key']); slice inside a task",
            )
        return self._with_path((*self._path, index))

    def _with_path(self, path: tuple[Any, ...]) -> Output:
        return Output(self._tracer, self._node, self._task, path=path, location=self._location)

    def __iter__(self) -> Iterator[Output]:
        if self._length is None:
            self._misuse(
                "iterated (a for loop, unpacking, list() or a comprehension over it)",
                "to run a task per item use `other_task.map(out)`; to unpack "
                f"several return values annotate {self._task!r} with `-> tuple[A, B]` or pass "
                f"@task(outputs=N)",
            )
        return iter([self[i] for i in range(self._length)])

    def _misuse(self, what: str, fix: str) -> NoReturn:
        raise DefinitionError(
            f"{self._describe()} was {what} in the pipeline body, but it has no value until "
            f"{self._known_when()}",
            fix=fix,
            task=self._task_key(),
            pipeline=self._tracer.pipeline,
            location=user_location(),
        )

    def _task_key(self) -> str | None:
        return self._node

    def _known_when(self) -> str:
        return "the run executes the task"

    def _control_flow(self, *_: Any) -> NoReturn:
        self._misuse(
            "used in Python control flow or arithmetic",
            "move the logic into a task that receives this output as an argument "
            "(tasks run with real values; the pipeline body only wires them)",
        )

    def __bool__(self) -> bool:
        self._misuse(
            "tested for truth (an `if`, `while`, `and`/`or` or `not`)",
            "decide inside a task: pass the output to a task that branches on its value",
        )

    def __len__(self) -> int:
        self._misuse(
            "given to len()",
            "compute the length inside a task, or fan out with `task.map(out)` which "
            "handles any length",
        )

    def __str__(self) -> str:
        self._misuse(
            "turned into a string (str(), an f-string or print formatting)",
            "build the string inside a task that receives the output",
        )

    def __format__(self, spec: str) -> str:
        return self.__str__()

    def __fspath__(self) -> str:
        self._misuse(
            "used as a file path",
            "open the path inside a task that receives the output",
        )

    def __index__(self) -> int:
        self._control_flow()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        self._misuse(
            f"asked for its attribute {name!r}",
            f"read `.{name}` inside a task, or return it from the task and index "
            "the output with ['key']",
        )

    def __call__(self, *args: Any, **kwargs: Any) -> NoReturn:
        self._misuse("called like a function", "call functions on the value inside a task")

    def __setitem__(self, key: Any, value: Any) -> NoReturn:
        self._misuse("assigned into", "change values inside a task and return them")

    def __contains__(self, item: Any) -> bool:
        self._control_flow()

    # Comparisons and arithmetic, both sides, are control flow on a value that isn't there.
    __lt__ = __le__ = __gt__ = __ge__ = _control_flow
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _control_flow
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = _control_flow
    __mod__ = __rmod__ = __pow__ = __rpow__ = __matmul__ = __rmatmul__ = _control_flow
    __and__ = __rand__ = __or__ = __ror__ = __xor__ = __rxor__ = _control_flow
    __lshift__ = __rlshift__ = __rshift__ = __rrshift__ = _control_flow
    __divmod__ = __rdivmod__ = _control_flow
    __neg__ = __pos__ = __abs__ = __invert__ = _control_flow
    __int__ = __float__ = __complex__ = __round__ = _control_flow
    __trunc__ = __floor__ = __ceil__ = _control_flow

    def __eq__(self, other: object) -> bool:
        self._control_flow()

    def __ne__(self, other: object) -> bool:
        self._control_flow()

    __hash__ = object.__hash__


class ParamOutput(Output):
    """A placeholder for a run parameter inside a pipeline body."""

    __slots__ = ()

    def _as_arg(self) -> Arg:
        return Param(self._node)

    def _describe(self) -> str:
        return f"run parameter {self._node!r}"

    def _task_key(self) -> str | None:
        return None  # the message names the parameter; there is no task to name

    def _known_when(self) -> str:
        return "a run binds it"

    def __getitem__(self, index: Any) -> Output:
        # A parameter binding has no index path (unlike a task output's Ref).
        self._misuse(
            f"indexed with {index!r}",
            "pass the whole parameter to a task and index it there, or make the item a "
            "run parameter of its own",
        )

    def __iter__(self) -> Iterator[Output]:
        self._misuse(
            "iterated (a for loop, unpacking, list() or a comprehension over it)",
            f"to run a task per item use `task.map({self._node})` (a list parameter is mapped "
            "over at run time), or iterate inside a task that receives it",
        )


class LaneOutput(Output):
    """Inside a mapped sub-pipeline (``sub.map(items)``), a placeholder for one item's
    value: its item of a list the sub-pipeline maps over, or the output of one of its
    steps for that item. A task given one runs once per item."""

    __slots__ = ("_lane", "_source")

    def __init__(
        self,
        tracer: Tracer,
        node: str,
        task: str,
        *,
        lane: str,
        source: str | None = None,
        path: tuple[Any, ...] = (),
        length: int | None = None,
        location: SourceLocation | None = None,
    ) -> None:
        super().__init__(tracer, node, task, path=path, length=length, location=location)
        self._lane = lane
        self._source = source

    def _as_arg(self) -> Arg:
        if self._source is not None:
            return LaneItem(self._lane, self._source, self._path)
        return Ref(self._node, self._path)

    def _describe(self) -> str:
        suffix = "".join(f"[{p!r}]" for p in self._path)
        if self._source is not None:
            return f"one item of {self._source!r} in mapped sub-pipeline {self._lane!r}{suffix}"
        return f"the output of task {self._node!r} for one item{suffix}"

    def _task_key(self) -> str | None:
        return None if self._source is not None else self._node

    def _with_path(self, path: tuple[Any, ...]) -> Output:
        return LaneOutput(
            self._tracer,
            self._node,
            self._task,
            lane=self._lane,
            source=self._source,
            path=path,
            location=self._location,
        )


def find_lane(value: Any, depth: int = 64) -> LaneOutput | None:
    """The first per-item placeholder in ``value`` (containers and markers searched deep)."""
    if isinstance(value, Unmapped | Keyed):
        value = value.value
    if isinstance(value, LaneOutput):
        return value
    if depth == 0 or isinstance(value, Output):
        return None
    items: Any = ()
    if isinstance(value, list | tuple | set | frozenset):
        items = value
    elif isinstance(value, dict):
        items = value.values()
    for item in items:
        found = find_lane(item, depth - 1)
        if found is not None:
            return found
    return None


def find_placeholder(value: Any, depth: int = 2) -> Output | None:
    """The first placeholder in ``value`` (containers searched ``depth`` levels deep)."""
    if isinstance(value, Output):
        return value
    if depth == 0:
        return None
    items: Any = ()
    if isinstance(value, list | tuple | set | frozenset):
        items = value
    elif isinstance(value, dict):
        items = (v for pair in value.items() for v in pair)
    for item in items:
        found = find_placeholder(item, depth - 1)
        if found is not None:
            return found
    return None


def contains_placeholder(value: Any, depth: int = 2) -> bool:
    return find_placeholder(value, depth) is not None
