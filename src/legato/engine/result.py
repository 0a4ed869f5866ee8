"""What a finished run hands back to its caller."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from legato.errors import RunFailedError, TaskFailedError
from legato.model.records import RunRecord, TaskRecord
from legato.model.states import RunState, TaskState
from legato.model.values import Arg, Dict, Lit, Param, Ref, Seq, Value
from legato.runtime.data import DataPlane, LiveData

__all__ = ["RunResult"]

_MISSING: Any = object()


class RunResult:
    """A finished run: its id, state, per-task records and (loaded on first access) the
    pipeline's output."""

    def __init__(
        self,
        *,
        record: RunRecord,
        output: Arg,
        outputs: Mapping[str, Value],
        params: Mapping[str, Any],
        data: DataPlane | None = None,
        busy: float | None = None,
    ) -> None:
        self.record = record
        self.busy = busy
        """Seconds the orchestrator itself worked on the run (None when unknown)."""
        self._data = data or LiveData()
        self._output_arg = output
        self._outputs = outputs
        self._params = params
        self._output: Any = _MISSING

    @property
    def run_id(self) -> str:
        return self.record.run_id

    @property
    def pipeline(self) -> str:
        return self.record.pipeline

    @property
    def state(self) -> RunState:
        """The run's final state."""
        return self.record.state

    @property
    def ok(self) -> bool:
        """Whether the run succeeded."""
        return self.record.state is RunState.SUCCEEDED

    @property
    def tasks(self) -> Mapping[str, TaskRecord]:
        """Every task's record by key (items of maps as ``key[i]``)."""
        return self.record.tasks

    @property
    def duration(self) -> float | None:
        """Seconds from start to end of the run."""
        if self.record.started_at is None or self.record.ended_at is None:
            return None
        return self.record.ended_at - self.record.started_at

    @property
    def overhead_per_task(self) -> float | None:
        """Orchestration cost per task in seconds: the orchestrator's own working time
        (scheduling, bookkeeping, commits, cache lookups) divided by the number of tasks."""
        tasks = sum(1 for t in self.record.tasks.values() if not t.mapped)
        if self.busy is None or not tasks:
            return None
        return self.busy / tasks

    def failures(self) -> list[TaskFailedError]:
        """The tasks that failed or timed out, as errors carrying their recorded cause."""
        return [
            TaskFailedError(record.key, record.error, record.state.value)
            for record in self.record.tasks.values()
            if record.state in (TaskState.FAILED, TaskState.TIMED_OUT)
            and not (
                record.mapped
                and record.error is not None
                and record.error.type_name == "legato.MapItemsFailed"
            )
        ]

    def raise_for_status(self) -> RunResult:
        """Raise :class:`~legato.errors.RunFailedError` unless the run succeeded."""
        if self.ok:
            return self
        failures = self.failures()
        detail = "; ".join(str(f) for f in failures[:3]) or self.record.reason
        raise RunFailedError(
            f"run {self.run_id} of pipeline {self.pipeline!r} {self.state.value}: {detail}",
            self,
        )

    @property
    def output(self) -> Any:
        """What the pipeline function returned, with task outputs in place of placeholders.
        Raises :class:`~legato.errors.RunFailedError` if the run did not succeed."""
        if self._output is _MISSING:
            self.raise_for_status()
            self._output = self._load(self._output_arg)
        return self._output

    def _load(self, arg: Arg) -> Any:
        if isinstance(arg, Lit):
            return arg.value
        if isinstance(arg, Param):
            return self._params[arg.name]
        if isinstance(arg, Ref):
            obj = self._data.load(self._outputs[arg.node])
            for step in arg.path:
                obj = obj[step]
            return obj
        if isinstance(arg, Seq):
            items = [self._load(a) for a in arg.items]
            return tuple(items) if arg.as_tuple else items
        if isinstance(arg, Dict):
            return {k: self._load(a) for k, a in arg.items}
        raise TypeError(f"cannot load {arg!r}")

    def __repr__(self) -> str:
        return f"<RunResult {self.run_id} {self.pipeline} {self.state.value}>"
