"""One of the processes of ``test_sqlite_concurrency``: opens a shared SQLite run store the
moment it is told to, writes its own runs in many small appends, reads what the others
write, and exits non-zero with the traceback if anything fails.

    python concurrent_writer.py URL WORKER START_AT RUNS TASKS
"""

from __future__ import annotations

import contextlib
import sys
import time
import traceback

from legato.errors import UnknownRunError
from legato.model.artifacts import ArtifactRef
from legato.model.events import PlannedTask, RunStarted, RunTransitioned, TaskTransitioned
from legato.model.runs import LogEntry, RunInfo
from legato.model.states import RunState, TaskState
from legato.store.sql import SqlRunStore


def main(url: str, worker: int, start_at: float, runs: int, tasks: int) -> None:
    time.sleep(max(0.0, start_at - time.time()))  # all open the fresh file at once
    store = SqlRunStore(url)
    owner = f"owner-{worker}"
    run_ids = [f"w{worker}-r{j}" for j in range(runs)]
    seq = dict.fromkeys(run_ids, 0)

    def nxt(run_id: str) -> int:
        seq[run_id] += 1
        return seq[run_id]

    for run_id in run_ids:
        store.create_run(RunInfo(run_id=run_id, pipeline="shared", owner=owner, created_at=1.0))
        keys = tuple(PlannedTask(key=f"t{k}", name="step") for k in range(tasks))
        store.append(
            run_id,
            owner,
            [
                RunStarted(
                    run_id=run_id, seq=nxt(run_id), at=time.time(), pipeline="shared", tasks=keys
                ),
                RunTransitioned(
                    run_id=run_id, seq=nxt(run_id), at=time.time(), state=RunState.RUNNING
                ),
            ],
        )
    step = 0
    for k in range(tasks):
        for state in (TaskState.RUNNING, TaskState.SUCCEEDED):
            for run_id in run_ids:
                extra = {}
                if state is TaskState.SUCCEEDED:
                    data = f"{run_id}/t{k}".encode()
                    extra = {
                        "output": ArtifactRef(
                            checksum=f"xxh3_128:{run_id}-t{k}",
                            size=len(data),
                            serializer="json",
                            inline=data,
                        ),
                        "cache_key": f"ck-{run_id}-t{k}",
                    }
                event = TaskTransitioned(
                    run_id=run_id,
                    seq=nxt(run_id),
                    at=time.time(),
                    key=f"t{k}",
                    state=state,
                    attempt=1,
                    **extra,
                )
                store.append(run_id, owner, [event])
                step += 1
                if step % 7 == 0:  # reads of everyone's data between the writes
                    store.list_runs(pipeline="shared", limit=100)
                    with contextlib.suppress(UnknownRunError):  # not created yet, maybe
                        store.get_run(f"w{(worker + 1) % 8}-r0")
                    store.lookup_cache([f"ck-w{w}-r0-t{k}" for w in range(8)])
                    store.read_events(run_id, after_seq=seq[run_id] - 3)
                    store.task_records(run_id)
                if step % 11 == 0:
                    store.heartbeat(run_id, owner)
                    store.append_logs(
                        [
                            LogEntry(
                                run_id=run_id,
                                key=f"t{k}",
                                attempt=1,
                                stream="stdout",
                                text=f"step {step}\n",
                                at=time.time(),
                            )
                        ]
                    )
    for run_id in run_ids:
        store.append(
            run_id,
            owner,
            [
                RunTransitioned(
                    run_id=run_id, seq=nxt(run_id), at=time.time(), state=RunState.SUCCEEDED
                )
            ],
        )
    store.close()


if __name__ == "__main__":
    try:
        main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    except BaseException:
        traceback.print_exc()
        sys.exit(1)
