"""The task keys of map items: ``train[0]`` by position, ``train[linear]`` by item key.

A map's items are numbered unless the map names them (``task.map(keyed(values))``): each item
then has an *item key*, a short text made from its value, and its task key is
``<map>[<item key>]`` everywhere a task key appears (records, events, logs, the cache's notes,
the CLI, run comparisons). An item key must be usable as part of a task key: the rules are
here, once, for the definition, the plan and the stores to share.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final

__all__ = [
    "MAX_ITEM_KEY",
    "ItemKeyError",
    "check_item_keys",
    "each_item_key",
    "item_key",
    "item_key_of",
    "item_keys",
]

MAX_ITEM_KEY: Final = 64
"""The longest item key, in characters: it is shown in tables and typed in commands."""

_REFUSED: Final = frozenset("[]/")
"""Characters a task key gives a meaning to: brackets delimit an item (``a[b][c]`` would be
ambiguous) and a slash separates a run from a task in artifact producers."""


class ItemKeyError(ValueError):
    """A map's item keys cannot be used: one is unusable, or two items share one. The
    message says which and why; :attr:`fix` how to mend it."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.fix = fix


def item_key(key: str, item: int | str) -> str:
    """The task key of an item of the map ``key``: ``item`` is its position, or its item
    key when the map names its items."""
    return f"{key}[{item}]"


def item_keys(key: str, count: int, keys: Sequence[str] = ()) -> list[str]:
    """The task keys of the ``count`` items of the map ``key``: by item key where ``keys``
    names them, else by position."""
    return list(each_item_key(key, count, keys))


def each_item_key(key: str, count: int, keys: Sequence[str] = ()) -> Iterator[str]:
    """:func:`item_keys` one at a time, for a reader that keeps none of them."""
    if keys:
        return (f"{key}[{k}]" for k in keys)
    return (f"{key}[{i}]" for i in range(count))


def item_key_of(value: Any) -> str:
    """The item key a value gives by itself: a ``str`` as it is, an ``int`` or a ``float``
    as its decimal text. Anything else has no text that is both readable and the same in
    every process (``repr`` of most objects holds an address), so it needs ``by=``."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)
    raise ItemKeyError(
        f"a {type(value).__name__} ({_shown(value)}) is not an item key",
        "give keyed(..., by=...) a function that returns a str for each item, e.g. "
        "by=lambda config: config['name']",
    )


def check_item_keys(keys: Iterable[str], *, values: Sequence[Any] | None = None) -> tuple[str, ...]:
    """``keys`` as a tuple, checked: each usable as part of a task key, no two the same.
    ``values`` (the items the keys were made from) make the messages name the items."""
    checked: tuple[str, ...] = tuple(keys)
    first: dict[str, int] = {}
    for i, key in enumerate(checked):
        problem = _problem(key)
        if problem is not None:
            raise ItemKeyError(
                f"item {i}{_of(values, i)} has the key {_shown(key)}, which {problem}",
                "item keys are at most "
                f"{MAX_ITEM_KEY} characters, without '[', ']', '/', control characters or "
                "spaces at either end: pass by= a function that makes such a key from the "
                "item (e.g. by=lambda v: v.replace('/', '-'))",
            )
        earlier = first.setdefault(key, i)
        if earlier != i:
            raise ItemKeyError(
                f"items {earlier}{_of(values, earlier)} and {i}{_of(values, i)} have the same "
                f"key {_shown(key)}; the items of a map need keys of their own",
                "map over distinct values, or pass by= a function that tells them apart",
            )
    return checked


def _problem(key: Any) -> str | None:
    """Why ``key`` cannot be an item key, or None."""
    if not isinstance(key, str):
        return f"is a {type(key).__name__}, not a str"
    if not key:
        return "is empty"
    if len(key) > MAX_ITEM_KEY:
        return f"is {len(key)} characters long (at most {MAX_ITEM_KEY})"
    refused = sorted({c for c in key if c in _REFUSED})
    if refused:
        return f"holds {' and '.join(repr(c) for c in refused)}"
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in key):
        return "holds a control character"
    if key != key.strip():
        return "starts or ends with a space"
    return None


def _of(values: Sequence[Any] | None, i: int) -> str:
    return "" if values is None else f" ({_shown(values[i])})"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
