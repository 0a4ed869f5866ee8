"""The wait queue: an admission pass over runs of equal requests decides what a pass over
every waiting instance would, and looks once per run."""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from legato import Capacity
from legato.engine.resources import Admission, ResourcePool
from legato.engine.scheduler.waiting import WaitQueue


def entry(amounts: Mapping[str, float], name: int) -> Any:
    """What the queue reads of a task instance: its node's amounts."""
    return SimpleNamespace(node=SimpleNamespace(amounts=amounts), name=name)


def pool(cpus: float = 2, gpus: int = 1, slots: int = 8) -> ResourcePool:
    return ResourcePool(Capacity(cpus=cpus, memory=2**30, gpus=gpus, slots=slots))


def one_by_one(p: ResourcePool, waiting: list[Any]) -> tuple[list[int], list[int]]:
    """A pass that looks at every waiting instance in order (what the queue must equal):
    admitted ones are acquired at once; it stops once an admission leaves no slot."""
    admission, admitted, rest = Admission(p), [], list(waiting)
    i = 0
    while i < len(rest):
        e = rest[i]
        if admission.admit(e.node.amounts):
            p.acquire(e.node.amounts)
            admitted.append(rest.pop(i).name)
            if admission.exhausted:
                break
        else:
            i += 1
    return admitted, [e.name for e in rest]


def by_runs(p: ResourcePool, waiting: list[Any]) -> tuple[list[int], list[int]]:
    queue = WaitQueue()
    for e in waiting:
        queue.append(e)
    admitted = []
    for e in queue.admitted(Admission(p)):
        p.acquire(e.node.amounts)
        admitted.append(e.name)
    assert len(queue) == len(waiting) - len(admitted)
    return admitted, [e.name for e in queue]


_KINDS = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "cpus": st.sampled_from([0.5, 1.0, 2.0]),
            "gpus": st.sampled_from([0.5, 1.0]),
        },
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(
    kinds=_KINDS,
    order=st.lists(st.integers(0, 3), min_size=1, max_size=40),
    held=st.lists(st.integers(0, 3), max_size=3),
    slots=st.integers(1, 10),
)
def test_a_pass_over_runs_decides_what_a_pass_over_every_instance_does(
    kinds: list[dict[str, float]], order: list[int], held: list[int], slots: int
) -> None:
    # Runs of one shared amounts mapping (a map's items), mixed with equal but distinct
    # mappings, behind requests already running.
    waiting = [entry(kinds[k % len(kinds)], n) for n, k in enumerate(order)]
    outcomes = []
    for decide in (one_by_one, by_runs):
        p = pool(slots=slots)
        for k in held:
            if p.fits(kinds[k % len(kinds)]):
                p.acquire(kinds[k % len(kinds)])
        outcomes.append((decide(p, waiting), p.free))
    assert outcomes[0] == outcomes[1]


class Counting(Admission):
    """A real admission that counts the requests it is asked about."""

    looks = 0

    def admit(self, amounts: Mapping[str, float]) -> bool:
        Counting.looks += 1
        return super().admit(amounts)


def test_a_refused_run_costs_one_look_however_long() -> None:
    # A map of 10,000 one-CPU items on an executor with more slots than CPUs (Ray): once
    # the CPUs are taken, every later pass used to walk all 10,000 waiting items.
    amounts = {"cpus": 1.0}
    p = pool(cpus=2, slots=16)
    queue = WaitQueue()
    for n in range(10_000):
        queue.append(entry(amounts, n))
    started = []
    for e in queue.admitted(Admission(p)):
        p.acquire(amounts)
        started.append(e.name)
    assert started == [0, 1]
    Counting.looks = 0
    assert list(queue.admitted(Counting(p))) == []
    assert Counting.looks == 1
    assert len(queue) == 9_998
    assert (queue[0].name, queue[9_997].name) == (2, 9_999)


def test_instances_queued_during_a_pass_are_looked_at_in_it() -> None:
    small, other = {"cpus": 1.0}, {"gpus": 1.0}
    p = pool(cpus=4, gpus=1, slots=8)
    queue = WaitQueue()
    queue.append(entry(small, 0))
    seen = []
    for e in queue.admitted(Admission(p)):
        p.acquire(e.node.amounts)
        seen.append(e.name)
        if e.name == 0:
            queue.append(entry(small, 1))  # a dependent that became ready
            queue.appendleft(entry(other, 2))  # a mapped sub-pipeline's next step
    assert seen == [0, 2, 1]
    assert not queue

    # Queued first into a run the pass has emptied already.
    queue.append(entry(small, 3))
    queue.append(entry(other, 4))
    seen = []
    for e in queue.admitted(Admission(pool(cpus=4, gpus=1, slots=8))):
        seen.append(e.name)
        if e.name == 4:
            queue.appendleft(entry(small, 5))
    assert seen == [3, 4, 5]


def test_popleft_and_clear_keep_the_count() -> None:
    a, b = {"cpus": 1.0}, {"cpus": 2.0}
    queue = WaitQueue()
    for n, amounts in enumerate([a, a, b, a]):
        queue.append(entry(amounts, n))
    queue.appendleft(entry(b, 9))
    assert [e.name for e in queue] == [9, 0, 1, 2, 3]
    assert (queue.popleft().name, queue.popleft().name) == (9, 0)
    assert len(queue) == 3
    queue.clear()
    assert not queue
    assert (len(queue), list(queue)) == (0, [])
