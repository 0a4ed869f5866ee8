"""One run in detail: what the list shows, and where and how it ran, its tags and how many
of its tasks stand in each state."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from legato.engine.tracked import by_name, summarize
from legato.query.runs import shown_state
from legato.query.views import RunSummary, json_value, run_summary
from legato.store.base import RunStore, StepCount

__all__ = ["RunDetail", "run_detail", "state_counts"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunDetail:
    """A run: its summary, where it ran and what it carries."""

    run: RunSummary
    target: str
    """How to load its pipeline again (``file.py:name`` or ``module:name``); empty when it
    cannot be."""
    fingerprint: str
    """The pipeline version: a digest of its graph and code."""
    executor: str
    owner: str
    """The orchestrator process that drives (or drove) it."""
    epoch: int
    """How many orchestrators have driven it (a resume takes it over)."""
    cancel_reason: str
    environment: dict[str, Any]
    """Python, platform, packages, git commit, host and user, as recorded at its start."""
    tags: dict[str, str]
    """Tags its tasks set (``task/name`` where several tasks set one name)."""
    task_counts: dict[str, int]
    """How many tasks (map items counted, their group records not) stand in each state."""


def run_detail(
    store: RunStore, run_id: str, *, stale_after: float, now: float | None = None
) -> RunDetail:
    """Run ``run_id`` (an id or a unique prefix) in detail."""
    info = store.get_run(run_id)
    now = time.time() if now is None else now
    counts = state_counts(store.step_counts(info.run_id))
    return RunDetail(
        run=run_summary(info, shown_state(info, stale_after, now)),
        target=info.target,
        fingerprint=info.fingerprint,
        executor=info.executor,
        owner=info.owner,
        epoch=info.epoch,
        cancel_reason=info.cancel_reason,
        environment=json_value(dict(info.environment)),
        tags={
            k: str(v) for k, v in by_name(summarize(store, info.run_id, extremes=True).tags).items()
        },
        task_counts=counts,
    )


def state_counts(steps: Iterable[StepCount]) -> dict[str, int]:
    """How many tasks (map items counted, their group records not) stand in each state,
    by state name: the run's steps' counts (:meth:`RunStore.step_counts`) added up."""
    counts: Counter[str] = Counter()
    for step in steps:
        counts.update(step.states)
    return dict(sorted(counts.items()))
