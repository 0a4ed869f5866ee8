"""The closed sets of names a run is configured with, each defined once.

The settings validator (:mod:`legato.config`), the engine (``make_executor``, the plan),
``@pipeline`` and the ``legato`` command all take their names from here, so none of them can
accept a name another refuses. They sit below ``config`` because it is the lowest layer that
checks them (it validates every profile when settings load); everything above imports them.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ExecutorName", "FailurePolicy"]


class ExecutorName(StrEnum):
    """The executors a run can name (``legato.run(executor=...)``, a profile's
    ``executor``, ``legato run --executor``); ``legato.engine.executor_choice.make_executor`` builds
    each."""

    INLINE = "inline"
    """Every call in the engine's own thread, one at a time (debugging, notebooks)."""
    THREADS = "threads"
    """Worker threads: the default, since ML steps spend their time in native code that
    releases the GIL."""
    PROCESSES = "processes"
    """Worker processes: GIL-bound Python, hard timeouts, isolation from crashing workers."""
    RAY = "ray"
    """A Ray cluster (``legato[ray]``): several machines, Ray's placement of resources and
    GPUs, outputs handed on through its object store."""


class FailurePolicy(StrEnum):
    """What a run does when a task fails for good."""

    KEEP_GOING = "keep_going"
    """Let independent branches finish; only the failed task's dependents are skipped
    (as ``upstream_failed``). A later resume has the least left to do."""
    FAIL_FAST = "fail_fast"
    """Cancel what is pending and stop what is running as soon as one task fails."""
