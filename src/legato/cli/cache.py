"""``legato cache clear``: forget cached task results, all of them or one task's.

Forgetting everything cannot be undone (every task runs again next time), so it is asked
for on a terminal and must be confirmed with ``--yes`` anywhere else. A task name that no
run and no cache entry knows is a mistake, said as one, with the nearest known name.
"""

from __future__ import annotations

import difflib
import sys

import typer

from legato.cli.exits import OK, USAGE, CommandError
from legato.cli.formats import console
from legato.cli.settings import load, mask, open_storage

__all__ = ["clear_cache_command"]


_SHOWN = 20
"""Known task names listed at most, after a name that is none of them."""


def clear_cache_command(task: str | None, *, yes: bool, profile: str | None) -> int:
    """Forget cache entries: those of task ``task``, or, confirmed, all of them."""
    ask = task is None and not yes
    if ask and not sys.stdin.isatty():
        raise CommandError(
            "cache clear without --task forgets every cached task result, and standard "
            "input is not a terminal to ask on: add --yes to confirm, or --task NAME for "
            "one task's",
            USAGE,
        )
    storage = open_storage(load(profile))
    out = console()
    question = f"Forget every cached task result in {mask(storage.runs.url)}?"
    if ask and not typer.confirm(question, default=False):
        out.print("nothing was cleared", markup=False)
        return OK
    count = storage.runs.clear_cache(task=task)
    if task is not None and count == 0:
        _check_known(task, storage.runs.task_names())
    which = f" of task {task!r}" if task else ""
    out.print(f"cleared {count} cache entr{'y' if count == 1 else 'ies'}{which}", markup=False)
    return OK


def _check_known(task: str, known: list[str]) -> None:
    """A :class:`CommandError` unless ``task`` is the name of a task some run ran."""
    if task in known:
        return
    close = difflib.get_close_matches(task, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    names = ", ".join(known[:_SHOWN]) or "none yet"
    if len(known) > _SHOWN:
        names += f" and {len(known) - _SHOWN} more"
    raise CommandError(
        f"no task is named {task!r}{hint}: nothing was cleared; tasks of recorded runs: {names}",
        USAGE,
    )
