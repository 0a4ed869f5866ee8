"""``SmokeTest`` per signature kind, in-process and against a real ``legato serve``: both
forms send the same body through the same path (``legato.serve.inputs.model_input``), so
rows pass (or are refused) alike and the checks see the same predictions."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import serve_models as sm

from legato import SmokeTest
from legato.registry import Registry, open_registry
from legato.registry.signature import infer_signature

from .conftest import Server, start_server

RECORDS, VALUES = sm.TABLE_RECORDS, sm.TABLE_ROWS

KINDS: dict[str, tuple[int, list[Any], list[Any]]] = {
    # kind: (version of model "kinds", example rows, the predictions they make)
    "tensor float64": (1, [[1.0, 2.0, 3.0], [4, 5, 6]], [6.0, 15.0]),
    "tensor int64 2x2": (2, [[[1, 2], [3, 4]]], [10]),
    "table from a DataFrame, records": (3, RECORDS, [35.5, 46.5]),
    "table from a DataFrame, rows of values": (3, VALUES, [35.5, 46.5]),
    "table from a dict, records": (4, RECORDS, [35.5, 46.5]),
    "table from a dict, rows of values": (4, VALUES, [35.5, 46.5]),
    "no signature": (5, [[1, 2], [3, 4]], [7, 7]),
}


def register_kinds(registry: Registry) -> None:
    """Versions 1 to 5 of model ``kinds``, one per signature kind (see ``KINDS``)."""
    registry.register("kinds", sm.RowSum(1.0), signature=sm.SIGNATURE)
    registry.register(
        "kinds", sm.Counts(), signature=infer_signature(np.zeros((1, 2, 2), dtype=np.int64))
    )
    registry.register("kinds", sm.Tabular(), signature=infer_signature(pd.DataFrame(sm.TABLE)))
    registry.register("kinds", sm.Tabular(), signature=infer_signature(sm.TABLE))
    registry.register("kinds", sm.constant)


@pytest.fixture(scope="module")
def kinds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Server]]:
    """A state folder holding model ``kinds``, and a server of ``kinds:1`` (the others are
    tried on it as candidates)."""
    home = tmp_path_factory.mktemp("kinds-home")
    before = os.environ.get("LEGATO_HOME")
    os.environ["LEGATO_HOME"] = str(home)
    try:
        with open_registry() as registry:
            register_kinds(registry)
    finally:
        if before is None:
            del os.environ["LEGATO_HOME"]
        else:
            os.environ["LEGATO_HOME"] = before
    server = start_server("kinds:1", home=home)
    yield home, server
    server.stop()


@pytest.fixture
def kinds_registry(
    kinds: tuple[Path, Server], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Registry]:
    monkeypatch.setenv("LEGATO_HOME", str(kinds[0]))
    with open_registry() as registry:
        yield registry


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("where", ["in-process", "on the server"])
def test_example_rows_of_every_signature_kind_pass(
    kind: str, where: str, kinds: tuple[Path, Server], kinds_registry: Registry
) -> None:
    version, rows, predictions = KINDS[kind]
    seen: list[list[Any]] = []
    url = kinds[1].url if where == "on the server" else None
    smoke = SmokeTest(rows=rows, url=url, expect=lambda p: bool(seen.append(p)) or True)

    assert smoke.run(kinds_registry, kinds_registry.get("kinds", version)) == ""
    assert seen == [predictions]


MISFITS = {  # version of model "kinds": (rows, why they are refused)
    1: ([[1.0, 2.0]], "input[0] has 2 items, the model takes 3"),
    2: ([[[1, 2**63], [3, 4]]], "input[0][0][1] is 9223372036854775808, outside the range"),
    3: ([[30, 0.5, "Oslo"]], "row 0 has 3 values, the model takes 4 columns"),
    4: ([{**RECORDS[0], "score": 10**400}], "too large for float64"),
}


@pytest.mark.parametrize("version", list(MISFITS))
@pytest.mark.parametrize("where", ["in-process", "on the server"])
def test_rows_that_do_not_fit_fail_alike_in_process_and_on_the_server(
    version: int, where: str, kinds: tuple[Path, Server], kinds_registry: Registry
) -> None:
    rows, refusal = MISFITS[version]
    url = kinds[1].url if where == "on the server" else None

    problem = SmokeTest(rows=rows, url=url).run(
        kinds_registry, kinds_registry.get("kinds", version)
    )

    assert refusal in problem
    assert "422" in problem


def test_the_checks_see_the_predictions_a_client_sees(kinds_registry: Registry) -> None:
    """NaN is null in a server's answer (JSON has no NaN): in-process too."""
    kinds_registry.register("nan", sm.RowSum(float("nan")), signature=sm.SIGNATURE)
    seen: list[list[Any]] = []
    smoke = SmokeTest(rows=[[1.0, 2.0, 3.0]], expect=lambda p: bool(seen.append(p)) or True)
    assert smoke.run(kinds_registry, kinds_registry.get("nan", 1)) == ""
    assert seen == [[None]]


def test_a_server_of_another_model_is_not_taken_for_the_candidate(
    kinds: tuple[Path, Server], kinds_registry: Registry
) -> None:
    other = kinds_registry.register("other", sm.RowSum(1.0), signature=sm.SIGNATURE)

    problem = SmokeTest(rows=[[1.0, 2.0, 3.0]], url=kinds[1].url).run(kinds_registry, other)

    assert problem.startswith("RuntimeError: ")
    assert problem.endswith("answered as kinds:1, not other:1: that server serves another model")
