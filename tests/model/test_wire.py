"""The wire form of a task call: every field survives the trip to a worker process, a field
added to ``TaskCall`` cannot go unplaced, and a worker refuses a version it does not read."""

from __future__ import annotations

import dataclasses
import operator
import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from legato.config import SecretRefs
from legato.model import wire
from legato.model.calls import TaskCall
from legato.model.specs import Resources
from legato.model.values import Dict, Lit, Param, Seq
from legato.runtime.pickling import dumps

_text = st.text(max_size=20)
_literal = st.none() | st.booleans() | st.integers() | _text
_args = st.recursive(
    st.builds(Lit, _literal) | st.builds(Param, _text),
    lambda inner: (
        st.builds(Seq, st.lists(inner, max_size=3).map(tuple), as_tuple=st.booleans())
        | st.builds(Dict, st.lists(st.tuples(_text, inner), max_size=3).map(tuple))
    ),
    max_leaves=6,
)
_amount = st.integers(0, 64) | st.floats(0, 64, allow_nan=False)

FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "call_id": st.integers(0, 2**63),
    "run_id": _text,
    "key": _text,
    "task": _text,
    # Pickled by reference: the same object comes back, so the calls compare equal.
    "fn": st.sampled_from([len, max, operator.add]),
    "fn_id": _text,
    "attempt": st.integers(1, 10_000),
    "map_index": st.none() | st.integers(0, 10**6),
    "args": st.lists(_args, max_size=3).map(tuple),
    "kwargs": st.lists(st.tuples(_text, _args), max_size=3).map(tuple),
    "resources": st.builds(
        Resources,
        cpus=_amount,
        memory=st.integers(0, 2**40),
        gpus=st.integers(0, 8),
        custom=st.dictionaries(_text, _amount, max_size=2),
    )
    | st.builds(Resources, memory=st.integers(1, 2**40), limit=st.just(True)),
    "timeout": st.none() | st.floats(0.001, 1e6),
    "split_output": st.booleans(),
    "gpu_ids": st.lists(st.integers(0, 7), max_size=4).map(tuple),
    "secrets": st.none()
    | st.builds(
        SecretRefs,
        profile=_text,
        source=_text,
        variables=st.lists(st.tuples(_text, _text), max_size=3).map(tuple),
    ),
    "store_url": st.none() | _text,
    "owner": st.none() | _text,
}
"""A strategy for every field of TaskCall (a test checks none is missing)."""


def _trip(call: TaskCall, *, with_fn: bool = True) -> wire.Received:
    """``call`` as a worker reads it: encoded, pickled, sent, unpickled, decoded."""
    message = wire.encode(
        call,
        fn_data=dumps(call.fn) if with_fn else None,
        args_data=dumps((call.args, call.kwargs)),
    )
    return wire.decode(pickle.loads(pickle.dumps(message, protocol=5)))


def test_every_field_of_task_call_has_a_place_on_the_wire() -> None:
    # Fails when a field is added to TaskCall: place it in HEADER, PLAIN or APART (and raise
    # VERSION), and give it a strategy above.
    fields = {field.name for field in dataclasses.fields(TaskCall)}
    placed = [*wire.HEADER, *wire.PLAIN, *wire.APART]
    assert len(placed) == len(set(placed))
    assert set(placed) == fields
    assert set(FIELDS) == fields


@settings(max_examples=200, deadline=None)
@given(st.fixed_dictionaries(FIELDS))
def test_every_field_survives_encode_pickle_decode(values: dict[str, Any]) -> None:
    call = TaskCall(**values)
    received = _trip(call)
    assert received.fn_data is not None
    fn = pickle.loads(received.fn_data)
    args, kwargs = pickle.loads(received.args_data)
    back = received.call(fn, args, kwargs)
    assert back == call
    for name in FIELDS:  # spelled out: a field compare=False would hide from ==
        assert getattr(back, name) == getattr(call, name), name


def _call(**changes: Any) -> TaskCall:
    values: dict[str, Any] = {
        "call_id": 7,
        "run_id": "r",
        "key": "train[2]",
        "task": "train",
        "fn": len,
        "fn_id": "m:train",
        "attempt": 2,
        "map_index": 2,
        "args": (Lit(1),),
        "kwargs": (("k", Param("p")),),
        "resources": Resources(cpus=2, custom={"db": 1}),
        "timeout": 5.0,
        "secrets": SecretRefs(profile="dev", source="legato.toml", variables=(("a", "A"),)),
    }
    return TaskCall(**{**values, **changes})


def test_the_header_reads_before_the_function_and_inputs_load() -> None:
    received = _trip(_call(), with_fn=False)
    assert received.fn_data is None  # the worker has fn_id already
    fields = received.fields
    assert (fields["call_id"], fields["key"], fields["attempt"]) == (7, "train[2]", 2)
    assert set(fields) == {*wire.HEADER, *wire.PLAIN}


def test_equal_secrets_and_resources_decode_to_one_object() -> None:
    first, second = _trip(_call(call_id=1)), _trip(_call(call_id=2))
    assert first.fields["secrets"] is second.fields["secrets"]
    assert first.fields["resources"] is second.fields["resources"]


def test_the_header_is_plain_data() -> None:
    # The standard pickle of plain tuples is what keeps sending a call cheap: no class of
    # legato's is pickled with the header.
    version, header, _, _ = wire.encode(_call(), fn_data=None, args_data=b"")
    assert version == wire.VERSION

    def plain(value: object) -> bool:
        if isinstance(value, tuple):
            return all(plain(item) for item in value)
        return value is None or type(value) in (int, float, str, bool)

    assert plain(header)


@pytest.mark.parametrize(
    ("message", "sent"),
    [
        ((wire.VERSION + 1, (), None, b""), f"was sent version {wire.VERSION + 1}"),
        (((7, "r", "k"), None, b""), "was sent no version it knows"),  # before versions
        ((), "was sent no version it knows"),
        ("init", "was sent no version it knows"),
    ],
)
def test_a_version_the_worker_does_not_read_is_refused_clearly(message: object, sent: str) -> None:
    with pytest.raises(wire.WireVersionError) as caught:
        wire.decode(message)
    text = str(caught.value)
    assert f"reads task calls of wire version {wire.VERSION}" in text
    assert sent in text
    assert "different installs of legato" in text
