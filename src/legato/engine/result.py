"""What a finished run hands back to its caller."""

from __future__ import annotations

import html
from collections.abc import Container, Mapping
from typing import Any

from legato.define.graph import iter_refs
from legato.errors import OutputSkippedError, RunFailedError, TaskFailedError
from legato.model.counts import TaskCount
from legato.model.records import RunRecord, TaskRecord
from legato.model.rollback import CompensationRecord
from legato.model.skips import skip_cause
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
    def rollbacks(self) -> Mapping[str, CompensationRecord]:
        """The compensations of a run that failed and rolled back, by task key, in the order
        they ran (empty when nothing was rolled back)."""
        return self.record.rollbacks

    @property
    def duration(self) -> float | None:
        """Seconds from start to end of the run."""
        if self.record.started_at is None or self.record.ended_at is None:
            return None
        return self.record.ended_at - self.record.started_at

    @property
    def reused(self) -> int:
        """How many of its tasks (map items, not maps) were cache hits."""
        return sum(1 for t in self.record.tasks.values() if t.cache_hit and not t.mapped)

    @property
    def task_count(self) -> TaskCount:
        """How many tasks the run has, each map counted as its items; ``str()`` says it as
        ``legato graph`` does (``17 tasks (8 map items)``)."""
        return TaskCount.of_run(self.record)

    @property
    def overhead_per_task(self) -> float | None:
        """Orchestration cost per task in seconds: the orchestrator's own working time
        (scheduling, bookkeeping, commits, cache lookups) divided by the number of tasks."""
        tasks = self.task_count.tasks
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
        Raises :class:`~legato.errors.RunFailedError` if the run did not succeed, and
        :class:`~legato.errors.OutputSkippedError` if it did but what it returns was
        skipped (see :meth:`skipped_output`)."""
        if self._output is _MISSING:
            self.raise_for_status()
            skipped = self.skipped_output()
            if skipped is not None:
                raise skipped
            self._output = self._load(self._output_arg)
        return self._output

    def skipped_output(self) -> OutputSkippedError | None:
        """Why :attr:`output` has no value though the run may have succeeded: the error
        reading it raises when what the pipeline returns is (or holds) the output of a
        skipped task, a branch not taken or a ``legato.one_of`` whose every branch was;
        None when nothing it returns was skipped. Loads nothing."""
        tasks = self.record.tasks
        for ref in iter_refs(self._output_arg):
            record = tasks.get(ref.node)
            if record is None or record.state is not TaskState.SKIPPED:
                continue
            because = skip_cause(ref.node, tasks).describe()
            return OutputSkippedError(
                f"run {self.run_id} of pipeline {self.pipeline!r} {self.state.value}, but what "
                f"the pipeline returns is the output of task {ref.node!r}, which was skipped "
                f"because {because}: there is no value to return",
                task=ref.node,
                because=because,
                fix="to always have a value, give the chain of conditions a `with "
                "legato.otherwise():` branch and return legato.one_of(...) of every branch's "
                f"output; or check result.tasks[{ref.node!r}].state (skipped) before reading "
                "the output",
            )
        return None

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

    def _repr_mimebundle_(
        self, include: Container[str] | None = None, exclude: Container[str] | None = None
    ) -> dict[str, str]:
        """Jupyter's display: the run's state and a table of its tasks (HTML, and text for
        terminals)."""
        bundle = {"text/plain": self._repr_text(), "text/html": self._repr_html_()}
        return {
            kind: value
            for kind, value in bundle.items()
            if (include is None or kind in include) and (exclude is None or kind not in exclude)
        }

    def _repr_html_(self) -> str:
        """The run as an HTML table; every value is escaped."""
        cells = "".join(f"<th>{name}</th>" for name in _COLUMNS)
        rows = []
        for record in _in_display_order(self.record):
            values = _task_cells(record)
            color = _STATE_COLORS.get(record.state, "inherit")
            tds = [f"<td><code>{html.escape(values[0])}</code></td>"]
            tds.append(f'<td style="color: {color}">{html.escape(values[1])}</td>')
            tds.extend(f"<td>{html.escape(value)}</td>" for value in values[2:])
            rows.append(f"<tr>{''.join(tds)}</tr>")
        return (
            '<div class="legato-run">'
            f"<p>{html.escape(self._headline())}</p>"
            f"<table><thead><tr>{cells}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            "</div>"
        )

    def _repr_text(self) -> str:
        """The run as text: a headline and one line per task."""
        table = [_COLUMNS, *(_task_cells(t) for t in _in_display_order(self.record))]
        widths = [max(len(row[i]) for row in table) for i in range(len(_COLUMNS) - 1)]
        lines = [self._headline()]
        for row in table:
            cells = [value.ljust(width) for value, width in zip(row, widths, strict=False)]
            lines.append("  " + "  ".join([*cells, row[-1]]).rstrip())
        return "\n".join(lines)

    def _headline(self) -> str:
        took = f" in {_seconds(self.duration)}" if self.duration is not None else ""
        line = (
            f"run {self.run_id} of pipeline {self.pipeline}: {self.state.value}{took}; "
            f"{self.task_count}, {self.reused} reused from earlier runs"
        )
        return f"{line}; {self.record.reason}" if self.record.reason else line

    def __repr__(self) -> str:
        return f"<RunResult {self.run_id} {self.pipeline} {self.state.value}>"


_MAX_DETAIL = 500
"""Characters of an error message shown in a table cell (the record keeps all of it)."""

_COLUMNS = ("task", "state", "attempts", "duration", "cache", "detail")

_STATE_COLORS = {
    TaskState.SUCCEEDED: "#2e7d32",
    TaskState.FAILED: "#c62828",
    TaskState.TIMED_OUT: "#c62828",
    TaskState.UPSTREAM_FAILED: "#ef6c00",
    TaskState.CANCELLED: "#757575",
    TaskState.SKIPPED: "#9e9e9e",
    TaskState.RUNNING: "#1565c0",
    TaskState.RETRY_WAIT: "#ef6c00",
}


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}s" if value < 10 else f"{value:.1f}s"


def _in_display_order(record: RunRecord) -> list[TaskRecord]:
    """Tasks in run order, each mapped task followed by its items."""
    items: dict[str, list[TaskRecord]] = {}
    for task in record.tasks.values():
        if task.parent is not None:
            items.setdefault(task.parent, []).append(task)
    ordered = []
    for task in record.tasks.values():
        if task.parent is None:
            ordered.append(task)
            ordered.extend(items.pop(task.key, []))
    for rest in items.values():  # items whose group record is missing: still shown
        ordered.extend(rest)
    return ordered


def _task_cells(task: TaskRecord) -> tuple[str, str, str, str, str, str]:
    """key, state, attempts, duration, cache, detail."""
    cache = ""
    detail = ""
    if task.cache_hit is not None:
        cache = f"hit from run {task.cache_hit}"
    elif task.reason.startswith("cache: "):
        cache = task.reason.removeprefix("cache: ")
    elif task.reason:
        detail = task.reason
    if task.error is not None:
        message = " ".join(task.error.message.split())  # one line, for the text table
        if len(message) > _MAX_DETAIL:
            message = message[: _MAX_DETAIL - 1] + "…"
        kind = task.error.type_name.removeprefix("builtins.")
        detail = message if task.mapped else f"{kind}: {message}"
    elif task.mapped and task.items is not None:
        detail = f"{task.items} items"
    duration = task.duration if task.duration is not None else task.ran_for
    ran = not task.mapped and task.first_started_at is not None
    attempts = str(task.attempt) if ran else ""
    return (task.key, task.state.value, attempts, _seconds(duration), cache, detail)
