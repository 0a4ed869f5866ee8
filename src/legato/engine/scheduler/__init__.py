"""The scheduler: a run's state and decisions, without effects (see :mod:`.state`)."""

from legato.engine.scheduler.commands import (
    Cancel,
    Command,
    Deadline,
    LookUp,
    RetryDue,
    SetTimer,
    Submit,
    Timer,
)
from legato.engine.scheduler.lookups import CacheAnswer
from legato.engine.scheduler.state import Scheduler

__all__ = [
    "CacheAnswer",
    "Cancel",
    "Command",
    "Deadline",
    "LookUp",
    "RetryDue",
    "Scheduler",
    "SetTimer",
    "Submit",
    "Timer",
]
