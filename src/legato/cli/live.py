"""The live view of a run on a terminal (:class:`LiveProgress`), drawn with ``rich.live``.

Apart from :mod:`legato.cli.progress` (which picks it) so that a run whose output is not a
terminal never imports rich's live display, spinner and table.
"""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from legato.cli.formats import duration
from legato.cli.progress import RunView, task_line
from legato.cli.settings import mask
from legato.model.events import RunTransitioned
from legato.model.records import RunRecord, TaskRecord
from legato.model.states import RunState, TaskState

__all__ = ["LiveProgress"]

_WAITING = (TaskState.PENDING, TaskState.READY, TaskState.RETRY_WAIT)
_SHOWN_RUNNING = 8


class LiveProgress(RunView):
    """The live view on a terminal: a spinner with the run, elapsed time and counts per
    state, a line per running task; retries, failures and task output scroll above it."""

    def __init__(self, console: Console, start: RunRecord | None = None) -> None:
        super().__init__(start)
        self.console = console
        self.cancelling = False
        self.spinner = Spinner("dots", style="cyan")
        self.live = Live(
            console=console,
            get_renderable=self._render,
            refresh_per_second=8,
            transient=True,
        )

    def __enter__(self) -> LiveProgress:
        self.live.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.live.stop()

    def log(self, key: str, text: str) -> None:
        """Captured task output, printed above the live view."""
        for line in mask(text).rstrip("\n").split("\n"):
            self.console.print(Text(f"{key} | ", style="dim") + Text(line), soft_wrap=True)

    def task_changed(self, record: TaskRecord, expanded: int | None = None) -> None:
        if record.state not in (
            TaskState.RETRY_WAIT,
            TaskState.FAILED,
            TaskState.TIMED_OUT,
        ):
            return
        line = task_line(record, expanded)
        if line is None:
            return
        verb, detail = line
        style = "magenta" if record.state is TaskState.RETRY_WAIT else "red"
        self.notes.append(
            Text(f"{verb:<10} ", style=style) + Text(record.key, style="bold") + Text(f"  {detail}")
        )

    def show(self, note: Text) -> None:
        self.console.print(note, soft_wrap=True)

    def run_changed(self, event: RunTransitioned) -> None:
        if event.state is RunState.CANCELLING:
            self.cancelling = True

    def _render(self) -> RenderableType:
        with self.lock:
            return self._draw()

    def _draw(self) -> RenderableType:
        record = self.record
        now = time.time()
        title = Text()
        if record is None:
            title.append("starting…")
        else:
            title.append(record.pipeline or "run", style="bold")
            title.append(f" · run {record.run_id} · {duration(now - self.began)}")
        if self.cancelling:
            title.append(" · cancelling (Ctrl-C again to stop at once)", style="yellow")
        self.spinner.update(text=title)
        counts = self.counts
        parts = [
            ("running", counts[TaskState.RUNNING], "cyan"),
            ("waiting", sum(counts[s] for s in _WAITING), "dim"),
            ("succeeded", counts[TaskState.SUCCEEDED], "green"),
            ("cached", self.cache_hits, "green"),
            ("failed", counts[TaskState.FAILED] + counts[TaskState.TIMED_OUT], "red"),
            ("upstream failed", counts[TaskState.UPSTREAM_FAILED], "yellow"),
            ("skipped", counts[TaskState.SKIPPED], "dim cyan"),
            ("cancelled", counts[TaskState.CANCELLED], "yellow"),
            ("retries", self.retries, "magenta"),
        ]
        line = Text("  ")
        for name, count, style in parts:
            if count or name in ("running", "succeeded"):
                line.append(f"{name} ", style="dim")
                line.append(f"{count}", style=style if count else "")
                if name == "succeeded":
                    line.append(f"/{self.total}")
                line.append("   ")
        rows = Table.grid(padding=(0, 2))
        rows.add_column()
        rows.add_column(justify="right")
        rows.add_column(style="dim")
        running = sorted(self.running.values(), key=lambda t: t.started_at or now)
        for task in running[:_SHOWN_RUNNING]:
            attempt = f"attempt {task.attempt}" if task.attempt > 1 else ""
            # Text, not markup: an item key in brackets is no style tag.
            rows.add_row(Text(f"  ▸ {task.key}"), duration(now - (task.started_at or now)), attempt)
        if len(running) > _SHOWN_RUNNING:
            rows.add_row(f"  … and {len(running) - _SHOWN_RUNNING} more running", "", "")
        return Group(self.spinner, line, rows)
