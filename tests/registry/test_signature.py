"""``check_input``: what a model's signature lets through, and how a refusal names the place
of the value (what ``legato serve`` answers 422 with)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from legato.errors import ParameterError
from legato.registry.signature import check_input, infer_signature

TABLE = {
    "format": 1,
    "kind": "columns",
    "inputs": [{"name": "age", "dtype": "int64"}, {"name": "city", "dtype": "str"}],
    "shape": [None, 2],
}


def tensor(dtype: str, width: int = 2) -> dict[str, Any]:
    return {"kind": "tensor", "inputs": [{"name": "input", "dtype": dtype}], "shape": [None, width]}


@pytest.mark.parametrize(
    ("dtype", "value", "bounds"),
    [
        ("int8", 128, "-128 to 127"),
        ("int8", -129, "-128 to 127"),
        ("uint8", -1, "0 to 255"),
        ("uint8", 256, "0 to 255"),
        ("int32", 2**31, "-2147483648 to 2147483647"),
        ("int64", 2**63, "-9223372036854775808 to 9223372036854775807"),
        ("int64", -(2**63) - 1, "-9223372036854775808 to 9223372036854775807"),
        ("uint64", 2**64, "0 to 18446744073709551615"),
    ],
)
def test_an_integer_its_dtype_cannot_hold_is_refused_naming_its_place(
    dtype: str, value: int, bounds: str
) -> None:
    with pytest.raises(ParameterError) as refused:
        check_input(tensor(dtype), [[1, 2], [3, value]])
    assert str(refused.value) == f"input[1][1] is {value}, outside the range of {dtype} ({bounds})"


@pytest.mark.parametrize(
    ("dtype", "value"),
    [("int8", 127), ("int8", -128), ("uint8", 255), ("int64", -(2**63)), ("uint64", 2**64 - 1)],
)
def test_the_bounds_of_a_dtype_are_accepted(dtype: str, value: int) -> None:
    check_input(tensor(dtype), [[value, 0]])


def test_a_float_takes_any_number_it_can_hold() -> None:
    check_input(tensor("float64", 4), [[10**300, math.nan, math.inf, -math.inf]])
    with pytest.raises(ParameterError) as refused:
        check_input(tensor("float64", 4), [[1.0, 2.0, 3.0, 10**400]])
    assert str(refused.value) == "input[0][3] is an integer of 1329 bits, too large for float64"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([{"age": 2**63, "city": "x"}], "record 0, column 'age' is 9223372036854775808, outside"),
        ([[3, "x"], [2**64, "y"]], "row 1, column 'age' is 18446744073709551616, outside"),
        ({"age": [3, -(2**70)], "city": ["x", "y"]}, "column 'age', row 1 is -1180591620717"),
        ([[3, "x", 4]], "row 0 has 3 values, the model takes 2 columns (age, city)"),
        ([5], "row 0 is 5: send a record {column: value} or a list of the 2 column values"),
        ([{"age": 3}], "record 0 has no column 'city'"),
        ([["3", "x"]], "row 0, column 'age' is '3', the model takes int64"),
    ],
)
def test_a_table_refusal_names_the_row_and_the_column(data: Any, message: str) -> None:
    with pytest.raises(ParameterError) as refused:
        check_input(TABLE, data)
    assert message in str(refused.value)


def test_a_table_takes_records_rows_of_values_in_order_and_columns() -> None:
    check_input(TABLE, [{"city": "x", "age": 3, "extra": None}])
    check_input(TABLE, [[3, "x"], {"age": 4, "city": "y"}])
    check_input(TABLE, {"age": [3, 4], "city": ["x", "y"]})


def test_a_table_registered_from_a_dataframe_checks_its_rows() -> None:
    pd = pytest.importorskip("pandas")
    signature = infer_signature(pd.DataFrame({"age": [3], "city": ["x"]}))
    check_input(signature, [[3, "x"]])
    with pytest.raises(ParameterError, match="row 0, column 'city' is 7, the model takes"):
        check_input(signature, [[3, 7]])


def test_a_message_quotes_a_value_short_however_big_or_deep() -> None:
    deep: Any = 1
    for _ in range(5_000):
        deep = [deep]
    with pytest.raises(ParameterError) as refused:
        check_input(TABLE, [{"age": deep, "city": "x"}])
    assert str(refused.value) == "record 0, column 'age' is [[[...]]], the model takes int64"
    with pytest.raises(ParameterError) as refused:
        check_input(TABLE, [{"age": 3, "city": 7 * 10**5000}])
    assert "is an integer of 16613 bits, the model takes str" in str(refused.value)
    with pytest.raises(ParameterError) as refused:
        check_input(TABLE, [{"age": "y" * 10_000, "city": "x"}])
    assert len(str(refused.value)) < 120
