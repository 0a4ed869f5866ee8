"""A scheduler process for the concurrency tests: ``python scheduler_child.py URL single|many``.

It runs real scheduler passes over the store at URL; what it launches it starts as the
launched ``legato run`` would begin, by creating the run under the tick's id (a run store
refuses a second run with an id: that refusal is what the tests count on), without running
a pipeline, so hundreds of instants cost no processes. The tests SIGKILL it at any moment.
"""

from __future__ import annotations

import sys
import threading
import time

from legato.errors import RunExistsError
from legato.liveness import owner_token
from legato.model.runs import RunInfo
from legato.model.schedules import Launch
from legato.model.states import RunState
from legato.schedules.scheduler import Scheduler
from legato.store.sql import SqlRunStore
from legato.store.sql.schedules import SqlScheduleStore


def main() -> None:
    url, mode = sys.argv[1], sys.argv[2]
    runs = SqlRunStore(url)
    store = SqlScheduleStore(runs.engine)

    def start(launch: Launch) -> str:
        time.sleep(0.02)  # as long as starting a process takes: kills land mid-pass
        now = time.time()
        try:
            runs.create_run(
                RunInfo(
                    run_id=launch.tick.run_id,
                    pipeline=launch.tick.schedule,
                    target=launch.target,
                    state=RunState.SUCCEEDED,
                    created_at=now,
                    heartbeat_at=now,
                    owner=owner_token(),
                )
            )
        except RunExistsError:
            print(f"refused {launch.tick.run_id}", flush=True)
        return "-"

    scheduler = Scheduler(
        store=store,
        start=start,
        owner=owner_token(),
        single=mode == "single",
        grace=1.0,
        lease_ttl=1.0,
        poll=0.02,
        claim_limit=1,
        only_declared=False,
    )
    print("ready", flush=True)
    scheduler.serve(threading.Event())


if __name__ == "__main__":
    main()
