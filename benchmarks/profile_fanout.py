"""The W2 fan-out run many times in one process: what a profiler samples.

After a one-task run that opens the store (as ``case.py`` does), it runs the fan-out of
``--size`` items ``--runs`` times (durable in SQLite, threads, no cache lookups) and prints
the median wall and CPU time per task. ``--in-process`` keeps every append in the
orchestrator (no append process). Profile it from outside, sampling the thread that holds
the interpreter lock:

    LEGATO_HOME=$(mktemp -d) PYTHONPATH=.:../shared/bench/peers \\
        py-spy record --gil -r 1000 -f raw -o fanout.raw -- \\
        python benchmarks/profile_fanout.py --size 500 --runs 20 --in-process
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: `benchmarks` is a package of the root
    sys.path.insert(0, str(ROOT))

import legato  # noqa: E402
from benchmarks.case import _pipeline, _setup_pipeline  # noqa: E402
from legato.config import load_settings  # noqa: E402
from legato.engine.storage import open_storage  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=500)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--executor", default="threads")
    parser.add_argument("--in-process", action="store_true", help="no append process")
    args = parser.parse_args()
    legato.run(_setup_pipeline(), executor=args.executor, echo_logs=False)
    store = open_storage(load_settings()).runs
    if args.in_process:
        store._offloading._enabled = False  # type: ignore[attr-defined]
    pipe, params = _pipeline("w2", args.size)
    pipe.graph  # noqa: B018 - traced once, outside the timed runs
    walls, cpus = [], []
    for _ in range(args.runs):
        cpu, wall = time.process_time(), time.perf_counter()
        result = legato.run(pipe, params, executor=args.executor, echo_logs=False, cache=False)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        assert result.ok, result.record.reason
    tasks = args.size + 2
    print(
        f"w2 {args.size} {args.executor}: wall {statistics.median(walls) / tasks * 1e3:.4f} ms "
        f"a task, this process's CPU {statistics.median(cpus) / tasks * 1e3:.4f} ms a task "
        f"(medians of {args.runs} runs)"
    )


if __name__ == "__main__":
    main()
