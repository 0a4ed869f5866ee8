"""Schedules and their ticks, as data.

A *schedule* starts runs of one pipeline at the instants of a cron expression in a time
zone. A *tick* is one of those instants, keyed by ``(schedule, origin, nominal)``: the
schedule's name, ``""`` for the cron's own ticks or a backfill's id for a backfill's, and
the nominal instant in whole seconds since the epoch (UTC). The run a tick starts has an id
derived from that key (:func:`tick_run_id`), so however many schedulers, restarts or
redeploys reach the same instant, there is one run for it: the run store refuses a second
run with the same id.

A tick's life::

    QUEUED ──► LAUNCHED             (its run was started as a process of its own)
       ├─────► SKIPPED              (overlap ``skip``: too many runs active; the reason says which)
       ├─────► CANCELLED            (its backfill was cancelled before it started)
       └─────► FAILED               (its run never started, however often it was launched)
    MISSED                          (the scheduler was down at the instant; catch-up did not run it)
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from legato.errors import ParameterError

__all__ = [
    "AFTER_PREFIX",
    "ALIAS_PREFIX",
    "BACKFILL_PREFIX",
    "CRON_ORIGIN",
    "FILES_PREFIX",
    "Backfill",
    "Catchup",
    "ClaimPlan",
    "Launch",
    "Overlap",
    "OverlapDecision",
    "ScheduleDef",
    "ScheduleRecord",
    "Tick",
    "TickPlan",
    "TickStatus",
    "check_schedule_name",
    "group_of",
    "iso_utc",
    "parse_alias_trigger",
    "parse_files_trigger",
    "tick_params",
    "tick_run_id",
]

CRON_ORIGIN = ""
"""The origin of a cron's own ticks (a backfill's ticks carry its id instead)."""
AFTER_PREFIX = "after:"
"""The origin of a tick an upstream run's success made: ``after:<run id>``."""
ALIAS_PREFIX = "alias:"
"""The origin of a tick a model alias's move made: ``alias:<change id>:v<version>``; and
the start of a schedule's ``after`` when it follows an alias: ``alias:<model>@<alias>``."""
FILES_PREFIX = "files:"
"""The start of a schedule's ``after`` when it watches files:
``files:<debounce seconds>:<path or URL>``; and of its ticks' origin: ``files:<digest>``."""
BACKFILL_PREFIX = "bf-"
"""The start of a backfill's id, and so of its ticks' origin."""

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}")
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


class Catchup(StrEnum):
    """What a scheduler that was down does with the instants it missed."""

    LATEST = "latest"
    """Run the newest missed instant; record the others as ``missed``."""
    ALL = "all"
    """Run every missed instant (a bounded number per pass)."""
    NONE = "none"
    """Run none of them (record each as ``missed``); only instants due now run."""


class Overlap(StrEnum):
    """What a tick does while ``max_active`` runs of its schedule are still active."""

    SKIP = "skip"
    """Do not run; the tick records why (``skipped``)."""
    QUEUE = "queue"
    """Wait until a run ends, then run."""
    CANCEL_PREVIOUS = "cancel_previous"
    """Ask the active runs to cancel, and run."""
    ALLOW = "allow"
    """Run at once, however many are active (``max_active`` does not apply)."""


class TickStatus(StrEnum):
    """Where one tick stands (see the module docstring)."""

    QUEUED = "queued"
    LAUNCHED = "launched"
    SKIPPED = "skipped"
    MISSED = "missed"
    CANCELLED = "cancelled"
    FAILED = "failed"


def check_schedule_name(name: str) -> str:
    """``name`` if it is a valid schedule name (1 to 128 letters, digits, ``_ . -``, starting
    with a letter or digit), else ``ParameterError`` saying so."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ParameterError(
            f"{name!r} is not a valid schedule name: use 1 to 128 letters, digits, '_', '.' "
            "or '-', starting with a letter or digit"
        )
    return name


def tick_run_id(schedule: str, origin: str, nominal: int) -> str:
    """The id of the run a tick starts: a run id's layout (10 characters of time, then 10
    more; :func:`legato.model.ids.new_run_id`) with the nominal instant as its time and a
    digest of the whole key as the rest, so that the same key always names the same run
    and runs of ticks sort by their instants."""
    digest = hashlib.blake2b(f"{schedule}\0{origin}\0{nominal}".encode(), digest_size=8)
    value = (nominal * 1000 << 50) | int.from_bytes(digest.digest(), "big") >> 14
    chars = []
    for _ in range(20):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleDef:
    """A schedule as declared (``legato.schedule(...)`` or ``[schedules.<name>]`` in
    ``legato.toml``); checked by :func:`legato.schedules.declare.schedule`."""

    name: str
    target: str
    """The pipeline, as ``legato run`` takes it (``path/to/file.py:pipeline``)."""
    cron: str = ""
    """When it runs (``""``: only when triggered)."""
    after: str = ""
    """Run after each success of this pipeline (``""``: no trigger)."""
    tz: str = "UTC"
    params: Mapping[str, Any] = field(default_factory=dict)
    """Run parameters (JSON values)."""
    catchup: Catchup = Catchup.LATEST
    overlap: Overlap = Overlap.SKIP
    max_active: int = 1
    interval_params: tuple[str, ...] = ()
    """Which of ``interval_start``, ``interval_end`` and ``upstream_run`` the pipeline
    takes: the scheduler passes those (instants as ISO 8601 in UTC; the id of the run whose
    success triggered it)."""
    declared_in: str = ""
    """Where it was declared (for messages)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleRecord:
    """A schedule as the store holds it: its declaration and where its ticks stand."""

    definition: ScheduleDef
    paused: bool = False
    next_due: int | None = None
    """The next instant to claim (seconds since the epoch, UTC)."""
    last_nominal: int | None = None
    """The newest instant claimed."""
    since: float | None = None
    """A trigger's start: only upstream runs that ended after it trigger a run."""
    updated_at: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Tick:
    """One instant of a schedule (or a backfill), and what came of it."""

    schedule: str
    origin: str
    nominal: int
    interval_start: int
    """The start of the interval the run covers; the nominal instant is its end."""
    status: TickStatus
    run_id: str
    reason: str = ""
    created_at: float = 0.0
    launched_at: float | None = None
    launches: int = 0
    log: str = ""
    """The file the launched run's output went to."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Backfill:
    """Runs of a schedule's pipeline over past intervals: one tick per cron instant in
    ``(start, end]``, at most ``max_active`` of them running at once."""

    backfill_id: str
    schedule: str
    start: int
    end: int
    max_active: int
    created_at: float
    cancelled_at: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TickPlan:
    """One tick to write."""

    nominal: int
    interval_start: int
    status: TickStatus
    reason: str = ""
    origin: str = ""
    """Its origin when it is not the claim's own (``after:<run id>`` for a trigger's)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimPlan:
    """The ticks of one claim and where the schedule stands after it."""

    ticks: tuple[TickPlan, ...]
    next_due: int
    last_nominal: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class OverlapDecision:
    """Which queued ticks (by index, oldest first) start, which are skipped and why, and
    whether the active runs are asked to cancel."""

    launch: tuple[int, ...]
    skip: tuple[tuple[int, str], ...]
    cancel_active: bool = False


def iso_utc(instant: int) -> str:
    """``instant`` as an ISO 8601 time in UTC (``2026-11-01T05:30:00+00:00``)."""
    return datetime.fromtimestamp(instant, UTC).isoformat()


def parse_alias_trigger(after: str) -> tuple[str, str]:
    """``(model, alias)`` of a schedule's ``after`` that follows a model alias
    (``alias:<model>@<alias>``), else ``("", "")``."""
    if not after.startswith(ALIAS_PREFIX):
        return "", ""
    model, _, alias = after.removeprefix(ALIAS_PREFIX).partition("@")
    return model, alias


def parse_files_trigger(after: str) -> tuple[str, float]:
    """``(path or URL, debounce seconds)`` of a schedule's ``after`` that watches files,
    else ``("", 0.0)``."""
    if not after.startswith(FILES_PREFIX):
        return "", 0.0
    debounce, _, where = after.removeprefix(FILES_PREFIX).partition(":")
    return where, float(debounce)


def group_of(origin: str) -> str:
    """Whose slots a tick counts against: its backfill's (its origin), else its schedule's
    own (``""``: cron and trigger ticks alike)."""
    return origin if origin.startswith(BACKFILL_PREFIX) else CRON_ORIGIN


def tick_params(
    definition: ScheduleDef, interval_start: int, nominal: int, origin: str = CRON_ORIGIN
) -> dict[str, Any]:
    """The parameters of a tick's run: the schedule's, and the interval's start and end
    (and the triggering run, or the version an alias moved to) for the pipelines that take
    them."""
    bounds = {
        "interval_start": iso_utc(interval_start),
        "interval_end": iso_utc(nominal),
        "upstream_run": origin.removeprefix(AFTER_PREFIX)
        if origin.startswith(AFTER_PREFIX)
        else "",
        "model_version": origin.rpartition(":v")[2] if origin.startswith(ALIAS_PREFIX) else "",
    }
    return {
        **definition.params,
        **{name: bounds[name] for name in definition.interval_params if name in bounds},
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class Launch:
    """A tick whose run a scheduler is to start now: ``legato run TARGET`` with these
    parameters and the tick's run id."""

    tick: Tick
    target: str
    params: Mapping[str, Any]
