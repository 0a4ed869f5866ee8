"""A run's event log as the API pages it: the events after a sequence number, as the
codec writes them, with outputs reduced to their metadata (inline bytes are a stored
object's, and are never shown)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from legato.model.codec import event_to_dict
from legato.model.events import Event
from legato.store.base import RunStore

__all__ = ["MAX_EVENTS", "EventPage", "event_page", "shown_event"]

MAX_EVENTS = 1000
"""The most events one page holds."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EventPage:
    """Events after ``after_seq``, in order; ``more`` when the log holds more after them."""

    run_id: str
    after_seq: int
    events: tuple[dict[str, Any], ...]
    more: bool


def shown_event(event: Event) -> dict[str, Any]:
    """``event`` as JSON, its output without inline bytes."""
    out = event_to_dict(event)
    output = out.get("output")
    if isinstance(output, dict):
        out["output"] = {k: v for k, v in output.items() if k not in ("inline", "location")}
    return out


def event_page(store: RunStore, run_id: str, *, after_seq: int, limit: int) -> EventPage:
    """Up to ``limit`` (at most :data:`MAX_EVENTS`) events of run ``run_id`` after
    ``after_seq``."""
    info = store.get_run(run_id)
    size = min(max(limit, 1), MAX_EVENTS)
    found = store.read_events(info.run_id, after_seq=max(after_seq, 0), limit=size + 1)
    return EventPage(
        run_id=info.run_id,
        after_seq=after_seq,
        events=tuple(shown_event(e) for e in found[:size]),
        more=len(found) > size,
    )
