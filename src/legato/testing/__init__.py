"""A harness for testing pipelines: a fake clock, an event recorder and recorded histories.

::

    from legato.testing import EventRecorder, FakeClock

    recorder = EventRecorder()
    result = legato.run(my_pipeline, executor="inline", clock=FakeClock(), listeners=[recorder])
    assert result.ok and recorder.states("train") == ["ready", "running", "succeeded"]
    recorder.check(my_pipeline.graph)  # the events form a valid run of this graph

With ``FakeClock`` and the inline executor a run is deterministic and never sleeps: retry
delays and timeouts pass instantly. ``recorder.save(path)`` keeps a run's events;
``load_history(path)`` reads them back for a replay test (``fold`` them and compare).
"""

from legato.testing.clock import FakeClock
from legato.testing.history import InvalidHistoryError, check_history, load_history, save_history
from legato.testing.recorder import EventRecorder

__all__ = [
    "EventRecorder",
    "FakeClock",
    "InvalidHistoryError",
    "check_history",
    "load_history",
    "save_history",
]
