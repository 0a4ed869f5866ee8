"""The append process plans a batch from the payloads it is sent: the same rows as from the
events themselves, for every kind of event and field."""

from __future__ import annotations

import orjson

from legato.model.codec import event_to_dict
from legato.model.events import RollbackPlanned, RollbackTransitioned
from legato.model.rollback import RollbackState
from legato.store.memory import MemoryRunStore
from legato.store.sql.batch import plan_batch
from legato.store.sql.frames import encode

from .conformance import Writer, every_kind_of_event


def test_rows_from_sent_payloads_equal_rows_from_events() -> None:
    w = Writer(MemoryRunStore(), "rt")
    events = every_kind_of_event(w)
    seq = events[-1].seq
    events += [
        RollbackPlanned(run_id="rt", seq=seq + 1, at=2000.0, keys=("load",), reason="undo"),
        RollbackTransitioned(
            run_id="rt", seq=seq + 2, at=2001.0, key="load", state=RollbackState.STARTED, attempt=1
        ),
    ]
    sent = [orjson.loads(encode(event_to_dict(e))) for e in events]  # as the frame carries
    assert plan_batch("rt", events, sent) == plan_batch("rt", events)
