"""Stored outputs as a run binds them: a reference, or the items a map consumes.

An output that a map consumes is stored item by item with a manifest; binding it means
reading that manifest (I/O the scheduler leaves to its driver). Everything else binds by
reference and is loaded, checksum verified, by whoever runs the task.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from legato.engine.caching import Caching
from legato.engine.plan import Plan, PlanNode
from legato.engine.scheduler import CacheAnswer, LookUp
from legato.errors import StoreError
from legato.model.artifacts import ArtifactRef
from legato.model.records import RunRecord
from legato.model.states import TaskState
from legato.model.values import Stored, StoredItems, Value
from legato.runtime.data import items_of_manifest
from legato.store.base import ArtifactStore

__all__ = ["answer", "recorded_values", "stored_value"]

log = logging.getLogger("legato.engine")


def stored_value(
    node: PlanNode, key: str, ref: ArtifactRef, artifacts: ArtifactStore | None
) -> Value | None:
    """The value task ``key`` of ``node`` binds for its stored output ``ref``; None when a
    manifest cannot be read (the task then runs again)."""
    if not node.split_output or key != node.key:
        return Stored(ref)
    if artifacts is None:
        return None
    try:
        return StoredItems(items_of_manifest(artifacts, ref), ref)
    except StoreError:
        log.warning("stored output %s of %s is unreadable; running it again", ref, key)
        return None


def intact_value(
    node: PlanNode, key: str, ref: ArtifactRef, artifacts: ArtifactStore | None
) -> Value | str:
    """The value of a stored output that is about to be used again (a cache hit, a resumed
    task's input), after checking that every artifact of it exists and matches its checksum;
    or, when one does not, why (the task then runs again rather than hand its consumers an
    output that would fail them)."""
    if artifacts is None:
        return "no artifact store"
    try:
        value = stored_value(node, key, ref, artifacts)
        if value is None:
            return "its item list cannot be read"
        for item in value.items if isinstance(value, StoredItems) else (ref,):
            artifacts.verify(item)
    except StoreError as exc:
        return str(exc).split(". ", 1)[0]  # the first sentence names the artifact and fault
    return value


def recorded_values(
    record: RunRecord, plan: Plan, artifacts: ArtifactStore | None
) -> dict[str, Value]:
    """The stored outputs of the planned tasks that succeeded in ``record`` (a task that
    reads one loads and checks it, and refuses to start on a damaged one)."""
    values: dict[str, Value] = {}
    for key, node in plan.nodes.items():
        task = record.tasks.get(key)
        if task is None or task.state is not TaskState.SUCCEEDED or task.output is None:
            continue
        value = stored_value(node, key, task.output, artifacts)
        if value is not None:
            values[key] = value
    return values


def answer(lookup: LookUp, caching: Caching, artifacts: ArtifactStore | None) -> list[CacheAnswer]:
    """The cache's verdicts on ``lookup``, each hit with its stored output, checked: a hit
    whose artifact is damaged or gone is a miss that says so (the task runs again from its
    intact inputs), never an output handed on."""
    verdicts = caching.check(lookup.requests)
    answers: list[CacheAnswer] = []
    for (node, key, _), verdict in zip(lookup.requests, verdicts, strict=True):
        hit = verdict.hit
        if hit is None:
            answers.append((verdict, None))
            continue
        checked = intact_value(node, key, hit.output, artifacts)
        if isinstance(checked, str):
            reason = f"cache: miss, the result stored by run {hit.run_id} is damaged ({checked})"
            answers.append((replace(verdict, hit=None, reason=reason), None))
        else:
            answers.append((verdict, checked))
    return answers
