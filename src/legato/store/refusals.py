"""What a run store says when it refuses a write, and the rules it refuses by: written once
for every backend (the SQL store, its append process, the in-memory store)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from legato.errors import RunBusyError, StoreError, UnknownRunError
from legato.model.events import Event

if TYPE_CHECKING:  # the append process, which refuses with this module, needs no run records
    from legato.model.runs import RunInfo

__all__ = [
    "busy_message",
    "check_batch",
    "fenced_message",
    "only_match",
    "refuse_take_over",
    "unknown_run_message",
]


def unknown_run_message(run_id: str, url: str) -> str:
    """Why ``run_id`` was not found, and what to do."""
    return (
        f"no run has id {run_id!r} in the run store at {url}: check the id "
        "(`legato runs list` shows the newest runs) or point legato at the store that holds "
        "it (--profile, LEGATO_HOME)"
    )


def fenced_message(run_id: str, owner: str, epoch: int) -> str:
    """Who owns the run now (``owner`` at ``epoch``), for an orchestrator that no longer
    does."""
    return (
        f"run {run_id!r} was taken over by another orchestrator (owner {owner!r}, "
        f"epoch {epoch}); this one must stop writing to it"
    )


def check_batch(run_id: str, last_seq: int, events: Sequence[Event]) -> None:
    """Raise ``StoreError`` unless ``events`` belong to ``run_id`` and number on from
    ``last_seq`` without a gap or a repeat."""
    expected = last_seq
    for event in events:
        expected += 1
        if event.run_id != run_id:
            raise StoreError(
                f"event {event.seq} belongs to run {event.run_id!r}, not {run_id!r}: "
                "append one run's events at a time"
            )
        if event.seq != expected:
            raise StoreError(
                f"event seq {event.seq} does not continue the log of run {run_id!r} "
                f"(expected {expected}); nothing of this batch was written"
            )


def only_match(prefix: str, matches: list[str], url: str) -> str:
    """The one run id in ``matches``, else ``UnknownRunError`` saying what to do."""
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UnknownRunError(unknown_run_message(prefix, url))
    shown = ", ".join(matches[:5]) + (", ..." if len(matches) > 5 else "")
    raise UnknownRunError(
        f"{len(matches)} runs have ids starting with {prefix!r} ({shown}): "
        "give more characters of the id"
    )


def refuse_take_over(info: RunInfo, seen: RunInfo | None, lease: float, now: float) -> None:
    """Raise ``RunBusyError`` unless a taker that read ``seen`` may take the run ``info``
    over at ``now`` (the store's clock): it must still be owned as the taker saw it (a
    compare-and-set: of two takers, the second finds the first), and have ended or its
    owner's lease (``lease`` seconds from its last heartbeat) have expired."""
    if seen is not None and (info.owner, info.epoch) != (seen.owner, seen.epoch):
        raise RunBusyError(
            f"run {info.run_id!r} was taken over by orchestrator {info.owner!r} (epoch "
            f"{info.epoch}) since it was read; it is that one's to continue"
        )
    age = now - info.heartbeat_at
    if lease > 0 and not info.state.is_terminal and age <= lease:  # 0: known gone, at once
        raise RunBusyError(busy_message(info, age))


def busy_message(info: RunInfo, age: float) -> str:
    """Why a live run cannot be taken over."""
    return (
        f"run {info.run_id!r} is still driven by orchestrator {info.owner!r} "
        f"(last heartbeat {age:.1f} s ago); stop it first, or wait until its heartbeat is "
        "stale to resume the run"
    )
