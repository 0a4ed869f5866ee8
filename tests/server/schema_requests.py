"""Requests generated from the app's published OpenAPI schema (Hypothesis strategies): every
operation, its path and query parameters drawn from their declared types, or from anything
(what a hostile or broken client sends), and bodies drawn from the request schema or as
arbitrary JSON. Schemathesis is not in the package mirror this project installs from; this
is the part of it these tests need."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from hypothesis import strategies as st

__all__ = ["Drawn", "operations", "requests"]

_PARAM = re.compile(r"\{([^}]+)\}")

TRAVERSALS = (
    "../../etc/passwd",
    "..%2f..%2fetc%2fpasswd",
    "%2e%2e/%2e%2e/etc/passwd",
    "..\\..\\windows\\win.ini",
    "/etc/passwd",
    "....//....//etc/passwd",
    "\x00",
    "%00",
    "~",
    ".",
    "..",
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
"""Any JSON value (JSON has no NaN or infinity)."""

texts = st.text(max_size=40) | st.sampled_from(TRAVERSALS) | st.integers().map(str)


@dataclass(frozen=True)
class Drawn:
    """One request: method, path with its query string, JSON body (None: no body)."""

    method: str
    path: str
    body: Any
    template: str


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Every (method, path template, operation) of ``schema``."""
    return [
        (method.upper(), path, operation)
        for path, item in sorted(schema["paths"].items())
        for method, operation in sorted(item.items())
    ]


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        name = node["$ref"].rpartition("/")[2]
        node = schema["components"]["schemas"][name]
    return node


def from_schema(schema: dict[str, Any], node: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values of JSON schema ``node`` (the subset FastAPI writes), with the bounds it
    declares left to chance: a value outside them is a request the server must refuse."""
    node = _resolve(schema, node)
    if "anyOf" in node:
        return st.one_of([from_schema(schema, n) for n in node["anyOf"]])
    kind = node.get("type")
    if kind == "integer":
        return st.integers(min_value=-(2**40), max_value=2**40) | st.integers(-3, 3000)
    if kind == "number":
        return st.floats(allow_nan=False, allow_infinity=False) | st.integers(-5, 5)
    if kind == "boolean":
        return st.booleans()
    if kind == "string":
        return texts
    if kind == "null":
        return st.none()
    if kind == "array":
        return st.lists(from_schema(schema, node.get("items", {})), max_size=4)
    if kind == "object":
        properties = node.get("properties", {})
        required = set(node.get("required", ()))
        return st.fixed_dictionaries(
            {k: from_schema(schema, v) for k, v in properties.items() if k in required},
            optional={
                k: from_schema(schema, v) for k, v in properties.items() if k not in required
            },
        )
    return json_values


def _request(
    schema: dict[str, Any],
    method: str,
    template: str,
    operation: dict[str, Any],
    known: dict[str, list[str]],
) -> st.SearchStrategy[Drawn]:
    parameters = operation.get("parameters", [])

    def values(p: dict[str, Any]) -> st.SearchStrategy[Any]:
        drawn = from_schema(schema, p.get("schema", {})) | texts
        if p["name"] in known:  # values that exist, so the routes behind the checks run
            return st.sampled_from(known[p["name"]]) | drawn
        return drawn

    path_values = st.fixed_dictionaries(
        {p["name"]: values(p).map(str) for p in parameters if p["in"] == "path"}
    )
    query = [p for p in parameters if p["in"] == "query"]
    query_values = st.fixed_dictionaries({}, optional={p["name"]: values(p) for p in query})
    body: st.SearchStrategy[Any] = st.none()
    if "requestBody" in operation:
        content = operation["requestBody"]["content"]["application/json"]["schema"]
        body = from_schema(schema, content) | json_values

    def build(values: dict[str, Any], params: dict[str, Any], payload: Any) -> Drawn:
        path = _PARAM.sub(lambda m: quote(str(values[m.group(1)]), safe=""), template)
        pairs = []
        for name, value in params.items():
            for item in value if isinstance(value, list) else [value]:
                pairs.append(
                    (
                        name,
                        ""
                        if item is None
                        else str(item).lower()
                        if isinstance(item, bool)
                        else str(item),
                    )
                )
        if pairs:
            path += "?" + urlencode(pairs)
        return Drawn(method=method, path=path, body=payload, template=template)

    return st.builds(build, path_values, query_values, body)


def _text(value: Any) -> str:
    """A query parameter's value as a client writes it."""
    if value is None:
        return ""
    return str(value).lower() if isinstance(value, bool) else str(value)


def requests(
    schema: dict[str, Any], known: dict[str, list[str]] | None = None
) -> st.SearchStrategy[Drawn]:
    """A request to any operation of ``schema``; a parameter named in ``known`` is often
    one of those values (ids and names that exist)."""
    return st.one_of([_request(schema, m, p, o, known or {}) for m, p, o in operations(schema)])
