"""The relay's ordering of what one worker sends, on the actor's class itself (no cluster):
numbered messages pass on in their order whatever order their calls ran in, and one whose
predecessor never comes is passed on after ``GAP_WAIT_S``."""

from __future__ import annotations

import asyncio

import pytest

from legato.executors import ray_relay
from legato.executors.ray_relay import Relay, Sequencer


def test_numbered_messages_pass_on_in_order_per_sender_and_unnumbered_at_once() -> None:
    async def scenario() -> list[list[bytes]]:
        relay = Relay()
        await relay.put(b"a2", "a", 2)
        await relay.put(b"b0", "b", 0)
        await relay.put(b"a1", "a", 1)
        await relay.put(b"plain")
        first = await relay.take(0)
        await relay.put(b"a0", "a", 0)
        await relay.put(b"a3", "a", 3)
        return [first, await relay.take(0)]

    assert asyncio.run(scenario()) == [[b"b0", b"plain"], [b"a0", b"a1", b"a2", b"a3"]]


def test_a_message_whose_predecessor_never_comes_passes_on_after_the_gap_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ray_relay, "GAP_WAIT_S", 0.05)

    async def scenario() -> list[list[bytes]]:
        relay = Relay()
        await relay.put(b"w0", "w", 0)
        await relay.put(b"w2", "w", 2)  # w1 is lost with its worker
        await relay.put(b"w3", "w", 3)
        held = await relay.take(0)
        await asyncio.sleep(0.1)
        given_up = await relay.take(0)
        await relay.put(b"w4", "w", 4)  # the numbering goes on from there
        await relay.put(b"w1", "w", 1)  # too late: passed on, not dropped
        return [held, given_up, await relay.take(0)]

    assert asyncio.run(scenario()) == [[b"w0"], [b"w2", b"w3"], [b"w4", b"w1"]]


def test_a_sender_numbers_from_zero_for_each_relay() -> None:
    sequencer = Sequencer()
    assert [sequencer.next("r1"), sequencer.next("r1"), sequencer.next("r2")] == [0, 1, 0]
    assert sequencer.sender != Sequencer().sender
