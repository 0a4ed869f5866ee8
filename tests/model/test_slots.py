"""slot_init: the same instances as the dataclass's own ``__init__``, built faster."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from dataclasses import dataclass, field

import pytest

from legato.model.artifacts import ArtifactRef
from legato.model.events import TaskTransitioned
from legato.model.records import TaskRecord
from legato.model.slots import slot_init
from legato.model.states import TaskState


@dataclass(frozen=True, slots=True)
class _Base:
    run: str
    seq: int = 0


def _shapes(init: bool) -> type:
    @dataclass(frozen=True, slots=True)
    class Shapes(_Base):
        name: str = "n"
        tags: list[str] = field(default_factory=list)
        hidden: int = field(default=7, init=False)
        made: list[int] = field(default_factory=lambda: [1], init=False)
        size: int = field(default=0, kw_only=True)
        total: int = field(default=0, init=False, compare=False)

        def __post_init__(self) -> None:
            object.__setattr__(self, "total", self.seq + self.size)

    return slot_init(Shapes) if init else Shapes


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [(("r",), {}), (("r", 3, "x", ["a"]), {"size": 2}), ((), {"run": "r", "tags": ["b"]})],
)
def test_same_instances_as_the_dataclass(
    args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    plain, fast = _shapes(False), _shapes(True)
    a, b = plain(*args, **kwargs), fast(*args, **kwargs)
    assert dataclasses.asdict(a) == dataclasses.asdict(b)
    assert (a.total, a.hidden, a.made) == (b.total, b.hidden, b.made)
    assert list(inspect.signature(plain).parameters) == list(inspect.signature(fast).parameters)


def test_factories_are_called_per_instance() -> None:
    fast = _shapes(True)
    one, two = fast("r"), fast("r")
    assert one.tags == two.tags == []
    assert one.tags is not two.tags
    assert one.made is not two.made


def test_arguments_are_checked_as_before() -> None:
    fast = _shapes(True)
    with pytest.raises(TypeError):
        fast()  # run is required
    with pytest.raises(TypeError):
        fast("r", 1, "n", [], 5)  # size is keyword-only
    with pytest.raises(TypeError):
        fast("r", hidden=1)  # not a parameter


def test_records_stay_frozen_equal_and_picklable() -> None:
    record = TaskRecord(key="fan[1]", name="fan", state=TaskState.READY, map_index=1, parent="fan")
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.state = TaskState.RUNNING  # type: ignore[misc]
    same = dataclasses.replace(record)
    assert same == record
    assert hash(same) == hash(record)
    assert pickle.loads(pickle.dumps(record)) == record
    ref = ArtifactRef(checksum="xxh3_128:0", size=1, serializer="json", producer="p")
    assert ref.meta == {}
    assert pickle.loads(pickle.dumps(ref)) == ref
    event = TaskTransitioned(run_id="r", seq=1, at=0.0, key="k", state=TaskState.RUNNING, attempt=2)
    assert event.run_id == "r"
    assert event.attempt == 2
    assert event.output is None


def test_refuses_what_it_cannot_build() -> None:
    @dataclass(slots=True)
    class Mutable:
        x: int

    @dataclass(frozen=True)
    class Unslotted:
        x: int

    for cls in (Mutable, Unslotted):
        with pytest.raises(TypeError, match="frozen dataclasses with slots"):
            slot_init(cls)
