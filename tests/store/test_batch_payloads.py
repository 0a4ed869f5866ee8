"""The append process plans a batch from the payloads it is sent: the same rows as from the
events themselves, for every kind of event and field."""

from __future__ import annotations

import orjson

from legato.model.codec import event_to_dict
from legato.model.events import RollbackPlanned, RollbackTransitioned
from legato.model.rollback import RollbackState
from legato.model.states import RunState
from legato.model.states import TaskState as S
from legato.store.memory import MemoryRunStore
from legato.store.sql.batch import plan_batch
from legato.store.sql.frames import encode

from .conformance import ERROR, PARAMS, TIMEOUT, PlannedTask, Writer, file_ref, inline_ref


def test_rows_from_sent_payloads_equal_rows_from_events() -> None:
    w = Writer(MemoryRunStore(), "rt")
    events = [
        w.start(
            PlannedTask(key="load", name="load_fn"),
            PlannedTask(key="fit", name="fit_fn", mapped=True),
            params=PARAMS,
            executor="processes",
            at=1000.25,
        ),
        w.run(RunState.RUNNING, reason="started ✓"),
        w.task("load", S.RUNNING),
        w.task("load", S.RETRY_WAIT, error=ERROR, retry_at=1234.5, ran_for=0.125),
        w.task("load", S.READY, attempt=2, reason="retry 2 of 3"),
        w.task("load", S.RUNNING, attempt=2),
        w.task(
            "load",
            S.SUCCEEDED,
            attempt=2,
            ran_for=1.5,
            output=inline_ref("aa11"),
            cache_key="ck-load",
            cache_parts={"code": "c0ffee", "inputs": "d1", "params": "p9", "version": "1"},
        ),
        w.task("fit", S.RUNNING),
        w.expand("fit", 2),
        w.task("fit[0]", S.SUCCEEDED, output=file_ref("bb22"), cache_hit="older-run"),
        w.task("fit[1]", S.TIMED_OUT, error=TIMEOUT, ran_for=5.0),
        w.task("fit", S.SKIPPED, attempt=2, reason="branch not taken"),
        w.run(RunState.FAILED, reason="fit[1] timed out"),
    ]
    seq = events[-1].seq
    events += [
        RollbackPlanned(run_id="rt", seq=seq + 1, at=2000.0, keys=("load",), reason="undo"),
        RollbackTransitioned(
            run_id="rt", seq=seq + 2, at=2001.0, key="load", state=RollbackState.STARTED, attempt=1
        ),
    ]
    sent = [orjson.loads(encode(event_to_dict(e))) for e in events]  # as the frame carries
    assert plan_batch("rt", events, sent) == plan_batch("rt", events)
