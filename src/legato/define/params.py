"""Run parameters: checked against the pipeline's signature and kept storable."""

from __future__ import annotations

import datetime as dt
import difflib
import math
from collections.abc import Mapping, Sequence
from enum import Enum
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from legato.errors import ParameterError

if TYPE_CHECKING:
    from legato.define.graph import ParamSpec

__all__ = ["check_params", "unstorable_part"]

_SCALARS = (str, int, float, bool, type(None), PurePath, dt.date, dt.datetime, dt.time, Enum)


def unstorable_part(value: Any, where: str = "") -> str | None:
    """Where inside ``value`` something is that a run record cannot store as data, or None.

    Storable: JSON values (str, numbers, bool, None, lists, tuples, dicts with str keys),
    paths, dates and times, and enum members.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return None  # NaN/inf are stored as strings; allowed
    if isinstance(value, _SCALARS):
        return None
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = unstorable_part(item, f"{where}[{i}]")
            if found is not None:
                return found
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{where} (key {key!r} is not a str)"
            found = unstorable_part(item, f"{where}[{key!r}]")
            if found is not None:
                return found
        return None
    return f"{where} ({type(value).__module__}.{type(value).__qualname__})"


def _error(problem: str, fix: str) -> ParameterError:
    # Rendered like a DefinitionError, so a terminal user sees the fix without a traceback.
    return ParameterError(f"{problem}\n  fix: {fix}")


def check_params(
    pipeline: str, specs: Sequence[ParamSpec], given: Mapping[str, Any]
) -> dict[str, Any]:
    """Bind ``given`` to the pipeline's parameters, with defaults; raise
    :class:`~legato.errors.ParameterError` naming the parameter and the fix."""
    known = {p.name: p for p in specs}
    unknown = [name for name in given if name not in known]
    if unknown:
        names = ", ".join(known) or "none"
        close = difflib.get_close_matches(str(unknown[0]), list(known), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise _error(
            f"pipeline {pipeline!r} has no parameter {unknown[0]!r} (its parameters: {names})",
            f"{hint}pass only the pipeline's parameters, or add {unknown[0]!r} to the "
            "pipeline function's signature",
        )
    out: dict[str, Any] = {}
    for spec in specs:
        if spec.name in given:
            value = given[spec.name]
        elif spec.required:
            raise _error(
                f"pipeline {pipeline!r} needs parameter {spec.name!r}",
                f"pass it as params={{{spec.name!r}: ...}} (or -p {spec.name}=... on the "
                "command line), or give it a default in the pipeline's signature",
            )
        else:
            value = spec.default
        bad = unstorable_part(value, spec.name)
        if bad is not None:
            where = "" if spec.name in given else "the default of "
            raise _error(
                f"{where}parameter {bad} of pipeline {pipeline!r} cannot be stored with the "
                "run: parameters must be data (str, numbers, bool, None, lists, dicts with str "
                "keys, paths, dates)",
                "pass a path or a name and build the object inside a task",
            )
        out[spec.name] = value
    return out
