"""The values the command's options accept, derived from the model and the settings' names,
so an option cannot fall behind what the engine records or accepts (a new run state is a new
``--state`` choice, a new executor a new ``--executor`` one).

Light on purpose: :mod:`legato.cli.commands` imports it for every command, ``--help`` included.
"""

from __future__ import annotations

from legato.choices import ExecutorName
from legato.model.states import CRASHED, RUN_STATES_SHOWN, TaskState

__all__ = ["CRASHED", "EXECUTORS", "RUN_STATES", "TASK_STATES"]

RUN_STATES = RUN_STATES_SHOWN
"""What ``legato runs --state`` filters on: every run state, and ``crashed``."""

TASK_STATES = tuple(state.value for state in TaskState)
"""What ``legato runs show --tasks --state`` filters on: every task state."""

EXECUTORS = tuple(name.value for name in ExecutorName)
"""The names ``--executor`` takes, as its help lists them. The command checks none itself:
it passes the name to ``legato.run``, whose error (``unknown executor``, with the names)
it prints like any other usage error."""
