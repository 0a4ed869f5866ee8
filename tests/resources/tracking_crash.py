"""A run whose first task logs metrics, for the crash test of tracked values: run as a script
with ``LEGATO_CRASH_AT=state_committed`` it dies right after the first success is committed.

    python tracking_crash.py EXECUTOR
"""

from __future__ import annotations

import sys
import time

import legato
from legato import pipeline, task


@task
def fit() -> float:
    time.sleep(0.5)  # the RUNNING transition is committed meanwhile: values come with success
    for step in range(3):
        legato.log_metric("loss", 1.0 / (step + 1), step=step)
    legato.log_param("lr", 0.1)
    return 0.5


@task
def report(loss: float) -> float:
    time.sleep(3)  # the orchestrator is killed before this ends
    return loss


@pipeline
def tracked() -> float:
    return report(fit())


if __name__ == "__main__":
    result = legato.run(tracked, executor=sys.argv[1])
    print(result.run_id)
