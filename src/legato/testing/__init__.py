"""A harness for testing pipelines: a fake clock and an event recorder.

::

    from legato.testing import EventRecorder, FakeClock

    recorder = EventRecorder()
    result = legato.run(my_pipeline, executor="inline", clock=FakeClock(), listeners=[recorder])
    assert result.ok and recorder.states("train") == ["ready", "running", "succeeded"]

With ``FakeClock`` and the inline executor a run is deterministic and never sleeps: retry
delays and timeouts pass instantly.
"""

from legato.testing.clock import FakeClock
from legato.testing.recorder import EventRecorder

__all__ = ["EventRecorder", "FakeClock"]
