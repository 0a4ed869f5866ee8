"""The Ray executor's collector on the session's local Ray cluster: each outcome reaches
its key, an attempt submitted while the thread waits for a long one is seen at once, a
cancelled one arrives as Ray's error, and nothing arrives after the collector stops; the
inputs held as Ray objects are found wherever a call's arguments name them."""

from __future__ import annotations

import queue
import time
from typing import Any

import pytest
import ray
import ray_tasks

from legato.executors.ray_outcomes import Collector, held_inputs
from legato.model.artifacts import ArtifactRef
from legato.model.values import Dict, Given, Seq, Stored

pytestmark = [pytest.mark.timeout(120), pytest.mark.usefixtures("ray_local")]

Delivered = queue.SimpleQueue[tuple[Any, Any, BaseException | None]]


def collecting() -> tuple[Collector, Delivered]:
    delivered: Delivered = queue.SimpleQueue()
    return Collector(lambda key, value, error: delivered.put((key, value, error))), delivered


def pause(seconds: float) -> Any:
    return ray.remote(ray_tasks.pause).options(num_cpus=1, max_retries=0).remote(seconds)


def test_each_outcome_reaches_its_key() -> None:
    collector, delivered = collecting()
    try:
        for i in range(6):
            collector.add(pause(i / 100), f"key {i}")
        got = sorted(delivered.get(timeout=60) for _ in range(6))
    finally:
        collector.stop()
    assert got == [(f"key {i}", i / 100, None) for i in range(6)]


def test_one_added_while_a_long_one_is_waited_for_is_seen_at_once() -> None:
    collector, delivered = collecting()
    long = pause(60)
    try:
        collector.add(long, "long")
        time.sleep(1.0)  # the waits have grown to their longest
        began = time.monotonic()
        collector.add(pause(0), "short")
        assert delivered.get(timeout=30) == ("short", 0, None)
        assert time.monotonic() - began < 5.0
        ray.cancel(long, force=True)
        key, value, error = delivered.get(timeout=60)
    finally:
        collector.stop()
    assert (key, value) == ("long", None)
    assert isinstance(error, ray.exceptions.RayError)


def test_nothing_arrives_after_the_collector_stops() -> None:
    collector, delivered = collecting()
    ref = pause(0.5)
    collector.add(ref, "late")
    collector.stop()
    ray.get(ref)
    time.sleep(0.3)
    assert delivered.empty()


def stored(checksum: str) -> Given:
    ref = ArtifactRef(checksum=checksum, size=1, serializer="pickle", location=None)
    return Given(Stored(ref))


def test_held_inputs_are_found_at_any_depth_of_a_call_s_arguments() -> None:
    objects = {"a": "object a", "b": "object b", "c": "object c", "unread": "object unread"}
    args = (stored("a"), Seq((stored("x"), Dict((("k", stored("b")),)))))
    kwargs = (("named", Seq((Seq((stored("c"),)),))),)

    assert held_inputs(objects, args, kwargs) == {
        "a": "object a",
        "b": "object b",
        "c": "object c",
    }
    assert held_inputs({}, args, kwargs) == {}
