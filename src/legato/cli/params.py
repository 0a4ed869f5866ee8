"""``-p name=value`` on the command line, parsed against the pipeline's signature.

The text after ``=`` becomes a value of the parameter's annotated type: ``int``, ``float``,
``bool`` (true/false, 1/0, yes/no, on/off), ``str``, paths, enums (by name or value),
``Literal`` choices, ``datetime``/``date``/``time`` in ISO form, lists, tuples and dicts as
JSON (``[1, 2]``, ``{"a": 1}``; their items are converted by the same rules), ``TypedDict``
as a JSON object (its keys checked, its values converted), and ``X | None`` (``none`` or
``null`` for None). An unannotated parameter takes the type of its default; without either
the text is passed as it is. A class the command line has no form for (a dataclass, a
pydantic model, any other object) is refused, never handed over as text: run parameters are
data, stored with the run (``legato.define.params``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import json
import types
import typing
from collections.abc import Sequence
from enum import Enum
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, Literal, Union

from legato.cli.exits import USAGE, CommandError
from legato.query.param_types import (
    DICTS,
    LISTS,
    MISSING,
    describe_type,
    parameter_types,
    type_name,
    typeddict_fields,
    unwrap,
)

if TYPE_CHECKING:
    from legato.define.pipeline import Pipeline

__all__ = ["NoFormError", "describe_params", "describe_type", "parse_params", "parse_value"]

_TRUE = frozenset({"true", "1", "yes", "y", "on"})
_FALSE = frozenset({"false", "0", "no", "n", "off"})
_NONE = frozenset({"none", "null"})


def parse_params(pipeline: Pipeline[..., Any], pairs: Sequence[str]) -> dict[str, Any]:
    """The run parameters given as ``name=value`` texts, converted to their types. Unknown
    names, malformed pairs and bad values raise :class:`CommandError` (exit status 2);
    missing required parameters are left for the pipeline to report."""
    specs = {spec.name: spec for spec in pipeline.params}
    types_ = parameter_types(pipeline)
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise CommandError(
                f"-p {pair!r}: give a parameter as -p name=value "
                f"(parameters of {pipeline.name!r}: {describe_params(pipeline)})",
                USAGE,
            )
        if name not in specs and name.replace("-", "_") in specs:
            name = name.replace("-", "_")
        if name not in specs:
            close = difflib.get_close_matches(name, list(specs), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise CommandError(
                f"pipeline {pipeline.name!r} has no parameter {name!r}{hint}; "
                f"its parameters: {describe_params(pipeline)}",
                USAGE,
            )
        if name in out:
            raise CommandError(f"parameter {name!r} is given twice", USAGE)
        annotation = types_[name]
        try:
            out[name] = parse_value(text, annotation)
        except NoFormError as exc:
            raise CommandError(
                _no_form(pipeline.name, name, annotation, exc.annotation), USAGE
            ) from None
        except ValueError as exc:
            detail = f" ({exc})" if str(exc) else ""
            raise CommandError(
                f"parameter {name!r} of pipeline {pipeline.name!r} expects "
                f"{describe_type(annotation)}, not {text!r}{detail}",
                USAGE,
            ) from None
    return out


class NoFormError(Exception):
    """``annotation`` is a class that no command-line text converts to."""

    def __init__(self, annotation: Any) -> None:
        super().__init__(annotation)
        self.annotation = annotation


def _no_form(pipeline: str, name: str, declared: Any, annotation: Any) -> str:
    """Why parameter ``name``, declared ``declared``, cannot be given: it is, or holds, a
    class (``annotation``) that is not data."""
    kind = " (a dataclass)" if dataclasses.is_dataclass(annotation) else ""
    named = type_name(annotation)
    what = (
        f"is a {named}{kind}"
        if unwrap(declared) is annotation
        else f"({type_name(declared)}) holds {named} values{kind}"
    )
    return (
        f"parameter {name!r} of pipeline {pipeline!r} {what}, which a run cannot take: run "
        "parameters are data, stored with the run (text, numbers, bool, lists, dicts, paths, "
        "dates, enums). Declare it as dict[str, Any] or a TypedDict (given as JSON: "
        f"-p {name}='{{\"key\": 1}}') and build the {named} from it inside a task"
    )


def describe_params(pipeline: Pipeline[..., Any]) -> str:
    """``n: int = 3, data: Path (required)``, or ``none``."""
    types_ = parameter_types(pipeline)
    parts = []
    for spec in pipeline.params:
        annotation = types_[spec.name]
        text = spec.name if annotation is MISSING else f"{spec.name}: {type_name(annotation)}"
        text += " (required)" if spec.required else f" = {spec.default!r}"
        parts.append(text)
    return ", ".join(parts) or "none"


def parse_value(value: Any, annotation: Any) -> Any:
    """``value`` (command-line text, or an item of a parsed JSON list or object) as a value
    of ``annotation``; ``ValueError`` when it is not one."""
    annotation = unwrap(annotation)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    text = value if isinstance(value, str) else None
    if annotation is MISSING or annotation is Any or annotation is object:
        return value
    if origin in (Union, types.UnionType):
        return _union(value, args)
    if origin is Literal:
        for choice in args:
            if value == choice or (text is not None and text == str(choice)):
                return choice
        raise ValueError("")
    if annotation in LISTS or origin in LISTS:
        return _sequence(value, origin or annotation, args)
    if annotation in DICTS or origin in DICTS:
        items = _json(value, dict)
        item_type = args[1] if len(args) == 2 else MISSING
        return {str(k): parse_value(v, item_type) for k, v in items.items()}
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if text is not None and text.strip().lower() in _TRUE | _FALSE:
            return text.strip().lower() in _TRUE
        raise ValueError("")
    if annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if text is not None:
            return int(text.strip())
        raise ValueError("")
    if annotation is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if text is not None:
            return float(text.strip())
        raise ValueError("")
    if annotation is str:
        if text is None:
            raise ValueError("")
        return text
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return _enum(value, annotation)
    if annotation in (dt.datetime, dt.date, dt.time):
        if text is None:
            raise ValueError("")
        return annotation.fromisoformat(text.strip())
    if isinstance(annotation, type) and issubclass(annotation, PurePath):
        if text is None:
            raise ValueError("")
        return annotation(text)
    if typing.is_typeddict(annotation):
        return _typed_dict(value, annotation)
    if isinstance(annotation, type) and not isinstance(value, annotation):
        raise NoFormError(annotation)
    return value  # a form not checked here (a TypeVar...): the pipeline checks it


def _union(value: Any, args: tuple[Any, ...]) -> Any:
    none = value is None or (isinstance(value, str) and value.strip().lower() in _NONE)
    if none and type(None) in args:
        return None
    unbuildable: NoFormError | None = None
    for option in args:
        if option is type(None):
            continue
        try:
            return parse_value(value, option)
        except NoFormError as exc:
            unbuildable = unbuildable or exc
        except ValueError:
            continue
    if unbuildable is not None:
        raise unbuildable
    raise ValueError("")


def _required_keys(typed_dict: Any) -> list[str]:
    """The keys a value of ``typed_dict`` must have. ``Required``/``NotRequired`` are read
    from the resolved annotations: a module with ``from __future__ import annotations``
    hides them from the class itself, which then counts every key as required."""
    hints = typing.get_type_hints(typed_dict, include_extras=True)
    required = []
    for key, hint in hints.items():
        marker = typing.get_origin(hint)
        if marker is typing.Required or (
            marker is not typing.NotRequired and key in typed_dict.__required_keys__
        ):
            required.append(key)
    return required


def _typed_dict(value: Any, typed_dict: Any) -> dict[str, Any]:
    items = _json(value, dict)
    fields = typeddict_fields(typed_dict)
    unknown = [key for key in items if key not in fields]
    if unknown:
        raise ValueError(f"no key {unknown[0]!r}; its keys: {', '.join(fields)}")
    missing = [key for key in _required_keys(typed_dict) if key not in items]
    if missing:
        raise ValueError(f"key {missing[0]!r} is missing")
    out: dict[str, Any] = {}
    for key, item in items.items():
        try:
            out[key] = parse_value(item, fields[key])
        except _FieldError as inner:  # a nested TypedDict: the path to its key
            raise _FieldError(f"{key}.{inner.path}", inner.problem) from None
        except ValueError:
            raise _FieldError(key, f"must be {describe_type(fields[key])}, not {item!r}") from None
    return out


class _FieldError(ValueError):
    """A key of a TypedDict value (``path``: ``limits.depth`` when nested) is wrong."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path} {problem}")
        self.path = path
        self.problem = problem


def _sequence(value: Any, kind: Any, args: tuple[Any, ...]) -> Any:
    items = _json(value, list)
    if kind is tuple and args and args[-1] is not Ellipsis:
        if len(items) != len(args):
            raise ValueError(f"{len(args)} items needed, {len(items)} given")
        return tuple(parse_value(v, a) for v, a in zip(items, args, strict=True))
    item_type = args[0] if args else MISSING
    converted = [parse_value(v, item_type) for v in items]
    return tuple(converted) if kind is tuple else converted


def _json(value: Any, kind: type) -> Any:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON: {exc.msg}") from None
    if not isinstance(value, kind):
        raise ValueError(f"a JSON {'list' if kind is list else 'object'} is needed")
    return value


def _enum(value: Any, enum: type[Enum]) -> Enum:
    if isinstance(value, str):
        text = value.strip()
        if text in enum.__members__:
            return enum[text]
        for member in enum:
            if str(member.value) == text or member.name.lower() == text.lower():
                return member
    else:
        for member in enum:
            if member.value == value:
                return member
    raise ValueError("")
