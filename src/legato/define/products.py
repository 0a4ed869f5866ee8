"""Maps over every combination of several lists: ``train.map(product(alphas, ratios))``.

A product is a marker around lists, like :func:`~legato.keyed`: its lists are crossed
(``itertools.product`` order: the last list varies fastest) into one list per parameter,
which the map then pairs by position as it pairs any lists. Its items are named by what
they were given: ``train[alpha=0.1,l1_ratio=0.5]``, the parameter names read from the
task's signature. The lists must be known when the pipeline is defined (literal lists):
the orchestrator names and counts the items before the run, and a run parameter or a task
output would make both depend on values that exist only later.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from legato.define.graph import ItemKeys, MapSpec
from legato.errors import DefinitionError
from legato.model.ids import SourceLocation
from legato.model.items import ItemKeyError, check_item_keys, item_key_of
from legato.model.specs import user_location

__all__ = ["Product", "ProductKeys", "crossed_keys", "expand_products", "product"]


class Product:
    """Marks lists of ``task.map(...)`` that are crossed rather than paired."""

    __slots__ = ("lists", "names")

    def __init__(self, lists: tuple[Any, ...], names: tuple[str, ...] | None) -> None:
        self.lists = lists
        self.names = names
        """The parameters the lists go to, when given by keyword."""

    def __repr__(self) -> str:
        if self.names is None:
            return f"product({', '.join(map(repr, self.lists))})"
        pairs = zip(self.names, self.lists, strict=True)
        return f"product({', '.join(f'{n}={v!r}' for n, v in pairs)})"


def product(*lists: Any, **named: Any) -> Product:
    """Map over every combination of ``lists``: ``train.map(product(alphas, ratios), data)``
    calls ``train(alpha, ratio, data)`` once per pair, ``len(alphas) * len(ratios)`` items
    named ``train[alpha=0.1,l1_ratio=0.5]`` after the task's parameters. Positional lists
    go to consecutive parameters from where the product stands; keyword lists
    (``product(alpha=alphas, l1_ratio=ratios)``) to the parameters they name. The lists
    are literal lists of ``str``, ``int`` or ``float`` values (the items' names)."""
    if lists and named:
        raise DefinitionError(
            "product() was given lists both by position and by keyword",
            fix="write product(alphas, ratios) or product(alpha=alphas, l1_ratio=ratios)",
            location=user_location(),
        )
    given = lists or tuple(named.values())
    if len(given) < 1:
        raise DefinitionError(
            "product() was given no list",
            fix="write product(alphas, ratios): the lists whose combinations the map runs",
            location=user_location(),
        )
    return Product(tuple(given), tuple(named) if named else None)


@dataclass(frozen=True, slots=True)
class ProductKeys:
    """Where a product went in a call: the arguments its lists became, and the item keys."""

    args: tuple[int | str, ...]
    keys: tuple[str, ...]


def expand_products(
    task: str, signature: inspect.Signature, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any], ProductKeys | None]:
    """``args`` and ``kwargs`` with a product replaced by its crossed lists, and where they
    went; raises :class:`~legato.errors.DefinitionError` (without a location: the caller
    adds the line) for a product that cannot be crossed."""
    where = [i for i, a in enumerate(args) if isinstance(a, Product)]
    named = [k for k, v in kwargs.items() if isinstance(v, Product)]
    if not where and not named:
        return args, kwargs, None
    if len(where) + len(named) > 1:
        raise _error(
            task,
            f"{task}.map(...) was given more than one product(...)",
            "put every list to cross in one product(...)",
        )
    marker = args[where[0]] if where else kwargs[named[0]]
    assert isinstance(marker, Product)
    params = list(signature.parameters)
    if marker.names is not None:
        names = list(marker.names)
    else:
        start = where[0] if where else None
        if start is None:
            raise _error(
                task,
                f"{named[0]}=product(...) of {task}.map(...) gives its lists no parameters",
                "write product(alpha=alphas, l1_ratio=ratios) to name them, or pass "
                "product(alphas, ratios) by position",
            )
        names = params[start : start + len(marker.lists)]
        if len(names) < len(marker.lists):
            raise _error(
                task,
                f"product(...) in {task}.map(...) has {len(marker.lists)} lists but {task} "
                f"has only {len(names)} parameters from there on",
                "cross as many lists as the task has parameters to fill",
            )
    columns = _columns(task, names, marker.lists)
    rows = list(itertools.product(*columns))
    crossed = [list(col) for col in zip(*rows, strict=True)] if rows else [[] for _ in names]
    try:
        keys = check_item_keys(
            ",".join(f"{n}={item_key_of(v)}" for n, v in zip(names, row, strict=True))
            for row in rows
        )
    except ItemKeyError as exc:
        raise _error(task, f"{task}.map(product(...)): {exc}", exc.fix) from None
    if marker.names is not None or not where:
        args = tuple(a for a in args if a is not marker)
        kwargs = {k: v for k, v in kwargs.items() if k not in named}
        kwargs.update(zip(names, crossed, strict=True))
        return args, kwargs, ProductKeys(tuple(names), keys)
    start = where[0]
    args = (*args[:start], *crossed, *args[start + 1 :])
    return args, kwargs, ProductKeys(tuple(range(start, start + len(names))), keys)


def crossed_keys(
    task: str,
    spec: MapSpec,
    crossed: ProductKeys,
    pipeline: str,
    location: SourceLocation | None,
) -> MapSpec:
    """``spec`` with its items named by the product's keys."""
    if spec.keys is not None:
        raise DefinitionError(
            f"{task}.map(...) was given both product(...) and keyed(...); a product names "
            "its items itself",
            fix="leave keyed(...) out (the items are named alpha=...,l1_ratio=...), or put "
            "that list in the product",
            task=task,
            pipeline=pipeline,
            location=location,
        )
    keys = ItemKeys(args=crossed.args, by=tuple(None for _ in crossed.args), known=crossed.keys)
    return replace(spec, keys=keys)


def _columns(task: str, names: Sequence[str], lists: Sequence[Any]) -> list[list[Any]]:
    columns = []
    for name, values in zip(names, lists, strict=True):
        if not isinstance(values, list | range | tuple):
            raise _error(
                task,
                f"product(...) in {task}.map(...) was given {_shown(values)} for {name!r}; "
                "it crosses lists known when the pipeline is defined",
                "pass literal lists; to cross lists known only at run time, build the "
                "combinations in a task and map over its output",
            )
        for value in values:
            try:
                item_key_of(value)
            except ItemKeyError:
                raise _error(
                    task,
                    f"product(...) in {task}.map(...) was given {_shown(value)} for {name!r}, "
                    f"which cannot name an item ({name}=...): only str, int and float "
                    "values can",
                    "cross lists of str, int or float values (e.g. names or indices), and "
                    "look the objects up inside the task",
                ) from None
        columns.append(list(values))
    return columns


def _error(task: str, problem: str, fix: str) -> DefinitionError:
    return DefinitionError(problem, fix=fix, task=task)


def _shown(value: Any) -> str:
    describe = getattr(value, "_describe", None)
    if callable(describe):
        return str(describe())
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
