"""An output every reader of which has succeeded is released: a run does not hold every
object it made to its end. One the pipeline returns is kept; one read again comes back from
its record."""

from __future__ import annotations

import pytest
import released_outputs as released

import legato
from legato.engine.binding import Inputs
from legato.model.artifacts import ArtifactRef
from legato.model.values import Stored


@pytest.fixture(autouse=True)
def _nothing_made() -> None:
    released.made.clear()


@pytest.mark.parametrize("executor", ["inline", "threads"])
def test_an_output_read_by_every_reader_is_no_longer_held(executor: str) -> None:
    result = legato.run(released.chain, executor=executor)
    assert result.ok, result.failures()
    assert len(released.made) == 1
    assert result.output == 0  # when `alive` ran, the Blob `size` read was gone


@pytest.mark.parametrize("executor", ["inline", "threads"])
def test_an_output_the_pipeline_returns_is_kept(executor: str) -> None:
    result = legato.run(released.returned, executor=executor)
    assert result.ok, result.failures()
    count, blob = result.output
    assert count == 1
    assert len(blob.data) == 1000


def test_a_released_output_is_read_back_from_its_record() -> None:
    ref = ArtifactRef(checksum="xxh3_128:" + "0" * 32, size=1, serializer="json", inline=b"1")
    inputs = Inputs({})
    inputs.recorded = {"a": ref}.get
    inputs.keep("a", Stored(ref, 1))
    inputs.release("a")
    assert "a" not in inputs.outputs
    assert inputs.value("a") == Stored(ref)
    inputs.keep("a", Stored(ref, 2))  # it ran again: its new output is held
    assert inputs.value("a") == Stored(ref, 2)
    inputs.drop("a")
    assert inputs.value("a") is None
