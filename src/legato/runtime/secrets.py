"""Secrets: values read from environment variables that the profile names, and masked
wherever legato writes text.

A task reads a secret with :func:`secret` (``legato.secret("db_password")``): the name is
looked up in its run's profile (``[secrets]`` in ``legato.toml``: name -> environment
variable) and the variable is read in the process running the task; a worker process reads
its own environment, inherited from the orchestrator. The value is registered in that process
and :func:`mask` replaces every registered value by ``***``. So are the values of all the
secrets a run's profile declares, when the run starts and before each of its calls, whether
or not a task asks for them (a task reading ``os.environ`` directly is covered too).

legato masks: captured output (before it is stored, and when echoed to the terminal),
recorded errors (message and traceback), and the environment a run records. It refuses run
parameters containing a secret rather than masking them: a run's parameters are its inputs
(cache keys, a resume re-binds them), so a masked parameter would silently change what a
resumed run computes. Tracked values, tags and registry fields are refused for the same
reason (:mod:`legato.secret_values`, where the table of known values lives). Outputs are
data and are stored as returned: do not return a secret.

:func:`secret` is runtime (L4), not a sibling of ``config`` (L0): which secrets a task may
read depends on the run it belongs to, known only from the task context. The values it
registers live one layer above ``config``, in :mod:`legato.secret_values`, because the
registry (below the runtime) refuses them too.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

from legato.config import load_settings
from legato.errors import ConfigError
from legato.model.errors import ErrorInfo
from legato.runtime.context import current_context
from legato.secret_values import MASK, label_for, mask, masking, refuse, register, watch

__all__ = [
    "MASK",
    "check_params",
    "mask",
    "mask_error",
    "mask_values",
    "register",
    "secret",
    "watch",
]


def secret(name: str) -> str:
    """The value of secret ``name``: the environment variable that the run's profile maps
    it to (``[secrets]`` in ``legato.toml``). From then on the value is masked (``***``)
    in everything legato records or prints.

    Outside a run (a task called as a plain function, a notebook) the profile is the one
    :func:`legato.config.load_settings` selects. Raises
    :class:`~legato.errors.ConfigError` naming the secret and the variable if the name is
    not declared or the variable is not set.
    """
    ctx = current_context()
    refs = ctx.secrets if ctx is not None and ctx.secrets is not None else None
    if refs is None:
        refs = load_settings().secret_refs
    variable = refs.variable(name)
    if variable is None:
        prefix = "tool.legato." if refs.source.endswith("pyproject.toml") else ""
        declared = ", ".join(repr(n) for n, _ in refs.variables) or "none"
        where = (
            f"profile {refs.profile!r}"
            if refs.source != "defaults"
            else "any profile (no legato.toml or [tool.legato] was found)"
        )
        raise ConfigError(
            f"secret {name!r} is not declared in {where}; declared: {declared}",
            source=refs.source,
            key=f"{prefix}secrets.{name}",
            expected=f'{name} = "ENVIRONMENT_VARIABLE" under [{prefix}secrets] or '
            f"[{prefix}profiles.{refs.profile}.secrets]",
        )
    value = os.environ.get(variable)
    if not value:
        raise ConfigError(
            f"secret {name!r} is read from environment variable {variable}, which is "
            f"{'empty' if value == '' else 'not set'} in this process (pid {os.getpid()})",
            source="environment",
            key=variable,
            expected=f"{variable} set to the value of secret {name!r} where the run starts "
            f"(declared in {refs.source})",
        )
    register(value, label_for(name, variable))
    return value


def mask_error(error: ErrorInfo) -> ErrorInfo:
    """``error`` with secret values masked in its message and traceback."""
    if not masking():
        return error
    message, trace = mask(error.message), mask(error.traceback)
    if message == error.message and trace == error.traceback:
        return error
    return dataclasses.replace(error, message=message, traceback=trace)


def mask_values(value: Any) -> Any:
    """A copy of a JSON-like structure (dicts, lists, tuples, strings) with secret values
    masked in every string."""
    if not masking():
        return value
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {mask_values(k): mask_values(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(mask_values(v) for v in value)
    return value


def check_params(params: Mapping[str, Any] | None) -> None:
    """Refuse run parameters that contain a registered secret value (anywhere in a string,
    or equal to it for a number): they would be stored in the run record in clear."""
    if not isinstance(params, Mapping):
        return
    for name, value in params.items():
        refuse(
            value,
            api="legato.run",
            field=f"parameter {name!r}",
            fix="Leave it out of the parameters and read it inside the task with "
            "legato.secret(...).",
        )
