"""Eight processes write to one SQLite file at once: nothing is lost, nobody sees "database is
locked". They also open the file for the first time together, so the schema migration races
too."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from legato.model.states import RunState, TaskState
from legato.store.sql import SqlRunStore

WORKERS, RUNS, TASKS = 8, 3, 15
WRITER = Path(__file__).with_name("concurrent_writer.py")


@pytest.mark.slow
def test_eight_processes_share_one_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared' / 'legato.db'}"
    start_at = time.time() + 2.0  # after every interpreter has imported legato
    procs = [
        subprocess.Popen(
            [sys.executable, str(WRITER), url, str(w), str(start_at), str(RUNS), str(TASKS)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(WORKERS)
    ]
    failures = []
    for w, proc in enumerate(procs):
        out, err = proc.communicate(timeout=100)
        if proc.returncode != 0 or "locked" in err:
            failures.append(f"worker {w} (exit {proc.returncode}):\n{out}{err}")
    assert not failures, "\n".join(failures)

    store = SqlRunStore(url)
    runs = store.list_runs(pipeline="shared", limit=1000)
    assert len(runs) == WORKERS * RUNS
    per_run = 2 + 2 * TASKS + 1
    for info in runs:
        assert info.state is RunState.SUCCEEDED
        events = store.read_events(info.run_id)
        assert [e.seq for e in events] == list(range(1, per_run + 1)), info.run_id
        records = store.task_records(info.run_id)
        assert [r.key for r in records] == [f"t{k}" for k in range(TASKS)]
        assert all(r.state is TaskState.SUCCEEDED for r in records)
        assert all(
            r.output is not None and r.output.inline == f"{info.run_id}/{r.key}".encode()
            for r in records
        )
    keys = [f"ck-w{w}-r{j}-t{k}" for w in range(WORKERS) for j in range(RUNS) for k in range(TASKS)]
    assert len(store.lookup_cache(keys)) == len(keys)
    assert sum(len(store.read_logs(r.run_id)) for r in runs) > 0
    store.close()
