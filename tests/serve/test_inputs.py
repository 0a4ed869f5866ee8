"""``model_input``, the one path from a ``/predict`` body to what ``predict`` is given (the
server's and the in-process smoke test's), and ``encode``, the one way an answer is
written: per signature kind, what the model receives, and what is refused with which
status."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
import serve_models as sm

from legato.registry.signature import infer_signature
from legato.serve.answers import encode
from legato.serve.inputs import MAX_ROWS, RequestError, model_input

TABLE = infer_signature(pd.DataFrame(sm.TABLE))
COUNTS = infer_signature(np.zeros((1, 2, 2), dtype=np.int64))
EXPECTED = pd.DataFrame(sm.TABLE).astype({"city": "str"})


def given(body: Any, signature: Any) -> Any:
    return model_input(json.dumps(body).encode(), signature, max_rows=MAX_ROWS)


def refusal(body: Any, signature: Any) -> RequestError:
    with pytest.raises(RequestError) as refused:
        given(body, signature)
    return refused.value


def test_a_tensor_model_gets_an_array_of_its_dtype() -> None:
    got = given({"inputs": [[[1, 2], [3, 4]]]}, COUNTS)
    assert got.dtype == np.int64
    assert got.tolist() == [[[1, 2], [3, 4]]]
    rows = given([[1, 2, 3]], sm.SIGNATURE)
    assert (rows.dtype, rows.tolist()) == (np.float64, [[1.0, 2.0, 3.0]])


@pytest.mark.parametrize(
    "body",
    [
        {"rows": sm.TABLE_RECORDS},
        {"rows": [dict(reversed(r.items())) | {"extra": 1} for r in sm.TABLE_RECORDS]},
        {"inputs": sm.TABLE_ROWS},
        sm.TABLE_ROWS,
        {"columns": sm.TABLE},
        {"columns": dict(reversed(sm.TABLE.items()))},
    ],
    ids=[
        "records",
        "records-any-order",
        "rows-of-values",
        "bare-rows",
        "columns",
        "columns-any-order",
    ],
)
def test_a_table_model_gets_a_frame_of_its_columns_in_order_and_of_their_dtypes(
    body: Any,
) -> None:
    frame = given(body, TABLE)
    pd.testing.assert_frame_equal(frame, EXPECTED)
    assert sm.Tabular().predict(frame).tolist() == [35.5, 46.5]


def test_a_model_without_a_signature_gets_an_array_or_a_frame() -> None:
    assert given([[1, 2], [3, 4]], None).tolist() == [[1, 2], [3, 4]]
    assert list(given({"rows": [{"a": 1, "b": "x"}]}, None).columns) == ["a", "b"]
    assert list(given({"columns": {"b": [1], "a": [2]}}, None).columns) == ["b", "a"]


@pytest.mark.parametrize(
    ("body", "signature", "message"),
    [
        ({"inputs": [[1, 2, 10**400]]}, sm.SIGNATURE, "input[0][2] is an integer of 1329 bits"),
        ({"inputs": [[[1, 2**63], [3, 4]]]}, COUNTS, "input[0][0][1] is 9223372036854775808"),
        (
            {"rows": [{"age": 2**64, "score": 1, "city": "x", "member": True}]},
            TABLE,
            "record 0, column 'age' is 18446744073709551616, outside the range of int64",
        ),
        (
            {"inputs": [[1, 10**400, "x", True]]},
            TABLE,
            "row 0, column 'score' is an integer of 1329 bits, too large for float64",
        ),
        (
            {"columns": {**sm.TABLE, "age": [1, -(2**63) - 1]}},
            TABLE,
            "column 'age', row 1 is -9223372036854775809, outside the range of int64",
        ),
    ],
)
def test_a_huge_integer_is_a_422_naming_its_place(body: Any, signature: Any, message: str) -> None:
    refused = refusal(body, signature)
    assert refused.status == 422
    assert message in refused.message


def test_nan_and_infinities_reach_a_float_model() -> None:
    got = model_input(b'{"inputs": [[NaN, Infinity, -Infinity]]}', sm.SIGNATURE, max_rows=10)
    assert [math.isnan(got[0][0]), got[0][1], got[0][2]] == [True, math.inf, -math.inf]
    assert refusal({"inputs": [[[1, math.nan], [3, 4]]]}, COUNTS).status == 422


def test_what_is_refused_and_with_which_status() -> None:
    assert model_input_status(b"{", None) == 400
    assert model_input_status(b"[" * 10_000 + b"]" * 10_000, None) == 400
    assert model_input_status(b'"\xff"', None) == 400
    assert model_input_status(json.dumps([[1, 2, 3]] * 11).encode(), sm.SIGNATURE) == 413
    assert model_input_status(b'{"inputs": [[1, 2]]}', sm.SIGNATURE) == 422
    assert model_input_status(b'{"columns": {"input": [1]}}', sm.SIGNATURE) == 422
    assert model_input_status(b"[[1], [1, 2]]", None) == 422


def model_input_status(body: bytes, signature: Any) -> int:
    with pytest.raises(RequestError) as refused:
        model_input(body, signature, max_rows=10)
    return refused.value.status


def test_an_answer_is_ascii_json_with_nan_and_infinities_as_null() -> None:
    answer = {"predictions": np.array([1.5, np.nan, np.inf]), "error": "bad \ud800 é"}
    written = encode(answer)
    assert written.isascii()
    assert json.loads(written) == {"predictions": [1.5, None, None], "error": "bad \ud800 é"}
    assert encode([np.int64(3), (1, 2)]) == b"[3,[1,2]]"
