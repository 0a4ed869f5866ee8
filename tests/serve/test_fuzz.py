"""``POST /predict`` fuzzed: JSON of any shape (huge integers, NaN and Infinity tokens, deep
nesting, wrong types, any unicode, lone surrogates, bytes that are not UTF-8, text that is
not JSON) and near-valid rows with wrong values, thousands per signature kind, sent to the
real ASGI app (its middleware, routing, the thread pool the model runs in) through httpx.
Not one answer may be a 5xx: a client's mistake is a 4xx that says what is wrong.

The default run sends ``EVERY_RUN`` bodies per kind; ``make test-exhaustive`` also sends
``EXHAUSTIVE`` (10,000) per kind.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import serve_models as sm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from legato.registry import Registry
from legato.registry.signature import infer_signature
from legato.serve.app import create_app

KINDS = ("tensor float64", "tensor int64", "table", "no signature")
EVERY_RUN = 500
"""Bodies per kind in the default run (seconds a kind)."""
EXHAUSTIVE = 10_000
"""Bodies per kind in ``make test-exhaustive``."""

HUGE = st.one_of(
    st.integers(min_value=2**63 - 2, max_value=2**64 + 2),
    st.integers(min_value=-(2**64) - 2, max_value=-(2**63) + 2),
    st.builds(lambda e, s: s * 10**e, st.integers(300, 4000), st.sampled_from([1, -1])),
)
TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    HUGE,
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
)
KEYS = st.one_of(st.sampled_from(["inputs", "rows", "columns", *sm.TABLE, "input"]), TEXT)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=12,
)


def rows_of(shape: tuple[int, ...], value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Lists nested to ``shape``, sometimes one item short or long, of ``value``s."""
    if not shape:
        return value
    size = st.sampled_from([*[shape[0]] * 8, shape[0] - 1, shape[0] + 1])
    return size.flatmap(lambda n: st.lists(rows_of(shape[1:], value), min_size=n, max_size=n))


def mostly(right: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A value of the right type seven times in eight, else any scalar (a huge integer, a
    NaN, a string...)."""
    return st.one_of(*[right] * 7, SCALARS)


def exactly(right: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return right


NUMBER = st.floats(allow_nan=True, allow_infinity=True) | st.integers()
INT64 = st.integers(-(2**63), 2**63 - 1)
COLUMNS = {"age": INT64, "score": NUMBER, "city": TEXT, "member": st.booleans()}


def rows_for(kind: str, value: Callable[[st.SearchStrategy[Any]], st.SearchStrategy[Any]]) -> Any:
    """Bodies laid out as a model of ``kind`` takes them, each value drawn by ``value``."""
    some = {"min_size": 1, "max_size": 4}
    if kind == "tensor float64":
        return st.lists(rows_of((3,), value(NUMBER)), **some).map(lambda r: {"inputs": r})
    if kind == "tensor int64":
        return st.lists(rows_of((2, 2), value(INT64)), **some).map(lambda r: {"inputs": r})
    if kind == "no signature":
        return st.lists(rows_of((2,), value(NUMBER | JSON)), **some)
    records = st.fixed_dictionaries({k: value(v) for k, v in COLUMNS.items()})
    values = st.tuples(*map(value, COLUMNS.values())).map(list)
    columns = st.integers(1, 3).flatmap(
        lambda n: st.fixed_dictionaries(
            {k: st.lists(value(v), min_size=n, max_size=n) for k, v in COLUMNS.items()}
        )
    )
    return st.one_of(
        st.lists(records, **some).map(lambda r: {"rows": r}),
        st.lists(values, **some),
        columns.map(lambda c: {"columns": c}),
    )


def as_text(value: Any, ascii_only: bool) -> bytes:
    """JSON text of ``value``, with NaN/Infinity tokens; lone surrogates, unescaped, make
    bytes that are not UTF-8 (a 400)."""
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


def deep(depth: int, opener: str) -> bytes:
    closer = {"[": "]", '{"inputs":': "}", '{"a":[': "]}"}[opener]
    return (opener * depth + "1" + closer * depth).encode()


def bodies(kind: str) -> st.SearchStrategy[bytes]:
    """Request bodies for a model of ``kind``: anything, and rows almost right."""
    layouts = st.one_of(
        JSON,
        st.builds(lambda k, v: {k: v}, st.sampled_from(["inputs", "rows", "columns"]), JSON),
        st.dictionaries(st.sampled_from(["inputs", "rows", "columns"]), JSON, min_size=2),
        rows_for(kind, mostly),
        rows_for(kind, mostly),
        rows_for(kind, exactly),
        rows_for(kind, exactly),
    )
    return st.one_of(
        st.builds(as_text, layouts, st.booleans()),
        st.builds(as_text, layouts, st.booleans()),
        st.builds(lambda t, n: t[:n], st.builds(as_text, layouts, st.booleans()), st.integers(0)),
        st.builds(deep, st.integers(1, 3000), st.sampled_from(["[", '{"inputs":', '{"a":['])),
        st.builds(lambda n: b'{"inputs": [[1, 2, ' + b"9" * n + b"]]}", st.integers(1, 6000)),
        st.binary(max_size=64),
    )


def register(registry: Registry, kind: str) -> None:
    """Version 1 of model ``m``, of ``kind``, named by alias ``production``."""
    if kind == "tensor float64":
        registry.register("m", sm.RowSum(1.0), signature=sm.SIGNATURE)
    elif kind == "tensor int64":
        signature = infer_signature(np.zeros((1, 2, 2), dtype=np.int64))
        registry.register("m", sm.Counts(), signature=signature)
    elif kind == "table":
        registry.register("m", sm.Tabular(), signature=infer_signature(pd.DataFrame(sm.TABLE)))
    else:
        registry.register("m", sm.constant)
    registry.set_alias("m", "production", 1, reason="fuzz")


class Client:
    """Sends bodies to the app on an event loop of its own (the ASGI app, no sockets)."""

    def __init__(self, registry: Registry) -> None:
        app = create_app(registry, "m@production", poll=0)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self.loop = asyncio.new_event_loop()
        self.http = httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1")

    def post(self, body: bytes) -> httpx.Response:
        request = self.http.post(
            "/predict", content=body, headers={"Content-Type": "application/json"}
        )
        return self.loop.run_until_complete(request)

    def close(self) -> None:
        self.loop.run_until_complete(self.http.aclose())
        self.loop.close()


@pytest.fixture
def client(registry: Registry, request: pytest.FixtureRequest) -> Iterator[Client]:
    register(registry, request.param)
    opened = Client(registry)
    yield opened
    opened.close()


def fuzz(client: Client, kind: str, examples: int) -> Counter[int]:
    """Send ``examples`` bodies; every answer is JSON and none is a 5xx. The statuses seen."""
    seen: Counter[int] = Counter()

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(body=bodies(kind))
    def probe(body: bytes) -> None:
        answer = client.post(body)
        seen[answer.status_code] += 1
        assert answer.status_code < 500, (body[:300], answer.text[:500])
        payload = answer.json()
        if answer.status_code == 200:
            assert isinstance(payload["predictions"], list)
        else:
            assert isinstance(payload["error"], str)
            assert payload["error"]

    probe()
    return seen


# RowSum adds floats near the largest: NumPy warns of the overflow, and answers inf (null).
OVERFLOW = pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")


@OVERFLOW
@pytest.mark.parametrize("client", KINDS, indirect=True)
def test_no_body_gets_a_5xx(client: Client, request: pytest.FixtureRequest) -> None:
    seen = fuzz(client, request.node.callspec.params["client"], EVERY_RUN)
    assert sum(seen.values()) == EVERY_RUN
    assert {200, 400, 422} <= set(seen), seen  # the model was reached, and refusals made


@OVERFLOW
@pytest.mark.exhaustive
@pytest.mark.timeout(1800)  # minutes on a busy machine
@pytest.mark.parametrize("client", KINDS, indirect=True)
def test_no_body_gets_a_5xx_exhaustive(client: Client, request: pytest.FixtureRequest) -> None:
    seen = fuzz(client, request.node.callspec.params["client"], EXHAUSTIVE)
    assert sum(seen.values()) == EXHAUSTIVE
    assert {200, 400, 422} <= set(seen), seen
