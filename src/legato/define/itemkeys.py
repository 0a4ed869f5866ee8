"""Making a map's item keys from its ``keyed(...)`` arguments.

Item keys are made by the orchestrator before any item runs, from values it holds without
loading anything: literal lists (as the pipeline is traced, so a bad key is a
``DefinitionError`` pointing at the line), run parameters (as a run is planned, a
``ParameterError`` before the run exists) and the item keys of another keyed map. The
output of a task is not among them: its items exist only as stored artifacts or in worker
processes, and reading them in the orchestrator to name the items would load every item's
data there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from legato.define.graph import ItemKeys
from legato.model.items import ItemKeyError, check_item_keys, item_key_of

__all__ = ["Inherited", "make_item_keys"]


@dataclass(frozen=True, slots=True)
class Inherited:
    """A keyed argument that is the whole output of a keyed map: its items keep that map's
    item keys (``evaluate[linear]`` reads ``train[linear]``)."""

    keys: tuple[str, ...]


def make_item_keys(
    task: str, spec: ItemKeys, sources: Sequence[Sequence[Any] | Inherited]
) -> tuple[str, ...]:
    """The item keys of the map of ``task``: ``sources`` holds, for each keyed argument of
    ``spec`` in order, its list of values or the keys it inherits. Raises
    :class:`~legato.model.items.ItemKeyError`."""
    lengths = {len(s.keys) if isinstance(s, Inherited) else len(s) for s in sources}
    if len(lengths) > 1:
        raise ItemKeyError(
            f"{task}.map(...) has keyed lists of different lengths {sorted(lengths)}",
            "map over lists of equal length (items are paired by position)",
        )
    columns = [
        _keys_of(task, where, by, source)
        for where, by, source in zip(spec.args, spec.by, sources, strict=True)
    ]
    keys = [",".join(parts) for parts in zip(*columns, strict=True)]
    shown: list[Any] | None = None
    if not any(isinstance(s, Inherited) for s in sources):
        plain = [list(s) for s in sources if not isinstance(s, Inherited)]
        shown = plain[0] if len(plain) == 1 else list(zip(*plain, strict=True))
    try:
        return check_item_keys(keys, values=shown)
    except ItemKeyError as exc:
        raise ItemKeyError(f"{task}.map(...): {exc}", exc.fix) from None


def _keys_of(task: str, where: int | str, by: Any, source: Sequence[Any] | Inherited) -> list[str]:
    """The keys one keyed argument gives its items."""
    named = f"argument {where + 1}" if isinstance(where, int) else f"{where}="
    if isinstance(source, Inherited):
        if by is not None:
            raise ItemKeyError(
                f"keyed(..., by=...) was given to {named} of {task}.map(...), the output of a "
                "keyed map: by= would need its items' values, which only exist at run time",
                "leave out by=: the items take the item keys of the map they read",
            )
        return list(source.keys)
    out: list[str] = []
    for i, value in enumerate(source):
        made = value
        if by is not None:
            try:
                made = by(value)
            except Exception as exc:
                raise ItemKeyError(
                    f"by= of {named} of {task}.map(...) raised {exc!r} for item {i} "
                    f"({_shown(value)})",
                    "make the function return a key for every item of the list",
                ) from exc
        try:
            out.append(item_key_of(made))
        except ItemKeyError as exc:
            raise ItemKeyError(f"item {i} of {named} of {task}.map(...): {exc}", exc.fix) from None
    return out


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
