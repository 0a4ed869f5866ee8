"""Why a task ended ``skipped``, told from a run's records alone.

A skip starts at one task and travels down: a task deciding a ``legato.when`` branch that
was not taken ends ``skipped`` with the reason ``branch not taken: ...``; a task with the
trigger ``any_failed`` whose inputs all succeeded ends ``skipped`` with ``no input
failed``; every task that reads a skipped input with the default trigger (and a
``legato.one_of`` whose inputs were all skipped) ends ``skipped`` with the reason
``input 'KEY' skipped`` (:func:`input_reason`), naming such an input (for a task that
waits for all its inputs, the first in the order it reads them, whatever ended first). Following
those reasons back from a skipped task reaches where its skip started, with no graph:
what a run recorded is enough, so a run read back from the store
(``legato.get_run``) explains itself as well as the one just finished.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass

from legato.model.records import TaskRecord
from legato.model.states import TaskState

__all__ = ["BRANCH_REASON", "JOIN", "SkipCause", "input_reason", "reason_input", "skip_cause"]

BRANCH_REASON = "branch not taken: "
"""How the reason of a task deciding a branch that was not taken begins."""

JOIN = "one_of"
"""The name of the task ``legato.one_of`` records (it joins the outputs of branches)."""

_INPUT = "input "


def input_reason(key: str, state: TaskState) -> str:
    """The reason of a task that ends as its input ``key`` did (``input 'when' skipped``)."""
    return f"{_INPUT}{key!r} {state.value}"


def reason_input(reason: str) -> str | None:
    """The input an :func:`input_reason` names, or None for another reason."""
    if not reason.startswith(_INPUT):
        return None
    quoted, _, _ = reason[len(_INPUT) :].rpartition(" ")
    try:
        key = ast.literal_eval(quoted)
    except (ValueError, SyntaxError):
        return None
    return key if isinstance(key, str) else None


@dataclass(frozen=True, slots=True, kw_only=True)
class SkipCause:
    """Where the skip of ``task`` started, and the tasks it travelled through."""

    task: str
    """The skipped task asked about."""
    origin: str
    """The task whose own ending started the skip (``task`` itself when it did)."""
    through: tuple[str, ...]
    """The skipped tasks between ``origin`` and ``task``, nearest ``origin`` first."""
    why: str
    """The origin's recorded reason (``the condition was False``, ``no input failed``)."""
    branch: bool
    """Whether the origin decides a branch that was not taken."""
    join: bool = False
    """Whether ``task`` is a ``legato.one_of``, skipped because every input was (the
    skip followed is that of its first input)."""

    def describe(self) -> str:
        """Why, as the end of "skipped because ...": ``branch 'when' was not taken (the
        condition was False)``, or what else the origin's record says, with the tasks the
        skip went through."""
        if self.join and self.origin != self.task:
            first = self.through[-1] if self.through else self.origin
            inner = SkipCause(
                task=first,
                origin=self.origin,
                through=self.through[:-1],
                why=self.why,
                branch=self.branch,
            )
            said = inner.describe()
            said = said if first == self.origin else f"{first!r} was skipped because {said}"
            return f"none of the branches it joins ran (the first: {said})"
        if self.branch:
            said = f"branch {self.origin!r} was not taken ({self.why})"
        elif self.origin != self.task:
            said = f"task {self.origin!r} was skipped" + (f" ({self.why})" if self.why else "")
        else:
            said = self.why or "it was skipped"
        if self.through:
            said += ", through " + " and ".join(repr(k) for k in self.through)
        return said


def skip_cause(key: str, tasks: Mapping[str, TaskRecord]) -> SkipCause:
    """Why task ``key`` (a skipped task of ``tasks``) was skipped."""
    chain = [key]
    record = tasks[key]
    seen = {key}
    while True:
        up = reason_input(record.reason)
        found = tasks.get(up) if up is not None else None
        if found is None or found.state is not TaskState.SKIPPED or up in seen:
            break
        assert up is not None
        chain.append(up)
        seen.add(up)
        record = found
    reason = record.reason
    branch = reason.startswith(BRANCH_REASON)
    return SkipCause(
        task=key,
        origin=chain[-1],
        through=tuple(reversed(chain[1:-1])),
        why=reason.removeprefix(BRANCH_REASON) if branch else reason,
        branch=branch,
        join=tasks[key].name == JOIN,
    )
