"""digest_with_list: the digest of a tuple holding a long list, written a thousand items at a
time, is the digest of the whole tuple (recorded pipeline versions keep their digests)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from legato.define import code_objects
from legato.define.code_objects import digest, digest_with_list

leaves = st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.floats()
tokens = st.recursive(
    leaves, lambda inner: st.tuples(inner, inner) | st.tuples(inner), max_leaves=8
)


@given(
    st.lists(tokens, max_size=3).map(tuple),
    st.lists(tokens, max_size=5),
    st.lists(tokens, max_size=2).map(tuple),
)
def test_the_digest_of_the_whole_tuple(head: tuple, items: list, tail: tuple) -> None:
    expected = digest((*head, tuple(items), *tail))
    assert digest_with_list(head, iter(items), len(items), tail) == expected


def test_a_list_longer_than_a_batch(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(code_objects, "_REPRS_AT_ONCE", 3)
    for n in (0, 1, 2, 3, 4, 7, 9):
        items = [("node", i, ("ref", f"n{i}")) for i in range(n)]
        expected = digest(("legato", "graph", tuple(items), ("lanes",)))
        assert digest_with_list(("legato", "graph"), iter(items), n, (("lanes",),)) == expected
