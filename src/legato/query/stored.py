"""A recorded run read back as a result: :class:`StoredRun`, what ``legato.get_run``
answers.

It is a :class:`~legato.engine.result.RunResult`, the object ``legato.run`` returns, made
from what the stores hold: the run's record is the engine's own fold of its events (the
reducer), and its output is rebuilt from the description the run recorded of the
pipeline's return value (:mod:`legato.model.outputs`): task outputs are loaded from the
artifact store, checksums verified, and run parameters are the recorded ones. A value
written in the pipeline's body was recorded as its ``repr``: it is rebuilt where that text
is a Python literal, and refused otherwise (:meth:`StoredRun.task_output` reads the task
outputs it was made with).

Loading an output unpickles it (a pickled object runs what its author put in it): this is
for the user's own process, reading the user's own runs. The API server never loads one
(an import-linter contract keeps ``legato.server`` away from this module).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from functools import cached_property
from typing import Any

from legato.engine.reducer import fold
from legato.engine.result import RunResult
from legato.engine.tracked import RunSummary, Series, by_name, summarize
from legato.errors import LegatoError, ParameterError
from legato.model.artifacts import items_of_ref
from legato.model.events import RunStarted
from legato.model.records import TaskRecord
from legato.model.runs import RunInfo
from legato.model.states import TaskState
from legato.model.tracking import Tracked
from legato.model.values import (
    Arg,
    Dict,
    Gathered,
    Lit,
    Param,
    Ref,
    Seq,
    Stored,
    StoredItems,
    Value,
)
from legato.query.runs import shown_state
from legato.runtime.data import StoredData, items_of_manifest
from legato.store.base import ArtifactStore, RunStore

__all__ = ["StoredRun", "stored_run"]


class StoredRun(RunResult):
    """A recorded run (``legato.get_run``): what :class:`~legato.RunResult` says of a run
    ``legato.run`` just finished — ``state``, ``ok``, ``tasks``, ``output``,
    ``raise_for_status()``, ``failures()`` — and what the stores keep of it: ``params``,
    ``metrics``, ``tags``, ``info`` (its stored row), and :meth:`task_output`."""

    def __init__(
        self,
        *,
        info: RunInfo,
        store: RunStore,
        artifacts: ArtifactStore,
        stale_after: float = 30.0,
    ) -> None:
        events = store.read_events(info.run_id)
        started = next((e for e in events if isinstance(e, RunStarted)), None)
        if started is None:
            raise LegatoError(f"run {info.run_id} has no events yet (it is being created)")
        record = fold(events)
        described = started.output
        super().__init__(
            record=record,
            output=_output_binding(info, described),
            outputs=_Outputs(record.tasks, artifacts),
            params=info.params,
            data=StoredData(artifacts, keep_live=False),
        )
        self.info = info
        """The run as the store lists it: target, fingerprint, times, environment..."""
        self._store = store
        self._stale_after = stale_after

    @property
    def params(self) -> Mapping[str, Any]:
        """The run's parameters, as recorded."""
        return self.info.params

    @property
    def shown_state(self) -> str:
        """The run's state as ``legato runs`` and the API show it: its stored state, or
        ``crashed`` for one that has not ended and whose orchestrator is gone (``state``
        then still says where the run stood)."""
        return shown_state(self.info, self._stale_after)

    @property
    def created_at(self) -> float:
        """When the run was created (seconds since the epoch)."""
        return self.info.created_at

    @cached_property
    def _summary(self) -> RunSummary:
        return summarize(self._store, self.run_id)

    @property
    def series(self) -> dict[str, Series]:
        """Each metric's series of values by step, by name (``task/name`` where several
        tasks logged one name): of each task, its latest attempt that logged any; a cache
        hit's are those of the run that produced its output."""
        return by_name(self._summary.series)

    @property
    def metrics(self) -> dict[str, float]:
        """Each metric's final value (at its highest step), by name as :attr:`series`."""
        return {name: series.last.value for name, series in self.series.items()}

    @property
    def tags(self) -> dict[str, str]:
        """The tags the run's tasks set, by name (``task/name`` where several set one)."""
        return {k: str(v) for k, v in by_name(self._summary.tags).items()}

    def tracked(self) -> list[Tracked]:
        """Every value every attempt logged, as ``legato.read_tracked`` reads them."""
        return self._store.read_tracked(self.run_id)

    def task_output(self, task: str) -> Any:
        """The stored output of ``task`` (a task key, ``square[2]`` for a map item, or a
        task name that names one task of the run), loaded and checksum-verified; a mapped
        task's is the list of its items' outputs. ``ParameterError`` for a task the run does
        not have or that has no output (it did not succeed)."""
        key = self._key(task)
        record = self.tasks[key]
        if record.state is not TaskState.SUCCEEDED:
            raise ParameterError(
                f"task {key!r} of run {self.run_id} has no output: it is {record.state.value}"
                + (f" ({record.reason})" if record.reason else "")
            )
        return self._data.load(self._outputs[key])

    def _key(self, task: str) -> str:
        if task in self.tasks:
            return task
        named = [k for k, r in self.tasks.items() if r.name == task and r.parent is None]
        if len(named) == 1:
            return named[0]
        if named:
            raise ParameterError(
                f"run {self.run_id} has {len(named)} tasks named {task!r} "
                f"({', '.join(named)}): give a key"
            )
        known = ", ".join(k for k, r in self.tasks.items() if r.parent is None)
        raise ParameterError(
            f"run {self.run_id} of pipeline {self.pipeline!r} has no task {task!r}; its "
            f"tasks: {known or 'none'}"
        )

    def _load(self, arg: Arg) -> Any:
        if isinstance(arg, Lit) and isinstance(arg.value, _Refusal):
            raise LegatoError(arg.value.why)
        return super()._load(arg)

    def __repr__(self) -> str:
        return f"<StoredRun {self.run_id} {self.pipeline} {self.state.value}>"


def stored_run(
    store: RunStore, artifacts: ArtifactStore, run_id: str, *, stale_after: float = 30.0
) -> StoredRun:
    """Run ``run_id`` (an id or a unique prefix) as recorded in ``store`` (``stale_after``:
    the seconds without a heartbeat after which a run that has not ended shows crashed)."""
    return StoredRun(
        info=store.get_run(run_id), store=store, artifacts=artifacts, stale_after=stale_after
    )


class _Outputs(Mapping[str, Value]):
    """Each succeeded task's output as a run binds it, made when first asked for: a stored
    reference, the items of an output stored item by item (its manifest read), or a mapped
    task's items gathered in item order."""

    def __init__(self, tasks: Mapping[str, TaskRecord], artifacts: ArtifactStore) -> None:
        self._tasks = tasks
        self._artifacts = artifacts

    def __getitem__(self, key: str) -> Value:
        record = self._tasks[key]
        if record.mapped:
            items = sorted(
                (r for r in self._tasks.values() if r.parent == key),
                key=lambda r: r.map_index or 0,
            )
            return Gathered(tuple(self[item.key] for item in items))
        if record.output is None:
            raise ParameterError(f"task {key!r} has no stored output ({record.state.value})")
        if items_of_ref(record.output) is not None:
            return StoredItems(items_of_manifest(self._artifacts, record.output), record.output)
        return Stored(record.output)

    def __iter__(self) -> Iterator[str]:
        return iter(self._tasks)

    def __len__(self) -> int:
        return len(self._tasks)


class _Refusal:
    """Stands for an output the record cannot give back; reading it raises ``why``."""

    def __init__(self, why: str) -> None:
        self.why = why


def _output_binding(info: RunInfo, described: Mapping[str, Any] | None) -> Arg:
    """The binding of the run's output, or a refusal saying why it cannot be rebuilt."""
    if described is None:
        return Lit(
            _Refusal(
                f"run {info.run_id} recorded no description of its output (an older legato "
                "ran it): read its tasks' outputs with task_output(key)"
            )
        )
    try:
        return _binding(described)
    except LegatoError as exc:
        return Lit(_Refusal(str(exc)))


def _binding(node: Mapping[str, Any]) -> Arg:
    """The binding a recorded output description (:mod:`legato.model.outputs`) stands for."""
    if "task" in node:
        path = tuple(_literal(s["repr"]) if isinstance(s, dict) else s for s in node["path"])
        return Ref(node["task"], path)
    if "param" in node:
        return Param(node["param"])
    if "literal" in node:
        return Lit(_literal(node["literal"]))
    if "list" in node or "tuple" in node:
        items = node["list"] if "list" in node else node["tuple"]
        return Seq(tuple(_binding(n) for n in items), as_tuple="tuple" in node)
    if "dict" in node:
        return Dict(tuple((_literal(k), _binding(n)) for k, n in node["dict"]))
    raise LegatoError(f"the recorded output holds a part this legato does not read: {node}")


def _literal(text: str) -> Any:
    """A value written in the pipeline's body, from its recorded ``repr``: a Python literal
    (strings, numbers, booleans, None and their lists, tuples, dicts and sets) is the value
    again; anything else (an object's ``repr``, a text cut short) cannot be."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise LegatoError(
            f"the pipeline returns a value written in its body that was recorded only as "
            f"the text {text!r} (not a Python literal): read the task outputs it is made "
            "with, with task_output(key)"
        ) from None
