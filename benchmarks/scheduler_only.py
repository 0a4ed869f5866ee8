"""The scheduler alone: the W2 fan-out driven by hand, no store, executor or threads.

What is left of a task's cost without I/O is the scheduler's own Python (rules, events,
records, binding, admission), and with nothing else in the process it can be counted
repeatably: under ``valgrind --tool=callgrind`` two sizes give the instructions per task as
the difference of their totals over the difference of their sizes (the start-up cancels):

    PYTHONPATH=.:../shared/bench/peers valgrind --tool=callgrind \\
        python benchmarks/scheduler_only.py --size 200 --runs 1
    (again with --size 2200; per task: (total_2200 - total_200) / 2000)

Without valgrind it prints the CPU time per task (best and median of ``--runs``).
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

from benchmarks.case import _pipeline  # noqa: E402
from legato import Capacity  # noqa: E402
from legato.define.graph import Graph  # noqa: E402
from legato.engine.plan import build_plan  # noqa: E402
from legato.engine.scheduler import Scheduler  # noqa: E402
from legato.engine.scheduler.commands import Submit  # noqa: E402
from legato.model.artifacts import ArtifactRef  # noqa: E402
from legato.model.calls import OutcomeKind, TaskOutcome  # noqa: E402
from legato.model.states import RunState  # noqa: E402
from legato.model.values import Stored, StoredItems, Value  # noqa: E402


def _ref(i: int) -> ArtifactRef:
    return ArtifactRef(
        checksum=f"xxh3_128:{i:032x}",
        size=1,
        serializer="json",
        inline=b"1",
        producer=f"bench/ident[{i}]#1",
        meta={"serializer_version": "1"},
    )


def run_once(graph: Graph, params: dict[str, object], size: int) -> None:
    """One run of the fan-out: every call handed out succeeds at once."""
    items = tuple(_ref(i) for i in range(size))
    outputs = [Stored(ref) for ref in items]
    scheduler = Scheduler(
        run_id="bench",
        plan=build_plan(graph, params),
        capacity=Capacity(cpus=8, memory=2**34, slots=8),
        executor="threads",
    )
    now = 1.0
    scheduler.start(now)
    scheduler.take()
    done = 0
    while not scheduler.done:
        scheduler.step(now)
        _, commands = scheduler.take()
        for command in commands:
            if not isinstance(command, Submit):
                continue
            call = command.call
            output: Value = outputs[done % size]
            length = None
            if call.split_output:
                output, length = StoredItems(items, _ref(-1)), size
            else:
                done += 1
            outcome = TaskOutcome(
                call_id=call.call_id,
                key=call.key,
                attempt=call.attempt,
                kind=OutcomeKind.SUCCEEDED,
                output=output,
                length=length,
                started_at=now,
                ended_at=now + 0.001,
            )
            scheduler.on_outcome(outcome, now)
            scheduler.take()
        now += 0.001
    if scheduler.run.state is not RunState.SUCCEEDED:
        raise RuntimeError(f"the run ended {scheduler.run.state}: {scheduler.run.reason}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    pipe, params = _pipeline("w2", args.size)
    graph = pipe.graph  # traced once, outside the timed runs
    cpus = []
    for _ in range(args.runs):
        started = time.process_time()
        run_once(graph, params, args.size)
        cpus.append(time.process_time() - started)
    tasks = args.size + 2
    print(
        f"scheduler alone, w2 {args.size}: CPU {min(cpus) / tasks * 1e6:.2f} us a task "
        f"(best of {args.runs}; median {statistics.median(cpus) / tasks * 1e6:.2f})"
    )


if __name__ == "__main__":
    main()
