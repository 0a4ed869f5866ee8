"""The secret values this process knows: what legato masks in the text it writes and refuses
in the values it records.

A value becomes known when a task reads it (``legato.secret``) or when the run's profile
declares its variable (:func:`watch`, at the start of a run and before each call). Two uses,
one rule each:

- **Text legato writes** about what happened (captured output, errors, reasons it composes)
  is *masked*: :func:`mask` replaces every known value by ``***``. The text is a record of
  events, and a record with ``***`` in it still says what happened.
- **Values handed to legato to record** (run parameters, tracked parameters, metric, tag and
  artifact names, tags, registry fields) are *refused*: :func:`refuse` raises
  :class:`~legato.errors.SecretValueError` naming the call and the field, never the value,
  before anything is stored. A value is data someone will read back and act on (a cache
  key, a resumed run's input, a model version's lineage, ``/metadata``): a ``***`` in its
  place would silently be another value, and the caller would believe the secret recorded.

Inside a task a refusal fails the attempt even if the task catches the exception: the
runtime's error boundary asks :func:`noted` for the refusals of the attempt (see
:func:`noting`), so a ``try``/``except`` around ``log_param`` cannot turn the refusal into
a success that silently lacks the value.

This module sits just above ``config`` (it reads a profile's :class:`SecretRefs`) and below
every layer that records or writes: the registry (L3½) refuses its fields, the runtime (L4)
tracked values and run parameters, and everything that masks sits at the runtime or above.
"""

from __future__ import annotations

import contextvars
import os
import re
import threading
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from legato.config import SecretRefs
from legato.errors import SecretValueError

__all__ = [
    "FIX",
    "MASK",
    "find",
    "label_for",
    "mask",
    "masking",
    "noted",
    "noting",
    "refuse",
    "register",
    "watch",
]

MASK = "***"
"""What a secret's value is replaced by."""

FIX = (
    "Read secrets inside tasks with legato.secret(...) and use them there; never record them "
    "(record the secret's name instead)."
)
"""How to avoid a refusal, in words: what every :class:`SecretValueError` ends with."""

_lock = threading.Lock()
_labels: dict[str, str] = {}  # a registered form of a value -> which secret it is, in words
_pattern: re.Pattern[str] | None = None  # all registered forms, longest first
_numeric = False  # whether a registered form reads as a number (a PIN): numbers are checked
_noted: contextvars.ContextVar[list[SecretValueError] | None] = contextvars.ContextVar(
    "legato_refusals", default=None
)


def label_for(name: str, variable: str) -> str:
    """Which secret a value is, in words (never the value): its name and variable."""
    return f"secret {name!r} (environment variable {variable})"


def register(value: str, label: str = "a secret") -> None:
    """Mask ``value`` from now on in this process: as it is, and as ``repr`` writes it
    inside quotes (tracebacks and logged reprs escape newlines, quotes and backslashes)."""
    global _pattern, _numeric
    forms = {value, repr(value)[1:-1]} - {""}
    with _lock:
        new = forms - _labels.keys()
        if not new:
            return
        for form in new:
            _labels[form] = label
            _numeric = _numeric or _is_number(form)
        ordered = sorted(_labels, key=len, reverse=True)  # a longer value masks whole
        _pattern = re.compile("|".join(map(re.escape, ordered)))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def watch(refs: SecretRefs) -> None:
    """Register the values of every secret ``refs`` declare whose variable is set here."""
    for name, variable in refs.variables:
        value = os.environ.get(variable)
        if value:
            register(value, label_for(name, variable))


def masking() -> bool:
    """Whether any secret value is known in this process (nothing to mask otherwise)."""
    return _pattern is not None


def mask(text: str) -> str:
    """``text`` with every registered secret value replaced by ``***``. Anything legato
    shows a person (the CLI, the UI, ``legato serve``) passes through this."""
    pattern = _pattern
    if pattern is None or not text:
        return text
    return pattern.sub(MASK, text)


def find(value: Any) -> str | None:
    """Which secret ``value`` contains, in words, or None: a string containing a known
    value, a container (dict keys and values, lists, tuples, sets) holding one at any depth,
    or a number equal to one. Other objects are not looked into: they are data, stored as
    given (like a task's outputs)."""
    pattern = _pattern
    if pattern is None:
        return None
    stack = [value]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        if item is None or isinstance(item, bool):
            continue
        if isinstance(item, str | PurePath):
            found = pattern.search(str(item))
            if found:
                return _labels.get(found.group(), "a secret")
        elif isinstance(item, Mapping | list | tuple | set | frozenset):
            if id(item) in seen:  # a container holding itself
                continue
            seen.add(id(item))
            if isinstance(item, Mapping):
                for key, inner in item.items():
                    stack.extend((inner, key))
            else:
                stack.extend(item)
        elif _numeric and isinstance(item, int | float):
            label = _labels.get(str(item))
            if label is not None:
                return label
    return None


def refuse(value: Any, *, api: str, field: str, fix: str = FIX) -> None:
    """Raise :class:`SecretValueError` if ``value`` contains a known secret value (see
    :func:`find`): ``api`` is the call refusing it (``legato.log_param``), ``field`` what
    holds it (``parameter 'token'``), ``fix`` what to do instead. The message names the
    secret by its name and variable, never by its value. Inside a task the refusal is also
    noted for the attempt (:func:`noting`)."""
    label = find(value)
    if label is None:
        return
    error = SecretValueError(
        f"{api}: {field} contains the value of {label}, and legato would store it in "
        f"clear, so it is refused (nothing of it was recorded). {fix}",
        api=api,
        field=field,
        secret=label,
    )
    noted_here = _noted.get()
    if noted_here is not None:
        noted_here.append(error)
    raise error


def noting() -> contextvars.Token[list[SecretValueError] | None]:
    """Start noting the refusals raised in this context (one task attempt); pass the token
    to :func:`noted`."""
    return _noted.set([])


def noted(token: contextvars.Token[list[SecretValueError] | None]) -> SecretValueError | None:
    """Stop noting (see :func:`noting`); the first refusal raised meanwhile, or None."""
    found = _noted.get()
    _noted.reset(token)
    return found[0] if found else None
