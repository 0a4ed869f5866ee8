"""A script: run a pipeline with a long task on the executor named in argv[1] and report how
Ctrl-C ended it. The test sends SIGINT once the task has started."""

from __future__ import annotations

import signal
import sys

from outcome_tasks import echo, slow
from runchecks import make_executor

import legato


@legato.pipeline
def long_run() -> object:
    return echo(slow(30.0))


def main() -> int:
    # Started from a background job (CI, `pytest &`) a process inherits SIGINT ignored; a
    # terminal user's process has Python's own handler.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        result = legato.run(long_run, executor=make_executor(sys.argv[1]))
    except legato.RunInterrupted as exc:
        tasks = " ".join(f"{k}={t.state.value}" for k, t in exc.result.tasks.items())
        kind = "keyboard-interrupt" if isinstance(exc, KeyboardInterrupt) else "other"
        print("interrupted", kind, exc.result.state.value, tasks, flush=True)
        return 130
    print("not interrupted", result.state.value, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
