"""``legato logs RUN [TASK] [--follow]``: what a run's tasks wrote, attempt by attempt.

The output of each attempt follows a header naming the task, the attempt and how it ended
(``==> fit · attempt 1 · failed, retried <==``, as ``tail`` heads the files it follows),
and is printed as the task wrote it. Without ``--follow`` each attempt's output is printed
in one piece, tasks in plan order; with it, what arrives is printed as it arrives, under a
new header whenever it comes from another attempt than the text before it. A run (or a
task) that captured nothing says so, rather than print nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from rich.console import Console
from rich.text import Text

from legato.cli.attempts import Attempts
from legato.cli.choices import CRASHED
from legato.cli.exits import CANCELLED, OK, USAGE, CommandError
from legato.cli.formats import STATE_STYLES, console
from legato.cli.settings import load, mask
from legato.cli.stores import open_existing
from legato.cli.summary import in_display_order
from legato.model.runs import LogEntry
from legato.model.states import RUN_TERMINAL
from legato.query.runs import shown_state
from legato.store.base import RunStore

__all__ = ["in_plan_order", "logs_command"]

_FOLLOW_EVERY = 0.5


def logs_command(run_ref: str, task: str | None, *, follow: bool, profile: str | None) -> int:
    """Print the captured output; with ``follow``, until the run ends."""
    settings = load(profile)
    store = open_existing(settings, f"run {run_ref!r}").runs
    info = store.get_run(run_ref)
    selection = None if task is None else _Selection(store, info.run_id, task)
    printer = _Printer(console(), store, info.run_id, selection)
    printer.show(in_plan_order(store, info.run_id, store.read_logs(info.run_id)))
    ended = info.state in RUN_TERMINAL
    try:
        while follow and not ended:
            current = store.get_run(info.run_id)
            ended = current.state in RUN_TERMINAL or (
                shown_state(current, settings.stale_after) == CRASHED
            )
            printer.show(store.read_logs(info.run_id, after_seq=printer.seq))
            if not ended:
                time.sleep(_FOLLOW_EVERY)
    except KeyboardInterrupt:
        return CANCELLED
    if not printer.printed:
        which = f"task {task}" if task is not None else f"run {info.run_id}"
        so_far = "" if ended else " so far"
        printer.out.print(f"{which} captured no output{so_far}", markup=False)
    return OK


def in_plan_order(store: RunStore, run_id: str, entries: Iterable[LogEntry]) -> list[LogEntry]:
    """``entries`` grouped by attempt: tasks in plan order (each map's items after it),
    each task's attempts in order, each attempt's text in the order it was written. Reads
    the records of the tasks that wrote (and of their maps), not every task of the run."""
    entries = list(entries)
    keys = {e.key for e in entries}
    records = store.task_records(run_id, keys=keys) if keys else []
    maps = {r.parent for r in records if r.parent is not None} - keys
    if maps:
        records = store.task_records(run_id, keys=keys | maps)
    order = {r.key: i for i, r in enumerate(in_display_order(records))}
    last = len(order)
    return sorted(entries, key=lambda e: (order.get(e.key, last), e.key, e.attempt, e.seq))


class _Selection:
    """The entries ``legato logs RUN TASK`` prints: the task's own and, of a mapped task,
    its items' (the records whose parent it is), judged key by key as entries come: a map
    of a million items is never read whole, and items that write later are still found."""

    def __init__(self, store: RunStore, run_id: str, task: str) -> None:
        found = store.task_records(run_id, keys=[task])
        if not found:
            names = ", ".join(r.key for r in store.planned_tasks(run_id)) or "none"
            raise CommandError(f"run {run_id} has no task {task!r}; its tasks: {names}", USAGE)
        self.store = store
        self.run_id = run_id
        self.task = task
        self.mapped = found[0].mapped
        self._ours: dict[str, bool] = {task: True}

    def of(self, entries: Sequence[LogEntry]) -> list[LogEntry]:
        """The entries of ``entries`` that are the task's."""
        unknown = {e.key for e in entries} - self._ours.keys()
        if unknown and self.mapped:
            for record in self.store.task_records(self.run_id, keys=unknown):
                self._ours[record.key] = record.parent == self.task
        return [e for e in entries if self._ours.get(e.key, False)]


class _Printer:
    """Writes entries under the header of their attempt; remembers where it is."""

    def __init__(
        self, out: Console, store: RunStore, run_id: str, selection: _Selection | None
    ) -> None:
        self.out = out
        self.store = store
        self.run_id = run_id
        self.selection = selection
        self.seq = 0
        """The highest sequence number seen (what ``--follow`` reads after)."""
        self.printed = False
        self._current: tuple[str, int] | None = None
        self._at_line_start = True
        self._attempts = Attempts()

    def show(self, entries: Sequence[LogEntry]) -> None:
        self.seq = max([self.seq, *(e.seq for e in entries)])
        if self.selection is not None:
            entries = self.selection.of(entries)
        self._learn(entries)
        for entry in entries:
            ident = (entry.key, entry.attempt)
            if ident != self._current:
                self._header(ident)
            text = mask(entry.text)
            self.out.file.write(text)
            self._at_line_start = text.endswith("\n")
            self.printed = True
        self.out.file.flush()

    def _learn(self, entries: Sequence[LogEntry]) -> None:
        """Folds the events of the tasks that wrote ``entries``, never every event of the
        run. A task first seen has its events read from the log's start; the attempts
        already folded that have not settled (a followed run's attempts move on) are read
        with every batch, after the last event folded, so their fold stays whole (folding
        an event again changes nothing)."""
        fresh = {e.key for e in entries if (e.key, e.attempt) not in self._attempts.found}
        moving = {a.key for a in self._attempts.found.values() if not a.settled}
        if not fresh and not moving & {e.key for e in entries}:
            return
        after = 0 if fresh else self._attempts.seq
        self._attempts.add(self.store.read_events(self.run_id, after, keys=fresh | moving))

    def _header(self, ident: tuple[str, int]) -> None:
        if not self._at_line_start:
            self.out.file.write("\n")
        attempt = self._attempts.found.get(ident)
        outcome = attempt.outcome if attempt is not None else "unknown"
        key, number = ident
        line = Text("==> ", style="dim")
        line.append(key, style="bold")
        line.append(f" · attempt {number} · ", style="dim")
        line.append(outcome, style=STATE_STYLES.get(outcome.split(",")[0], ""))
        line.append(" <==", style="dim")
        self.out.print(line, soft_wrap=True)
        self._current = ident
        self._at_line_start = True
