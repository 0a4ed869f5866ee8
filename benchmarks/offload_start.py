"""How long a SQLite run store's append process takes to start: from ``start_offload`` to the
process reporting ready, and the CPU time the process spent until then.

Wall time is what a run waits before its appends leave the orchestrator (the target is
50 ms); the process's CPU time (``/proc/<pid>/schedstat``, Linux) moves less with the load
of a shared machine. Each start opens a fresh store. Measured processes keep Python's
bytecode caches, as an installed legato has them (``measure.measured_env``); ``--no-caches``
keeps the environment as it is.

    python benchmarks/offload_start.py [--starts 9] [--no-caches]

Compare two trees in one sitting by alternating them, each with its own ``src`` first on
``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: `benchmarks` is a package of the root
    sys.path.insert(0, str(ROOT))

from benchmarks.measure import measured_env  # noqa: E402
from legato.store.sql import SqlRunStore  # noqa: E402


def child_cpu_ms(pid: int) -> float | None:
    """CPU time of ``pid`` so far, in milliseconds (None where the kernel does not say)."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e6
    except (OSError, ValueError, IndexError):
        return None


def start_once(folder: Path, i: int) -> tuple[float, float | None]:
    """Milliseconds from asking for the append process to its being ready, and its CPU time."""
    store = SqlRunStore(f"sqlite:///{folder}/store-{i}.db")
    try:
        started = time.perf_counter()
        if not store.start_offload(wait=True):
            raise SystemExit("the append process did not start")
        ready = (time.perf_counter() - started) * 1000
        process = store._offloading.process  # its pid, for its CPU time
        pid = process._proc.pid if process is not None else None
        return ready, child_cpu_ms(pid) if pid is not None else None
    finally:
        store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=9)
    parser.add_argument("--no-caches", action="store_true", help="keep the environment as is")
    args = parser.parse_args()
    if not args.no_caches:
        env = measured_env(os.environ)  # the append process inherits this process's
        os.environ.clear()
        os.environ.update(env)
    with tempfile.TemporaryDirectory(prefix="legato-offload-start-") as tmp:
        folder = Path(tmp)
        start_once(folder, -1)  # writes the bytecode caches; not counted
        runs = [start_once(folder, i) for i in range(args.starts)]
    ready = [r for r, _ in runs]
    cpu = [c for _, c in runs if c is not None]
    low, high = min(ready), max(ready)
    print(f"ready: median {statistics.median(ready):.1f} ms, min {low:.1f}, max {high:.1f}")
    if cpu:
        print(f"append process CPU until ready: median {statistics.median(cpu):.1f} ms")
    print(f"{args.starts} starts, load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
