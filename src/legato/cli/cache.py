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
from legato.cli.settings import load
from legato.cli.stores import missing_store, open_existing, store_name

__all__ = ["clear_cache_command"]


_SHOWN = 20
"""Known task names listed at most, after a name that is none of them."""


def clear_cache_command(task: str | None, *, yes: bool, profile: str | None) -> int:
    """Forget cache entries: those of task ``task``, or, confirmed, all of them."""
    settings = load(profile)
    missing = missing_store(settings)
    if missing is not None:  # nothing to clear, and no store to make for it
        console().print(missing, markup=False, soft_wrap=True)
        return OK
    store = store_name(settings)
    ask = task is None and not yes
    if ask and not sys.stdin.isatty():
        raise CommandError(
            f"cache clear without --task forgets every cached task result in {store}, and "
            "standard input is not a terminal to ask on: add --yes to confirm, or --task "
            "NAME for one task's",
            USAGE,
        )
    out = console()
    if ask and not typer.confirm(f"Forget every cached task result in {store}?", default=False):
        out.print("nothing was cleared", markup=False)
        return OK
    runs = open_existing(settings, "a cache", read_only=False).runs
    count = runs.clear_cache(task=task)
    if task is not None and count == 0:
        _check_known(task, runs.task_names(), store)
    which = f" of task {task!r}" if task else ""
    out.print(
        f"cleared {count} cache entr{'y' if count == 1 else 'ies'}{which} in {store}",
        markup=False,
        soft_wrap=True,
    )
    return OK


def _check_known(task: str, known: list[str], store: str) -> None:
    """A :class:`CommandError` unless ``task`` is the name of a task some run of ``store``
    ran."""
    if task in known:
        return
    close = difflib.get_close_matches(task, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    names = ", ".join(known[:_SHOWN]) or "none yet"
    if len(known) > _SHOWN:
        names += f" and {len(known) - _SHOWN} more"
    raise CommandError(
        f"no task in {store} is named {task!r}{hint}: nothing was cleared; tasks of its "
        f"runs: {names}",
        USAGE,
    )
