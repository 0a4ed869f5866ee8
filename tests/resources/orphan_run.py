"""A run on the processes executor whose task starts a child process and then waits: the test
kills this orchestrator with SIGKILL and checks that the worker and its child die too.

    python orphan_run.py PID_FILE
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import legato
from legato import pipeline, task


@task
def long_running(pid_file: str) -> int:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    with open(pid_file + ".tmp", "w") as out:
        out.write(f"{os.getpid()} {child.pid}")
    os.replace(pid_file + ".tmp", pid_file)
    time.sleep(120)
    return 0


@pipeline
def orphaned(pid_file: str) -> int:
    return long_running(pid_file)


if __name__ == "__main__":
    legato.run(orphaned, params={"pid_file": sys.argv[1]}, executor="processes")
