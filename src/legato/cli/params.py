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

import collections.abc
import dataclasses
import datetime as dt
import difflib
import inspect
import json
import types
import typing
from collections.abc import Sequence
from enum import Enum
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, Literal, Union

from legato.cli.exits import USAGE, CommandError

if TYPE_CHECKING:
    from legato.define.pipeline import Pipeline

__all__ = ["NoFormError", "describe_params", "describe_type", "parse_params", "parse_value"]

_MISSING: Any = inspect.Parameter.empty
_TRUE = frozenset({"true", "1", "yes", "y", "on"})
_FALSE = frozenset({"false", "0", "no", "n", "off"})
_NONE = frozenset({"none", "null"})
_LISTS = (list, tuple, set, frozenset, collections.abc.Sequence, collections.abc.Iterable)
_DICTS = (dict, collections.abc.Mapping)


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
    type_name = _type_name(annotation)
    what = (
        f"is a {type_name}{kind}"
        if _unwrap(declared) is annotation
        else f"({_type_name(declared)}) holds {type_name} values{kind}"
    )
    return (
        f"parameter {name!r} of pipeline {pipeline!r} {what}, which a run cannot take: run "
        "parameters are data, stored with the run (text, numbers, bool, lists, dicts, paths, "
        "dates, enums). Declare it as dict[str, Any] or a TypedDict (given as JSON: "
        f"-p {name}='{{\"key\": 1}}') and build the {type_name} from it inside a task"
    )


def parameter_types(pipeline: Pipeline[..., Any]) -> dict[str, Any]:
    """The type of each run parameter: its annotation (string annotations resolved), or the
    type of its default, or ``_MISSING``."""
    try:
        hints = typing.get_type_hints(pipeline.fn)
    except Exception:  # an annotation naming something that is not importable here
        hints = {}
    out: dict[str, Any] = {}
    for spec in pipeline.params:
        annotation = hints.get(spec.name, spec.annotation)
        if isinstance(annotation, str):
            annotation = _MISSING
        if annotation is _MISSING and spec.default not in (_MISSING, None):
            annotation = type(spec.default)
        out[spec.name] = annotation
    return out


def describe_params(pipeline: Pipeline[..., Any]) -> str:
    """``n: int = 3, data: Path (required)``, or ``none``."""
    types_ = parameter_types(pipeline)
    parts = []
    for spec in pipeline.params:
        annotation = types_[spec.name]
        text = spec.name if annotation is _MISSING else f"{spec.name}: {_type_name(annotation)}"
        text += " (required)" if spec.required else f" = {spec.default!r}"
        parts.append(text)
    return ", ".join(parts) or "none"


def _type_name(annotation: Any) -> str:
    """``annotation`` as written in a signature, with bare class names (a pipeline file
    loaded by path has a long synthetic module name)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is type(None):
        return "None"
    if annotation is Ellipsis:
        return "..."
    if origin in (Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args)
    if origin is Literal:
        return f"Literal[{', '.join(repr(a) for a in args)}]"
    if origin is not None and args:
        name = getattr(origin, "__name__", None) or str(origin).replace("typing.", "")
        return f"{name}[{', '.join(_type_name(a) for a in args)}]"
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "").replace("pathlib.", "")


def describe_type(annotation: Any) -> str:
    """What a value of ``annotation`` looks like on the command line, for error messages."""
    annotation = _unwrap(annotation)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is _MISSING or annotation is Any or annotation is str:
        return "text"
    if origin in (Union, types.UnionType):
        others = [a for a in args if a is not type(None)]
        described = " or ".join(describe_type(a) for a in others)
        return f"{described} or none" if len(others) < len(args) else described
    if origin is Literal:
        return "one of " + ", ".join(str(a) for a in args)
    if annotation in _LISTS or origin in _LISTS:
        if not args or (origin is tuple and args[-1] is not Ellipsis):
            return "a JSON list, e.g. [1, 2]"
        example = '["a", "b"]' if describe_type(args[0]) == "text" else "[1, 2]"
        return f"a JSON list of {_plural(args[0])}, e.g. {example}"
    if annotation in _DICTS or origin in _DICTS:
        return 'a JSON object, e.g. {"key": 1}'
    if typing.is_typeddict(annotation):
        fields = ", ".join(f"{k} ({describe_type(v)})" for k, v in _fields(annotation).items())
        return f"a JSON object with the keys {fields}"
    if annotation is bool:
        return "true or false (also yes/no, 1/0)"
    if annotation is int:
        return "an integer"
    if annotation is float:
        return "a number"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "one of " + ", ".join(m.name for m in annotation)
    if annotation is dt.datetime:
        return "an ISO date and time, e.g. 2024-05-01T12:30:00"
    if annotation is dt.date:
        return "an ISO date, e.g. 2024-05-01"
    if annotation is dt.time:
        return "an ISO time, e.g. 12:30:00"
    if isinstance(annotation, type) and issubclass(annotation, PurePath):
        return "a path"
    return _type_name(annotation)


def _plural(annotation: Any) -> str:
    text = describe_type(annotation)
    simple = {"an integer": "integers", "a number": "numbers", "a path": "paths", "text": "text"}
    return simple.get(text, text)


def _unwrap(annotation: Any) -> Any:
    """``annotation`` without ``Annotated[...]`` and ``NewType`` wrappers."""
    while True:
        if typing.get_origin(annotation) is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif isinstance(annotation, typing.NewType):
            annotation = annotation.__supertype__
        else:
            return annotation


def parse_value(value: Any, annotation: Any) -> Any:
    """``value`` (command-line text, or an item of a parsed JSON list or object) as a value
    of ``annotation``; ``ValueError`` when it is not one."""
    annotation = _unwrap(annotation)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    text = value if isinstance(value, str) else None
    if annotation is _MISSING or annotation is Any or annotation is object:
        return value
    if origin in (Union, types.UnionType):
        return _union(value, args)
    if origin is Literal:
        for choice in args:
            if value == choice or (text is not None and text == str(choice)):
                return choice
        raise ValueError("")
    if annotation in _LISTS or origin in _LISTS:
        return _sequence(value, origin or annotation, args)
    if annotation in _DICTS or origin in _DICTS:
        items = _json(value, dict)
        item_type = args[1] if len(args) == 2 else _MISSING
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


def _fields(typed_dict: Any) -> dict[str, Any]:
    return typing.get_type_hints(typed_dict)


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
    fields = _fields(typed_dict)
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
    item_type = args[0] if args else _MISSING
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
