"""Where a traced task sits among ``legato.when`` branches and ``finally_()`` blocks.

The tracer keeps one :class:`Blocks` while a pipeline body runs. Every ``with`` block the
body enters pushes a :class:`Frame`; a task recorded inside gets, from :meth:`Blocks.place`,
what the block makes of it, written into its :class:`~legato.define.graph.Node` as plain
data, so the plan, the scheduler and the drawings need nothing from here:

- in a branch, a wait-only edge (``Node.after``) to the task deciding the branch (unless it
  already reads a task of that branch, which waits for it), and the branch in
  ``Node.branches``: a branch
  not taken ends that task ``skipped`` and everything downstream with it, through the
  ordinary ``skipped`` propagation of the scheduler;
- in a ``finally_()`` block, wait-only edges to the last tasks of the block it follows, the
  trigger ``all_done`` (unless the task declares its own) and ``final``.

It also checks what a task reads (:meth:`Blocks.check_reads`): the output of a task on a
branch exists only when that branch is taken, so only tasks on the same branch (or deeper),
tasks with a trigger rule (handed a :class:`~legato.FailedInput`) and ``legato.one_of``
may read it. This module knows nothing of placeholders (``legato.define.branches`` does).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from legato.define.graph import Node
from legato.errors import DefinitionError
from legato.model.ids import SourceLocation
from legato.model.triggers import Trigger

__all__ = [
    "UNPLACED",
    "Blocks",
    "Chain",
    "Frame",
    "Placement",
    "check_reads",
    "check_returned",
    "sinks",
]


@dataclass(slots=True, kw_only=True)
class Frame:
    """One ``with`` block the body is inside."""

    kind: str
    """``branch`` (``when``/``otherwise_when``/``otherwise``), ``block`` or ``finally``."""
    decision: str | None = None
    """A branch: the key of the task deciding it."""
    follows: tuple[str, ...] = ()
    """A ``finally`` block: the tasks it runs after."""
    keys: list[str] = field(default_factory=list)
    """The tasks recorded inside it, nested blocks included."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Chain:
    """A ``when`` chain an ``otherwise_when``/``otherwise`` may continue."""

    conditions: tuple[Any, ...]
    """The conditions of its branches so far, in order."""
    scope: str
    """The pipeline body that opened it (a sub-pipeline's key, or the pipeline's name)."""
    location: SourceLocation | None
    """Where its ``when`` is written."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Placement:
    """What the blocks around a task make of its node."""

    after: tuple[str, ...] = ()
    """Its wait-only edges (``Node.after``)."""
    branches: tuple[str, ...] = ()
    trigger: Trigger = Trigger.ALL_SUCCEEDED
    final: bool = False


UNPLACED = Placement()
"""A task outside every block, with the default trigger (most tasks: made once)."""


class Blocks:
    """The ``with`` blocks open while a pipeline body is traced, and the chains of
    conditions ``otherwise_when``/``otherwise`` continue.

    A chain belongs to the pipeline body that opened it: a sub-pipeline's body (inlined
    or mapped) starts with no chain to continue, and its chains end with it, so an
    ``otherwise`` never continues a ``when`` written in another body at the same depth."""

    def __init__(self, scope: str) -> None:
        self.frames: list[Frame] = []
        self.used = False
        """Whether a block was ever entered (until then no task is on a branch)."""
        self.scope = scope
        """The pipeline body traced now."""
        self.chains: dict[int, Chain] = {}
        """For each depth, the ``when`` chain of this body that ended there last (none once
        an ``otherwise`` closed it); ``otherwise_when`` and ``otherwise`` continue it."""
        self._outer: list[tuple[str, dict[int, Chain]]] = []
        """The scope and chains of each body around this one, outermost first."""
        self._ended: dict[int, Chain] = {}
        """The chains sub-pipeline bodies left open when they ended (for error messages)."""

    @property
    def branches(self) -> tuple[str, ...]:
        return tuple(f.decision for f in self.frames if f.decision is not None)

    def push(self, frame: Frame) -> None:
        depth = len(self.frames)
        for deeper in [d for d in self.chains if d > depth]:
            del self.chains[deeper]
        self.frames.append(frame)
        self.used = True

    def pop(self) -> Frame:
        return self.frames.pop()

    def enter_body(self, scope: str) -> None:
        """A sub-pipeline's body starts: it has no chain to continue yet."""
        self._outer.append((self.scope, self.chains))
        self.scope = scope
        self.chains = {}

    def leave_body(self) -> None:
        """The sub-pipeline's body ended: its chains end with it."""
        self._ended.update(self.chains)
        self.scope, self.chains = self._outer.pop()

    def elsewhere(self, depth: int) -> tuple[Chain, bool] | None:
        """A chain open at ``depth`` in another body, and whether that body encloses this
        one (the nearest around it; else one a sub-pipeline's body left open): what an
        ``otherwise`` with no chain of its own may have been written to continue."""
        for _, chains in reversed(self._outer):
            if depth in chains:
                return chains[depth], True
        ended = self._ended.get(depth)
        return None if ended is None else (ended, False)

    def place(
        self, node_upstream: Iterable[str], nodes: Mapping[str, Node], declared: Trigger | None
    ) -> Placement:
        """The wait-only edges, branches, trigger and finality of a task recorded now, which
        reads the nodes ``node_upstream`` and declares ``declared`` (None: no trigger)."""
        reads = list(node_upstream)
        after: list[str] = []
        final = any(frame.kind == "finally" for frame in self.frames)
        trigger = declared or (Trigger.ALL_DONE if final else Trigger.ALL_SUCCEEDED)
        for frame in self.frames:
            if frame.decision is not None:
                decided = frame.decision
                # A task with a trigger would run on the ending of a skipped input: it waits
                # for the decision itself, which skips it (engine.triggers.settle).
                waits = any(r == decided or decided in nodes[r].branches for r in reads)
                if trigger is not Trigger.ALL_SUCCEEDED or not waits:
                    after.append(decided)
            elif frame.kind == "finally":
                after.extend(k for k in frame.follows if k not in reads)
        return Placement(
            after=tuple(dict.fromkeys(after)),
            branches=self.branches,
            trigger=trigger,
            final=final,
        )

    def recorded(self, key: str) -> None:
        """Note that ``key`` was recorded inside every open block."""
        for frame in self.frames:
            frame.keys.append(key)


def sinks(keys: Iterable[str], nodes: Mapping[str, Node]) -> tuple[str, ...]:
    """Of ``keys``, those no other of them waits for: every other one ends before them, so
    a ``finally_()`` block that follows these follows them all."""
    chosen = list(keys)
    inner = set(chosen)
    read = {up for k in chosen for up in nodes[k].upstream if up in inner}
    return tuple(k for k in chosen if k not in read)


def check_reads(
    task: str,
    reads: Iterable[str],
    branches: tuple[str, ...],
    trigger: Trigger,
    nodes: Mapping[str, Node],
    *,
    pipeline: str,
    location: SourceLocation | None,
) -> None:
    """Refuse a task on ``branches`` with the default trigger that reads the output of a
    task on a branch it is not inside: that output does not exist when the branch is not
    taken."""
    if trigger is not Trigger.ALL_SUCCEEDED:
        return
    for up in reads:
        theirs = nodes[up].branches
        if branches[: len(theirs)] == theirs:
            continue
        decided = next(b for b in theirs if b not in branches)
        raise DefinitionError(
            f"task {task!r} reads the output of task {up!r}, which runs only when branch "
            f"{decided!r} is taken, but {task!r} is outside that branch: when the branch is "
            "not taken there is no value to read",
            fix=f"join it with the other branch's value first, x = legato.one_of(<output of "
            f"{up}>, <output of the other branch>), and pass x; or call {task} inside the "
            f"branch; or give {task!r} a trigger (@task(trigger='all_done')) to be handed a "
            "legato.FailedInput when the branch is skipped",
            task=task,
            pipeline=pipeline,
            location=location,
        )


def check_returned(reads: Iterable[str], nodes: Mapping[str, Node], pipeline: str) -> None:
    """Refuse a pipeline that returns the output of a task on a branch."""
    for up in reads:
        decided = nodes[up].branches
        if decided:
            raise DefinitionError(
                f"pipeline {pipeline!r} returns the output of task {up!r}, which runs only "
                f"when branch {decided[0]!r} is taken",
                fix="return legato.one_of(<this output>, <the other branch's output>), which "
                "is the value of the branch that ran",
                task=up,
                pipeline=pipeline,
                location=nodes[up].location,
            )
