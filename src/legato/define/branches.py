"""Conditional branches, their join and ``finally`` blocks, as a pipeline body writes them::

    with legato.when(beats(score, baseline)):
        deployed = deploy(model)
    with legato.otherwise():
        deployed = keep_current()
    result = legato.one_of(deployed, ...)      # the value of the branch that ran

    with legato.finally_():
        write_report(score)                    # runs after everything above, however it ended

Each ``with`` block is traced once, like the rest of the body: ``when`` records a small task
of legato's (``when``, ``otherwise_when``, ``otherwise``) that reads the conditions and
decides the branch, and every task traced inside waits for it (a wait-only edge, see
:mod:`legato.define.blocks`). The decision runs on the executor like any task, so the
orchestrator never loads a task's output to test it: a branch not taken ends its deciding
task ``skipped`` (:class:`~legato.model.triggers.BranchNotTaken`), which the scheduler
propagates to everything inside. The whole graph, both branches, is known and drawable
before the run. Inside a mapped sub-pipeline (:mod:`legato.define.lanes`) a condition that
reads the item makes the deciding task and everything in its branch steps of the lane: the
plan unrolls them per item, so each item decides its own branch.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from legato.define.blocks import Chain, Frame, sinks
from legato.define.placeholders import LaneOutput, Output, ParamOutput
from legato.define.task import task
from legato.define.tracing import Tracer, current_tracer
from legato.errors import DefinitionError
from legato.model.ids import SourceLocation
from legato.model.skips import JOIN
from legato.model.specs import user_location
from legato.model.triggers import BranchNotTaken, FailedInput, Trigger

__all__ = ["Block", "block", "finally_", "one_of", "otherwise", "otherwise_when", "when"]


def _decide(*conditions: Any, wanted: tuple[bool, ...]) -> bool:
    """Whether the branch is taken: each condition's truth is the one wanted (a chain's
    earlier conditions false, its own true); raises BranchNotTaken otherwise."""
    for i, (value, want) in enumerate(zip(conditions, wanted, strict=True)):
        if bool(value) is not want:
            which = "the condition" if len(conditions) == 1 else f"condition {i + 1}"
            raise BranchNotTaken(f"{which} was {bool(value)}")
    return True


def _join(*values: Any, lanes: tuple[int, ...] = ()) -> Any:
    """The value of the branch that ran: the first input that is not a FailedInput (the
    engine runs it only when one succeeded). An input at a position in ``lanes`` is the
    list of a mapped sub-pipeline's items, which did not run when every item is one; an
    empty list ran only if no other input did (its branch then was the one taken)."""
    ran = (
        v
        for i, v in enumerate(values)
        if not isinstance(v, FailedInput)
        and not (i in lanes and all(isinstance(item, FailedInput) for item in v))
    )
    return next(ran, next((values[i] for i in lanes if values[i] == []), None))


# One function object per name: the tracer tells tasks apart by their function.
def _when(*conditions: Any, wanted: tuple[bool, ...]) -> bool:
    return _decide(*conditions, wanted=wanted)


def _otherwise_when(*conditions: Any, wanted: tuple[bool, ...]) -> bool:
    return _decide(*conditions, wanted=wanted)


def _otherwise(*conditions: Any, wanted: tuple[bool, ...]) -> bool:
    return _decide(*conditions, wanted=wanted)


_DECIDERS = {
    "when": task(name="when", cache=False)(_when),
    "otherwise_when": task(name="otherwise_when", cache=False)(_otherwise_when),
    "otherwise": task(name="otherwise", cache=False)(_otherwise),
}
_ONE_OF = task(name=JOIN, cache=False)(_join)


def _tracer(what: str) -> Tracer:
    tracer = current_tracer()
    if tracer is None:
        raise DefinitionError(
            f"legato.{what} was used outside a pipeline body",
            fix=f"use `with legato.{what}` inside a function decorated with @pipeline",
            location=user_location(),
        )
    return tracer


def _condition(tracer: Tracer, value: Any, what: str) -> Output:
    """``value`` as a condition: the output of a task of this pipeline."""
    if isinstance(value, Output) and not isinstance(value, ParamOutput):
        return value
    given = value._describe() if isinstance(value, ParamOutput) else f"the value {value!r}"
    raise DefinitionError(
        f"the condition of legato.{what}(...) is {given}, not the output of a task: a branch "
        "is decided by a task's output when the run reaches it",
        fix="compute the condition in a task and pass its output, e.g. "
        "`with legato.when(beats(score, baseline)):`; a value known before the run needs no "
        "branch (use a plain Python `if` around the calls)",
        task=value._task_key() if isinstance(value, Output) else None,
        pipeline=tracer.pipeline,
        location=user_location(),
    )


class _Branch:
    """The ``with`` block of one branch: a deciding task, then everything traced inside."""

    def __init__(self, kind: str, condition: Any = None, *, has_condition: bool) -> None:
        self._tracer = tracer = _tracer(f"{kind}(...)")
        self._kind = kind
        blocks = tracer.blocks
        self._depth = depth = len(blocks.frames)
        location = opened = user_location()
        if kind == "when":
            conditions: list[Any] = []
        else:
            chain = blocks.chains.get(depth)
            if chain is None:
                raise _unchained(tracer, kind, blocks.elsewhere(depth), location)
            conditions, opened = list(chain.conditions), chain.location
        wanted = [False] * len(conditions)
        if has_condition:
            conditions.append(_condition(tracer, condition, f"{kind}"))
            wanted.append(True)
        decider = _DECIDERS[kind]
        self.decision = tracer.record(
            decider.spec, tuple(conditions), {"wanted": tuple(wanted)}, mapped=False, role="branch"
        )
        self._chain = (
            None
            if kind == "otherwise"
            else Chain(conditions=tuple(conditions), scope=blocks.scope, location=opened)
        )

    def __enter__(self) -> None:
        self._tracer.blocks.push(Frame(kind="branch", decision=self.decision._node))

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        blocks = self._tracer.blocks
        blocks.pop()
        if self._chain is None:
            blocks.chains.pop(self._depth, None)
        else:
            blocks.chains[self._depth] = self._chain


def _unchained(
    tracer: Tracer, kind: str, other: tuple[Chain, bool] | None, location: SourceLocation | None
) -> DefinitionError:
    """The error of an ``otherwise_when``/``otherwise`` with no chain to continue in its
    own pipeline body (``other``: a chain open at its depth in another body, and whether
    that body encloses this one)."""
    here = _body(tracer, tracer.blocks.scope)
    problem = (
        f"legato.{kind}(...) in the body of {here} does not follow a `with "
        "legato.when(...)` block of that body at its level, so there is no condition to "
        "continue"
    )
    fix = (
        f"put `with legato.{kind}(...)` right after the `with legato.when(...)` block (or a "
        "legato.otherwise_when block) whose alternative it is, in the same pipeline body"
    )
    if other is not None:
        chain, encloses = other
        there = _body(tracer, chain.scope)
        at = chain.location
        line = f" (line {at.lineno}, in {at.function})" if at is not None else ""
        problem += (
            f"; the `when` block before it at that level{line} is in the body of {there}, "
            "and a chain of conditions belongs to the pipeline body that opened it"
        )
        if encloses:
            fix = (
                f"move this block into {there}, right after its `with legato.when(...)` "
                f"block; or begin the chain in {here} with its own `with legato.when(...)`"
            )
        else:
            fix = (
                f"give {there} its own `with legato.{kind}(...)` inside its body (and return "
                "legato.one_of(...) of its branches if the caller needs the value); or write "
                f"the `with legato.when(...)` this block continues in {here} itself"
            )
    return DefinitionError(problem, fix=fix, pipeline=tracer.pipeline, location=location)


def _body(tracer: Tracer, scope: str) -> str:
    return f"pipeline {scope!r}" if scope == tracer.pipeline else f"sub-pipeline {scope!r}"


def when(condition: Any) -> _Branch:
    """``with legato.when(cond):`` — the tasks traced inside run only if ``cond`` (the
    output of a task) is true when the run reaches it; otherwise they end ``skipped``.
    Inside a mapped sub-pipeline a condition that reads the item is decided per item."""
    return _Branch("when", condition, has_condition=True)


def otherwise_when(condition: Any) -> _Branch:
    """``with legato.otherwise_when(cond):`` right after a ``when`` block — runs only if
    the conditions before it in the chain were false and ``cond`` is true."""
    return _Branch("otherwise_when", condition, has_condition=True)


def otherwise() -> _Branch:
    """``with legato.otherwise():`` right after a ``when`` (or ``otherwise_when``) block —
    runs only if every condition of the chain was false. It ends the chain."""
    return _Branch("otherwise", has_condition=False)


def one_of(*outputs: Any) -> Any:
    """The output of whichever branch ran: ``legato.one_of(deployed, kept)``.

    It runs when each of ``outputs`` has ended, and is the first that succeeded; it is
    ``skipped`` when all were skipped and ``upstream_failed`` when one failed."""
    tracer = _tracer("one_of(...)")
    bad = [o for o in outputs if not isinstance(o, Output) or isinstance(o, ParamOutput)]
    if len(outputs) < 2 or bad:
        what = (
            f"{len(outputs)} value(s)"
            if not bad
            else (bad[0]._describe() if isinstance(bad[0], Output) else f"the value {bad[0]!r}")
        )
        raise DefinitionError(
            f"legato.one_of(...) joins the outputs of tasks on different branches, but was "
            f"given {what}",
            fix="pass two or more task outputs, one per branch: legato.one_of(deployed, kept)",
            task=None,
            pipeline=tracer.pipeline,
            location=user_location(),
        )
    # A mapped sub-pipeline's whole output, read from outside it, is a list of its items.
    lanes = tuple(
        i
        for i, o in enumerate(outputs)
        if not isinstance(o, LaneOutput) and tracer.nodes[o._node].lane is not None
    )
    return tracer.record(
        _ONE_OF.spec,
        outputs,
        {"lanes": lanes} if lanes else {},
        mapped=False,
        role="join",
        trigger=Trigger.ONE_OF,
    )


class Block:
    """A part of a pipeline a ``finally_()`` block can follow: ``with legato.block() as b:``
    then ``with b.finally_():``."""

    def __init__(self) -> None:
        self._tracer = _tracer("block()")
        self.keys: tuple[str, ...] | None = None
        """The tasks traced inside, once the block has ended."""

    def __enter__(self) -> Block:
        self._frame = Frame(kind="block")
        self._tracer.blocks.push(self._frame)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._tracer.blocks.pop()
        self.keys = tuple(self._frame.keys)

    def finally_(self) -> _Finally:
        """``with block.finally_():`` — the tasks traced inside run after every task of the
        block has ended, whether it succeeded, failed, was skipped or cancelled."""
        if self.keys is None:
            raise DefinitionError(
                "block.finally_() was used inside the block it follows",
                fix="end the `with legato.block() as b:` block first, then `with b.finally_():`",
                pipeline=self._tracer.pipeline,
                location=user_location(),
            )
        return _Finally(self._tracer, self.keys, "block.finally_()")


class _Finally:
    def __init__(self, tracer: Tracer, keys: tuple[str, ...], what: str) -> None:
        if not keys:
            raise DefinitionError(
                f"{what} follows no task: nothing was traced before it",
                fix="put the `with ...finally_():` block after the tasks it cleans up after",
                pipeline=tracer.pipeline,
                location=user_location(),
            )
        self._tracer = tracer
        self._follows = sinks(keys, tracer.nodes)

    def __enter__(self) -> None:
        self._tracer.blocks.push(Frame(kind="finally", follows=self._follows))

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._tracer.blocks.pop()


def block() -> Block:
    """``with legato.block() as b:`` — a part of the pipeline ``b.finally_()`` follows."""
    return Block()


def finally_() -> _Finally:
    """``with legato.finally_():`` — the tasks traced inside run after every task traced
    before it in the pipeline has ended, on success, failure, skip and cancel (a cancel of
    the run does not cancel them). Their trigger is ``all_done`` unless they declare one;
    an input that did not succeed arrives as a :class:`~legato.FailedInput`. Their own
    failure fails the run beside the original one; ``on_rollback`` compensation is separate
    and still runs."""
    tracer = _tracer("finally_()")
    return _Finally(tracer, tuple(tracer.nodes), "legato.finally_()")
