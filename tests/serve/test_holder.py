"""The candidate slot and the follower, on a real registry: a version tried before the alias
names it is the very object swapped in when the alias moves to it."""

from __future__ import annotations

import pytest
import serve_models as sm

from legato.errors import UnknownModelError
from legato.registry import Registry
from legato.serve.holder import Candidate, Follower, ModelHolder, load_version

from .conftest import publish


def test_the_candidate_tried_is_the_object_served_once_the_alias_moves(
    registry: Registry,
) -> None:
    first = publish(registry, 1.0)
    second = registry.register("rowsum", sm.RowSum(2.0), signature=sm.SIGNATURE)
    holder = ModelHolder(load_version(registry, first))
    candidate = Candidate(registry, "rowsum")
    follower = Follower(registry, "rowsum@production", holder, 0, candidate)

    tried = candidate.get(2)
    assert candidate.get(2) is tried  # held: not loaded again
    assert not follower.check()  # the alias has not moved: version 1 still served
    assert holder.current is not None
    assert holder.current.version.version == 1

    registry.set_alias("rowsum", "production", second.version, reason="deployed")
    assert follower.check()
    assert holder.current is tried
    assert candidate.take(second) is None  # the slot was emptied by the swap


def test_the_candidate_slot_holds_one_version(registry: Registry) -> None:
    publish(registry, 1.0)
    registry.register("rowsum", sm.RowSum(2.0), signature=sm.SIGNATURE)
    candidate = Candidate(registry, "rowsum")

    one, two = candidate.get(1), candidate.get(2)

    assert (one.version.version, two.version.version) == (1, 2)
    assert candidate.take(one.version) is None  # replaced by version 2
    with pytest.raises(UnknownModelError):
        candidate.get(3)
    assert candidate.take(two.version) is two
