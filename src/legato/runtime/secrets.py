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
resumed run computes. Outputs are data and are stored as returned: do not return a secret.

This module is runtime (L4), not a sibling of ``config`` (L0): which secrets a task may read
depends on the run it belongs to, known only from the task context, and everything that
masks (output capture, the error boundary, workers, the engine, the CLI) sits at this layer
or above.
"""

from __future__ import annotations

import dataclasses
import os
import re
import threading
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from legato.config import SecretRefs, load_settings
from legato.errors import ConfigError, ParameterError
from legato.model.errors import ErrorInfo
from legato.runtime.context import current_context

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

MASK = "***"
"""What a secret's value is replaced by."""

_lock = threading.Lock()
_labels: dict[str, str] = {}  # a registered form of a value -> which secret it is, in words
_pattern: re.Pattern[str] | None = None  # all registered forms, longest first


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
    register(value, _label(name, variable))
    return value


def _label(name: str, variable: str) -> str:
    return f"secret {name!r} (environment variable {variable})"


def register(value: str, label: str = "a secret") -> None:
    """Mask ``value`` from now on in this process: as it is, and as ``repr`` writes it
    inside quotes (tracebacks and logged reprs escape newlines, quotes and backslashes)."""
    global _pattern
    forms = {value, repr(value)[1:-1]} - {""}
    with _lock:
        new = forms - _labels.keys()
        if not new:
            return
        for form in new:
            _labels[form] = label
        ordered = sorted(_labels, key=len, reverse=True)  # a longer value masks whole
        _pattern = re.compile("|".join(map(re.escape, ordered)))


def watch(refs: SecretRefs) -> None:
    """Register the values of every secret ``refs`` declare whose variable is set here."""
    for name, variable in refs.variables:
        value = os.environ.get(variable)
        if value:
            register(value, _label(name, variable))


def mask(text: str) -> str:
    """``text`` with every registered secret value replaced by ``***``. Anything legato
    shows a person (the CLI, the UI) passes through this."""
    pattern = _pattern
    if pattern is None or not text:
        return text
    return pattern.sub(MASK, text)


def mask_error(error: ErrorInfo) -> ErrorInfo:
    """``error`` with secret values masked in its message and traceback."""
    if _pattern is None:
        return error
    message, trace = mask(error.message), mask(error.traceback)
    if message == error.message and trace == error.traceback:
        return error
    return dataclasses.replace(error, message=message, traceback=trace)


def mask_values(value: Any) -> Any:
    """A copy of a JSON-like structure (dicts, lists, tuples, strings) with secret values
    masked in every string."""
    if _pattern is None:
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
    if _pattern is None or not isinstance(params, Mapping):
        return
    for name, value in params.items():
        label = _contained(value)
        if label is not None:
            raise ParameterError(
                f"parameter {name!r} contains the value of {label}: run parameters are "
                "stored in clear, so legato refuses it. Leave it out of the parameters and "
                f"read it inside the task with legato.secret(...)"
            )


def _contained(value: Any) -> str | None:
    pattern = _pattern
    if pattern is None or value is None or isinstance(value, bool):
        return None
    if isinstance(value, str | PurePath):
        found = pattern.search(str(value))
        return _labels.get(found.group()) if found else None
    if isinstance(value, dict):
        for key, item in value.items():
            label = _contained(key) or _contained(item)
            if label is not None:
                return label
        return None
    if isinstance(value, list | tuple | set | frozenset):
        for item in value:
            label = _contained(item)
            if label is not None:
                return label
        return None
    return _labels.get(str(value))  # a number equal to a secret, say
