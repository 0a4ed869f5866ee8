"""Resource accounting: the pool, GPU indices, and admission that never starves a big task."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from legato import Capacity
from legato.engine.resources import Admission, ResourcePool, exceeds

GiB = 1024**3


def pool(**amounts: float) -> ResourcePool:
    capacity = Capacity(
        cpus=amounts.pop("cpus", 4),
        memory=int(amounts.pop("memory", 8 * GiB)),
        gpus=int(amounts.pop("gpus", 0)),
        slots=int(amounts.pop("slots", 8)),
        custom=amounts,
    )
    return ResourcePool(capacity)


def admit_all(p: ResourcePool, requests: list[dict[str, float]]) -> list[bool]:
    """One admission pass as the loop makes it: admitted requests are acquired at once."""
    admission = Admission(p)
    out = []
    for amounts in requests:
        ok = admission.admit(amounts)
        if ok:
            p.acquire(amounts)
        out.append(ok)
    return out


# --------------------------------------------------------------------------- the pool


def test_acquire_and_release_move_amounts_and_one_slot() -> None:
    p = pool(cpus=4, slots=3, db=2)
    assert p.idle
    p.acquire({"cpus": 1.5, "db": 1})
    assert p.free["cpus"] == 2.5
    assert p.free["db"] == 1
    assert p.free["slots"] == 2
    assert not p.idle
    assert p.fits({"cpus": 2.5, "db": 1})
    assert not p.fits({"cpus": 2.6})
    assert not p.fits({"db": 1.5})
    p.release({"cpus": 1.5, "db": 1})
    assert p.free == p.total
    assert p.idle


def test_a_request_for_an_unknown_resource_never_fits() -> None:
    assert not pool().fits({"licence": 1})


def test_no_free_slot_means_nothing_fits() -> None:
    p = pool(slots=1)
    p.acquire({})
    assert not p.fits({})
    assert not p.fits({"cpus": 0.5})


def test_gpu_indices_are_distinct_while_held_and_come_back() -> None:
    p = pool(gpus=4)
    first = p.acquire({"gpus": 2})
    second = p.acquire({"gpus": 1})
    assert first == (0, 1)
    assert second == (2,)
    p.release({"gpus": 2}, first)
    third = p.acquire({"gpus": 3})
    assert set(third).isdisjoint(second)
    assert sorted(third) == [0, 1, 3]
    assert p.acquire({"cpus": 1}) == ()  # no GPU asked, none given
    p.release({"gpus": 1}, second)
    p.release({"gpus": 3}, third)
    assert p.acquire({"gpus": 4}) == (0, 1, 2, 3)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(1, 3)), max_size=40))
def test_gpu_indices_are_never_handed_out_twice(steps: list[tuple[bool, int]]) -> None:
    p = pool(gpus=4, slots=100)
    held: list[tuple[int, ...]] = []
    for take, n in steps:
        if take and p.fits({"gpus": n}):
            held.append(p.acquire({"gpus": n}))
        elif held:
            ids = held.pop(0)
            p.release({"gpus": len(ids)}, ids)
        flat = [i for ids in held for i in ids]
        assert len(flat) == len(set(flat))
        assert all(0 <= i < 4 for i in flat)
        assert p.free["gpus"] == 4 - len(flat)


def test_exceeds_names_the_first_amount_that_can_never_fit() -> None:
    capacity = Capacity(cpus=2, memory=GiB, gpus=1, custom={"db": 1})
    assert exceeds({"cpus": 2, "memory": GiB, "gpus": 1, "db": 1}, capacity) is None
    assert exceeds({"cpus": 3}, capacity) == ("cpus", 3, 2)
    assert exceeds({"gpus": 2}, capacity) == ("gpus", 2, 1)
    assert exceeds({"licence": 1}, capacity) == ("licence", 1, 0)


# --------------------------------------------------------------------------- admission


def test_a_big_task_at_the_head_is_not_starved_by_small_ones() -> None:
    p = pool(cpus=2, slots=8)
    running = {"cpus": 1.0}
    p.acquire(running)  # one small task runs
    queue = [{"cpus": 2.0}] + [{"cpus": 1.0}] * 5
    # The free CPU would fit each small task, but the big one is first in line.
    assert admit_all(p, queue) == [False] * 6
    p.release(running)
    assert admit_all(p, queue) == [True] + [False] * 5


def test_requests_behind_a_blocked_one_still_use_what_it_does_not_need() -> None:
    p = pool(cpus=4, slots=8, db=1)
    p.acquire({"db": 1})  # the only db licence is taken
    queue = [{"cpus": 1.0, "db": 1.0}, {"cpus": 1.0}, {"cpus": 1.0}, {"cpus": 1.0}, {"db": 1.0}]
    # The first is short of db and keeps the 1 CPU it needs; the others share the rest.
    assert admit_all(p, queue) == [False, True, True, True, False]
    assert p.free["cpus"] == 1


def test_a_task_short_only_on_gpus_does_not_block_cpu_only_tasks() -> None:
    p = pool(cpus=4, gpus=1, slots=8)
    p.acquire({"gpus": 1, "cpus": 1})  # a GPU task runs
    queue = [{"gpus": 1.0, "cpus": 1.0}, {"cpus": 1.0}, {"cpus": 1.0}, {"cpus": 1.0}]
    # The waiting GPU task reserves the one CPU it will need; the rest is used.
    assert admit_all(p, queue) == [False, True, True, False]


def test_many_waiting_gpu_tasks_do_not_block_cpu_only_tasks() -> None:
    p = pool(cpus=4, gpus=1, slots=8)
    p.acquire({"gpus": 1, "cpus": 1})
    gpu = {"gpus": 1.0, "cpus": 1.0}
    queue = [gpu, gpu, gpu, {"cpus": 1.0}, {"cpus": 1.0}, {"cpus": 1.0}]
    # Only the first GPU task can be next on the GPU: the ones behind it hold nothing back,
    # or three queued GPU tasks would keep every CPU idle while one GPU task runs.
    assert admit_all(p, queue) == [False, False, False, True, True, False]


def test_admission_is_exhausted_when_no_slot_is_left() -> None:
    p = pool(cpus=8, slots=2)
    admission = Admission(p)
    assert not admission.exhausted
    assert admission.admit({"cpus": 1})
    p.acquire({"cpus": 1})
    assert admission.admit({"cpus": 1})
    p.acquire({"cpus": 1})
    assert admission.exhausted
    assert not admission.admit({})


_REQUESTS = st.fixed_dictionaries(
    {},
    optional={
        "cpus": st.sampled_from([0.5, 1.0, 2.0, 3.0]),
        "gpus": st.sampled_from([1.0, 2.0]),
        "db": st.sampled_from([1.0, 2.0]),
    },
)


@settings(max_examples=200, deadline=None)
@given(
    running=st.lists(_REQUESTS, max_size=4),
    queue=st.lists(_REQUESTS, min_size=1, max_size=10),
)
def test_one_admission_pass_keeps_its_promises(
    running: list[dict[str, float]], queue: list[dict[str, float]]
) -> None:
    p = pool(cpus=4, gpus=2, db=2, slots=6)
    for amounts in running:
        if p.fits(amounts):
            p.acquire(amounts)
    free_before = dict(p.free)
    admitted = admit_all(p, queue)

    # Nothing is over-committed.
    assert all(v >= -1e-9 for v in p.free.values()), p.free
    # The head of the line starts whenever it fits.
    if all(free_before.get(k, 0) >= v for k, v in queue[0].items()) and free_before["slots"] >= 1:
        assert admitted[0]
    # Once a request waits for some resource, no later request takes any of it, and what
    # the first waiting request needs of the rest stays free for it.
    blocked = [i for i, ok in enumerate(admitted) if not ok]
    if blocked and p.free["slots"] >= 1:
        first = queue[blocked[0]]
        free_at_block = dict(free_before)
        for i in range(blocked[0]):
            for k, v in queue[i].items():
                free_at_block[k] -= v
        short = {k for k, v in first.items() if v > free_at_block.get(k, 0) + 1e-9}
        assert short, "a request that fits was refused"
        for later, ok in zip(queue[blocked[0] + 1 :], admitted[blocked[0] + 1 :], strict=True):
            if ok:
                assert not short & {k for k, v in later.items() if v > 0}, (first, later)
        for k, v in first.items():
            if k not in short:
                assert p.free[k] >= v - 1e-9, (k, first, p.free)


@settings(max_examples=200, deadline=None)
@given(
    running=st.lists(_REQUESTS, max_size=4),
    kinds=st.lists(_REQUESTS, min_size=1, max_size=3),
    order=st.lists(st.integers(0, 2), min_size=1, max_size=30),
)
def test_a_pass_decides_the_same_for_shared_and_equal_amounts(
    running: list[dict[str, float]], kinds: list[dict[str, float]], order: list[int]
) -> None:
    # The items of a map share one amounts object, which a pass may refuse at once once it
    # was refused; the decisions are those for equal but distinct requests.
    queue = [kinds[i % len(kinds)] for i in order]
    decided = []
    for requests in (queue, [dict(amounts) for amounts in queue]):
        p = pool(cpus=4, gpus=2, db=2, slots=40)
        for amounts in running:
            if p.fits(amounts):
                p.acquire(amounts)
        decided.append((admit_all(p, requests), p.free))
    assert decided[0] == decided[1]


@pytest.mark.parametrize("slots", [1, 3])
def test_a_pool_with_free_slots_but_no_room_blocks_every_user_of_the_short_resource(
    slots: int,
) -> None:
    p = pool(cpus=1, slots=slots + 1)
    p.acquire({"cpus": 1})
    assert admit_all(p, [{"cpus": 0.5}, {}, {"cpus": 0.5}]) == [False, True, False]
