"""The values the command's options accept, derived from the model, so an option cannot
fall behind what the engine records (a new run state is a new ``--state`` choice).

Light on purpose: :mod:`legato.cli.app` imports it for every command, ``--help`` included.
"""

from __future__ import annotations

from legato.model.states import RunState

__all__ = ["CRASHED", "RUN_STATES"]

CRASHED = "crashed"
"""How a run that has not ended but whose orchestrator stopped beating is shown. The store
records no such state: the CLI derives it from the heartbeat (``runs.shown_state``)."""

RUN_STATES = (*(state.value for state in RunState), CRASHED)
"""What ``legato runs --state`` filters on: every :class:`RunState`, and ``crashed``."""
