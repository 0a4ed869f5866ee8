"""A chain of 40 paced tasks for the write-ahead crash tests, run as a script: ``run`` or
``resume RUN_ID``.

Task ``i`` appends ``i`` to the ledger named by ``LEGATO_TEST_LEDGER`` as it starts, then
sleeps ``LEGATO_TEST_PACE`` seconds and returns its input plus one, so the chain's output is
40. A test that kills the orchestrator once the ledger holds N lines knows which tasks had
started: a task's line is there only once the orchestrator handed its call to the executor.
With ``LEGATO_TEST_HOLD=i`` task ``i`` sleeps a minute after its line, so the run cannot end
before a test that waits for that line kills it, however late the test gets to it.
``LEGATO_TEST_EXECUTOR`` picks the executor of the first run; a resume keeps it.
"""

from __future__ import annotations

import os
import sys
import time

import legato
from legato import pipeline, task

LENGTH = 40


@task
def step(i: int, x: int) -> int:
    # One write of one short line with O_APPEND: atomic, whichever process writes it.
    fd = os.open(os.environ["LEGATO_TEST_LEDGER"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, f"{i}\n".encode())
    finally:
        os.close(fd)
    held = os.environ.get("LEGATO_TEST_HOLD") == str(i)
    time.sleep(60.0 if held else float(os.environ.get("LEGATO_TEST_PACE", "0.1")))
    return x + 1


@pipeline
def paced_chain() -> int:
    x = 0
    for i in range(LENGTH):
        x = step(i, x)
    return x


def main(argv: list[str]) -> int:
    if argv[1] == "run":
        result = legato.run(paced_chain, executor=os.environ["LEGATO_TEST_EXECUTOR"])
    else:
        result = legato.resume(argv[2])
    print(result.run_id, result.state.value, result.output)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
