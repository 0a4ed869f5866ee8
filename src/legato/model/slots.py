"""Construction of frozen, slotted dataclasses without ``object.__setattr__``.

A frozen dataclass's generated ``__init__`` stores each field with ``object.__setattr__``: it
must step around the class's own ``__setattr__``, which refuses every write, and pays a
global lookup and a generic attribute write per field. The engine builds some seventeen
records per task (task records, events, calls, outcomes, artifact references, values), so a
fan-out of a million items spends a visible share of its time in those writes. A slotted
class has a descriptor per field whose ``__set__`` writes the slot directly;
:func:`slot_init` gives a class an ``__init__`` that does so, with the parameters, defaults
and ``__post_init__`` call of the dataclass's own. Everything else (equality, hashing,
``repr``, pickling, the refusal of later writes) is the dataclass's, unchanged.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

__all__ = ["slot_init"]

T = TypeVar("T")

_NO_DEFAULT: Any = dataclasses.MISSING


def slot_init(cls: type[T]) -> type[T]:
    """Replace the ``__init__`` of ``cls`` (a frozen dataclass with ``slots=True``) by one
    that writes the slots through their descriptors; applied above ``@dataclass``."""
    params = dataclasses.fields(cls)  # type: ignore[arg-type]
    frozen = cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
    if not frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__qualname__}: slot_init is for frozen dataclasses with slots")
    scope: dict[str, Any] = {"_cls": cls, "_MISSING": dataclasses.MISSING}
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
    for i, f in enumerate(params):
        if isinstance(f.type, dataclasses.InitVar):
            raise TypeError(f"{cls.__qualname__}: slot_init does not handle InitVar fields")
        scope[f"_set{i}"] = _slot(cls, f.name).__set__
        value = f.name
        if f.default is not _NO_DEFAULT:
            scope[f"_default{i}"] = f.default
            param = f"{f.name}=_default{i}"
            value = f.name if f.init else f"_default{i}"
        elif f.default_factory is not _NO_DEFAULT:
            scope[f"_factory{i}"] = f.default_factory
            param = f"{f.name}=_MISSING"
            if f.init:
                value = f"_factory{i}() if {f.name} is _MISSING else {f.name}"
            else:
                value = f"_factory{i}()"
        elif not f.init:  # set by __post_init__, if at all: the dataclass leaves it alone
            continue
        else:
            param = f.name
        if f.init:
            (keyword if f.kw_only else positional).append(param)
        body.append(f"    _set{i}(self, {value})")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    signature = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    source = f"def __init__({signature}):\n" + ("\n".join(body) or "    pass") + "\n"
    exec(source, scope)
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


def _slot(cls: type, name: str) -> Any:
    """The slot descriptor of field ``name`` (on ``cls`` or the base class that declares it)."""
    for klass in cls.__mro__:
        found = klass.__dict__.get(name)
        if found is not None and hasattr(found, "__set__"):
            return found
    raise TypeError(f"{cls.__qualname__}.{name} has no slot")
