"""Stored outputs as a run binds them: a reference, or the items a map consumes.

An output that a map consumes is stored item by item with a manifest; binding it means
reading that manifest (I/O the scheduler leaves to its driver). Everything else binds by
reference and is loaded, checksum verified, by whoever runs the task.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from legato.define.graph import iter_refs
from legato.engine.caching import Caching
from legato.engine.plan import Plan, PlanNode
from legato.engine.scheduler import CacheAnswer, LookUp
from legato.errors import ParameterError, StoreError
from legato.model.artifacts import ArtifactRef
from legato.model.records import RunRecord
from legato.model.states import TaskState
from legato.model.values import Stored, StoredItems, Value
from legato.runtime.data import items_of_manifest
from legato.store.base import ArtifactStore

__all__ = ["answer", "damaged_outputs", "recorded_values", "stored_value"]

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


def damaged_outputs(
    record: RunRecord, plan: Plan, artifacts: ArtifactStore | None
) -> dict[str, str]:
    """The succeeded tasks of ``record`` whose stored output a resume would read but is
    damaged, missing or unreadable, each with why: the resume runs them again (as a new
    attempt) rather than fail the task that reads them.

    Only what will be read is checked (verifying means reading every byte): the outputs of
    succeeded tasks that a task to run reads, or that the pipeline returns, and, for each one
    found damaged, the outputs it reads in turn. A map whose items are damaged runs those
    items again; when the map's own inputs are damaged too, its other items would have to
    run again on recomputed inputs, which a resume does not do (``ParameterError``).
    """
    tasks = record.tasks
    nodes = plan.nodes
    kept = {k for k in nodes if tasks[k].state is TaskState.SUCCEEDED}
    damaged: dict[str, str] = {}
    readers = [k for k in nodes if k not in kept] + [r.node for r in iter_refs(plan.output)]
    checked: set[str] = set()
    while readers:
        key = readers.pop()
        node = nodes[key]
        if key in kept:  # the pipeline returns it
            targets: tuple[str, ...] = (key,)
        elif node.mapped is not None and tasks[key].items is not None:
            targets = (*node.upstream, key)  # its items that succeeded stay: check them too
        else:
            targets = node.upstream
        for up in targets:
            if up in checked or (up not in kept and up != key):
                continue
            checked.add(up)
            why = _damage(record, nodes[up], artifacts, damaged)
            if why is not None and up in kept:
                damaged[up] = why
                kept.discard(up)
                readers.append(up)
    for key, node in nodes.items():
        bad = [up for up in node.upstream if up in damaged]
        if node.mapped is not None and tasks[key].items is not None and key not in kept and bad:
            raise ParameterError(
                f"run {record.run_id} cannot be resumed as it is: the map {key} must run "
                f"again on inputs that must be recomputed first "
                f"({'; '.join(f'{up}: {damaged[up]}' for up in bad)}), and its items that "
                "succeeded were made from the old ones; start a new run (tasks whose stored "
                "outputs are intact are cache hits)"
            )
    return damaged


def _damage(
    record: RunRecord, node: PlanNode, artifacts: ArtifactStore | None, damaged: dict[str, str]
) -> str | None:
    """Why the stored output of task ``node`` cannot be used, or None. A map's succeeded
    items are checked one by one; each damaged one is added to ``damaged`` itself."""
    key = node.key
    task = record.tasks[key]
    if node.mapped is None:
        if task.output is None:
            return "it has no stored output"
        checked = intact_value(node, key, task.output, artifacts)
        return f"its stored output is damaged ({checked})" if isinstance(checked, str) else None
    bad = 0
    for i in range(task.items or 0):
        child = record.tasks[node.item_key(i)]
        if child.state is not TaskState.SUCCEEDED:
            continue
        why = (
            "it has no stored output"
            if child.output is None
            else intact_value(node, child.key, child.output, artifacts)
        )
        if isinstance(why, str):
            damaged[child.key] = f"its stored output is damaged ({why})"
            bad += 1
    return f"{bad} of its {task.items} items' stored outputs are damaged" if bad else None


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
