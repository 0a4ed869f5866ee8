"""What a run store says when it refuses a write: written once for every backend (the SQL
store, its append process, the in-memory store)."""

from __future__ import annotations

from legato.model.runs import RunInfo

__all__ = ["fenced_message", "unknown_run_message"]


def unknown_run_message(run_id: str, url: str) -> str:
    """Why ``run_id`` was not found, and what to do."""
    return (
        f"no run has id {run_id!r} in the run store at {url}: check the id "
        "(`legato runs list` shows the newest runs) or point legato at the store that holds "
        "it (--profile, LEGATO_HOME)"
    )


def fenced_message(run_id: str, info: RunInfo) -> str:
    """Who owns the run now (``info``), for an orchestrator that no longer does."""
    return (
        f"run {run_id!r} was taken over by another orchestrator (owner {info.owner!r}, "
        f"epoch {info.epoch}); this one must stop writing to it"
    )
