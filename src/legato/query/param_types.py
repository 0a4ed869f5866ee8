"""What a run parameter's annotation says, for the edges that ask for parameters: ``legato
run -p`` (:mod:`legato.cli.params`, which converts the text) and the API's start form
(:func:`form_field`: a pipeline's parameters as a form schema, computed in the child
process that loads the pipeline: the server never imports user code).

One reading of annotations for both, so a form field's hint is what ``legato run`` says
when it refuses a value, and the values a form sends are converted by ``legato run`` itself.
"""

from __future__ import annotations

import collections.abc
import datetime as dt
import inspect
import types
import typing
from dataclasses import dataclass
from enum import Enum
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, Literal, Union

from legato.query.views import json_value

if TYPE_CHECKING:
    from legato.define.graph import ParamSpec
    from legato.define.pipeline import Pipeline

__all__ = [
    "DICTS",
    "LISTS",
    "MISSING",
    "ParamField",
    "describe_type",
    "form_field",
    "parameter_types",
    "type_name",
    "typeddict_fields",
    "unwrap",
]

MISSING: Any = inspect.Parameter.empty
LISTS = (list, tuple, set, frozenset, collections.abc.Sequence, collections.abc.Iterable)
DICTS = (dict, collections.abc.Mapping)


@dataclass(frozen=True, slots=True, kw_only=True)
class ParamField:
    """A run parameter as a form shows it."""

    name: str
    kind: str
    """The form's input: ``integer``, ``number``, ``boolean``, ``string``, ``path``,
    ``datetime``, ``date``, ``time``, ``choice`` (one of ``choices``), ``list``, ``object``
    (JSON), or ``any`` (text passed as it is)."""
    annotation: str
    """The type as written in the signature (``list[int]``, ``float | None``); empty when
    none is declared."""
    hint: str
    """What a value looks like, as ``legato run -p`` says it (``an integer``, ``a JSON list
    of numbers, e.g. [1, 2]``)."""
    required: bool
    default: Any
    """The default as JSON (None for a required parameter, or a default of None)."""
    nullable: bool
    """Whether ``none`` (null) is a value it takes."""
    choices: tuple[Any, ...] = ()
    """For ``choice``: the values it takes (an enum's member names)."""


def form_field(spec: ParamSpec, annotation: Any) -> ParamField:
    """Parameter ``spec`` of annotation ``annotation`` (:func:`parameter_types`) as a form
    field."""
    bare = unwrap(annotation)
    args = typing.get_args(bare)
    nullable = False
    if typing.get_origin(bare) in (Union, types.UnionType):
        others = [a for a in args if a is not type(None)]
        nullable = len(others) < len(args)
        bare = unwrap(others[0]) if len(others) == 1 else bare
    choices: tuple[Any, ...] = ()
    if typing.get_origin(bare) is Literal:
        choices = tuple(json_value(a) for a in typing.get_args(bare))
    elif isinstance(bare, type) and issubclass(bare, Enum):
        choices = tuple(m.name for m in bare)
    required = spec.default is MISSING
    return ParamField(
        name=spec.name,
        kind="choice" if choices else _kind(bare),
        annotation="" if annotation is MISSING else type_name(annotation),
        hint=describe_type(annotation),
        required=required,
        default=None if required else _default(spec.default),
        nullable=nullable or (not required and spec.default is None),
        choices=choices,
    )


def _default(value: Any) -> Any:
    """A default as JSON; an enum member by its name, as the field's ``choices`` say it."""
    return value.name if isinstance(value, Enum) else json_value(value)


def _kind(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    simple = {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        dt.datetime: "datetime",
        dt.date: "date",
        dt.time: "time",
    }
    if annotation in simple:
        return simple[annotation]
    if annotation is MISSING or annotation is Any or annotation is object:
        return "any"
    if isinstance(annotation, type) and issubclass(annotation, PurePath):
        return "path"
    if annotation in LISTS or origin in LISTS:
        return "list"
    if annotation in DICTS or origin in DICTS or typing.is_typeddict(annotation):
        return "object"
    return "any"


def typeddict_fields(typed_dict: Any) -> dict[str, Any]:
    """The keys of a ``TypedDict`` and their types."""
    return typing.get_type_hints(typed_dict)


def parameter_types(pipeline: Pipeline[..., Any]) -> dict[str, Any]:
    """The type of each run parameter: its annotation (string annotations resolved), or the
    type of its default, or ``MISSING``."""
    try:
        hints = typing.get_type_hints(pipeline.fn)
    except Exception:  # an annotation naming something that is not importable here
        hints = {}
    out: dict[str, Any] = {}
    for spec in pipeline.params:
        annotation = hints.get(spec.name, spec.annotation)
        if isinstance(annotation, str):
            annotation = MISSING
        if annotation is MISSING and spec.default not in (MISSING, None):
            annotation = type(spec.default)
        out[spec.name] = annotation
    return out


def type_name(annotation: Any) -> str:
    """``annotation`` as written in a signature, with bare class names (a pipeline file
    loaded by path has a long synthetic module name)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is type(None):
        return "None"
    if annotation is Ellipsis:
        return "..."
    if origin in (Union, types.UnionType):
        return " | ".join(type_name(a) for a in args)
    if origin is Literal:
        return f"Literal[{', '.join(repr(a) for a in args)}]"
    if origin is not None and args:
        name = getattr(origin, "__name__", None) or str(origin).replace("typing.", "")
        return f"{name}[{', '.join(type_name(a) for a in args)}]"
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "").replace("pathlib.", "")


def describe_type(annotation: Any) -> str:
    """What a value of ``annotation`` looks like on the command line, for error messages."""
    annotation = unwrap(annotation)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is MISSING or annotation is Any or annotation is str:
        return "text"
    if origin in (Union, types.UnionType):
        others = [a for a in args if a is not type(None)]
        described = " or ".join(describe_type(a) for a in others)
        return f"{described} or none" if len(others) < len(args) else described
    if origin is Literal:
        return "one of " + ", ".join(str(a) for a in args)
    if annotation in LISTS or origin in LISTS:
        if not args or (origin is tuple and args[-1] is not Ellipsis):
            return "a JSON list, e.g. [1, 2]"
        example = '["a", "b"]' if describe_type(args[0]) == "text" else "[1, 2]"
        return f"a JSON list of {_plural(args[0])}, e.g. {example}"
    if annotation in DICTS or origin in DICTS:
        return 'a JSON object, e.g. {"key": 1}'
    if typing.is_typeddict(annotation):
        fields = ", ".join(
            f"{k} ({describe_type(v)})" for k, v in typeddict_fields(annotation).items()
        )
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
    return type_name(annotation)


def _plural(annotation: Any) -> str:
    text = describe_type(annotation)
    simple = {"an integer": "integers", "a number": "numbers", "a path": "paths", "text": "text"}
    return simple.get(text, text)


def unwrap(annotation: Any) -> Any:
    """``annotation`` without ``Annotated[...]`` and ``NewType`` wrappers."""
    while True:
        if typing.get_origin(annotation) is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif isinstance(annotation, typing.NewType):
            annotation = annotation.__supertype__
        else:
            return annotation
