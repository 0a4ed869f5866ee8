"""``legato run`` and ``legato resume``: a run in this process, shown while it goes, then
summed up; the exit status says how it ended. The flags become a ``RunOptions`` or
``ResumeOptions`` (validated there, like the library's own keywords); what the run recorded
(parameters, failure policy, ``--no-cache``, ``--refresh``) a resume takes from the run."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console

from legato.choices import FailurePolicy
from legato.cli.exits import CANCELLED, FAILED, OK, USAGE, CommandError
from legato.cli.formats import console as make_console
from legato.cli.params import parse_params
from legato.cli.progress import LogTail, PlainProgress, make_progress
from legato.cli.settings import load, mask, open_storage
from legato.cli.stores import open_existing
from legato.cli.summary import print_outcome
from legato.cli.user_code import user_traceback
from legato.define.loader import load_pipeline
from legato.define.pipeline import Pipeline
from legato.engine.options import ResumeOptions, RunOptions
from legato.engine.reducer import fold
from legato.engine.result import RunResult
from legato.engine.resume import resume
from legato.engine.run import run
from legato.errors import DefinitionError, ParameterError, RunInterrupted
from legato.model.states import RunState
from legato.store.base import RunStore

if TYPE_CHECKING:
    from legato.cli.live import LiveProgress

__all__ = ["exit_status", "load_target", "resume_command", "run_command"]


def load_target(target: str) -> Pipeline[..., Any]:
    """The pipeline ``target`` names (``file.py:name`` or ``pkg.module:name``). The working
    folder is importable, as it is for ``python -m``. A target that cannot be loaded, or
    whose module raises while it is imported, is a usage error."""
    here = os.getcwd()
    if here not in sys.path:
        sys.path.insert(0, here)
    try:
        return load_pipeline(target)
    except DefinitionError:
        raise
    except Exception as exc:
        trace = mask(user_traceback(exc))
        raise CommandError(f"importing {target} failed:\n{trace.rstrip()}", USAGE) from None


def exit_status(result: RunResult) -> int:
    """0 succeeded, 130 cancelled, 1 anything else."""
    if result.state is RunState.SUCCEEDED:
        return OK
    if result.state is RunState.CANCELLED:
        return CANCELLED
    return FAILED


def run_command(
    target: str,
    pairs: Sequence[str],
    *,
    executor: str | None,
    capacity: str | None,
    profile: str | None,
    cache: bool,
    fail_fast: bool | None,
    refresh: Sequence[str],
    logs: bool,
    run_id: str | None = None,
) -> int:
    """Run ``target`` with parameters ``pairs`` (``name=value``); the exit status."""
    pipeline = load_target(target)
    params = parse_params(pipeline, pairs)
    policy = (
        None
        if fail_fast is None
        else (FailurePolicy.FAIL_FAST if fail_fast else FailurePolicy.KEEP_GOING)
    )
    options = RunOptions(
        executor=executor,
        capacity=capacity,
        failure_policy=policy,
        cache=cache,
        refresh=list(refresh) or False,
        profile=profile,
        echo_logs=False,  # shown from the store, prefixed by task
        run_id=run_id,
    )
    storage = open_storage(load(profile))
    console = make_console()
    progress = make_progress(console)
    try:
        with progress, _tail(storage.runs, progress, logs, after_seq=0):
            result = run(pipeline, params, options, listeners=[progress])
    except RunInterrupted as exc:
        result = exc.result
    except (DefinitionError, ParameterError) as exc:
        raise CommandError(mask(str(exc)), USAGE) from None
    return _finish(console, result)


def resume_command(
    run_ref: str, *, executor: str | None, capacity: str | None, profile: str | None, logs: bool
) -> int:
    """Continue run ``run_ref`` (an id or a unique prefix); the exit status."""
    here = os.getcwd()
    if here not in sys.path:
        sys.path.insert(0, here)
    options = ResumeOptions(executor=executor, capacity=capacity, profile=profile, echo_logs=False)
    storage = open_existing(load(profile), f"run {run_ref!r}", read_only=False)
    info = storage.runs.get_run(run_ref)
    events = storage.runs.read_events(info.run_id)
    start = fold(events) if events else None
    existing = storage.runs.read_logs(info.run_id)
    console = make_console()
    progress = make_progress(console, start)
    try:
        with (
            progress,
            _tail(
                storage.runs, progress, logs, after_seq=max((e.seq for e in existing), default=0)
            ),
        ):
            result = resume(info.run_id, options, listeners=[progress])
    except RunInterrupted as exc:
        result = exc.result
    except (DefinitionError, ParameterError) as exc:
        raise CommandError(mask(str(exc)), USAGE) from None
    return _finish(console, result)


def _tail(
    store: RunStore, progress: LiveProgress | PlainProgress, logs: bool, *, after_seq: int
) -> LogTail | _NoTail:
    if not logs:
        return _NoTail()
    return LogTail(store, progress, progress.log, after_seq=after_seq)


class _NoTail:
    def __enter__(self) -> _NoTail:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _finish(console: Console, result: RunResult) -> int:
    print_outcome(console, result)
    return exit_status(result)
