"""Cache lookups a batch at a time: the scheduler asks about at most ``LOOKUP_AT_ONCE``
ready instances per lookup, asks again as those answered run short, and never lets
instances that wait for a taken resource keep others from being asked about and started.
Driven by hand (the driver's part played here), with ``LOOKUP_AT_ONCE`` made small."""

from __future__ import annotations

from typing import Any

import pytest

import legato
from legato import Capacity, RunState
from legato.engine.caching import Verdict
from legato.engine.plan import build_plan
from legato.engine.scheduler import LookUp, Scheduler, Submit, lookups
from legato.model.calls import OutcomeKind, TaskCall, TaskOutcome
from legato.model.values import Inline

from .test_scheduler import _spread, _step

AT_ONCE = 8


@pytest.fixture(autouse=True)
def _small_lookups(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lookups, "LOOKUP_AT_ONCE", AT_ONCE)


@legato.task(resources=legato.Resources(gpus=1))
def _on_gpu(x: int) -> int:
    return x


@legato.pipeline
def _mapped() -> list[int]:
    return _step.map(_spread(50))


@legato.pipeline
def _gpu_items_then_cpu() -> tuple[list[int], int]:
    """20 items that each need the one GPU, and a CPU task made ready after them."""
    numbers = _spread(20)
    return _on_gpu.map(numbers), _step(numbers)


class Driver:
    """Answers lookups with misses, hands calls over at once, reports outcomes in order."""

    def __init__(self, pipeline: legato.Pipeline[[], Any], capacity: Capacity, spread: int) -> None:
        self.spread = spread
        """How many numbers ``_spread`` returns in this pipeline."""
        self.scheduler = Scheduler(
            run_id="lookups",
            plan=build_plan(pipeline.graph, {}),
            capacity=capacity,
            executor="simulated",
            caching=True,
        )
        self.lookups: list[int] = []
        self.running: list[TaskCall] = []
        self.started: list[str] = []
        self.most_bound = 0

    def absorb(self) -> None:
        scheduler = self.scheduler
        while True:
            _, commands = scheduler.take()
            lookup = None
            for command in commands:
                if isinstance(command, Submit):
                    self.running.append(command.call)
                    self.started.append(command.call.key)
                elif isinstance(command, LookUp):
                    lookup = command
            bound = sum(1 for e in scheduler.table.entries.values() if e.bound is not None)
            self.most_bound = max(self.most_bound, bound)
            if lookup is None:
                return
            self.lookups.append(len(lookup.requests))
            misses = [(Verdict(None, None, None, "cache: miss"), None) for _ in lookup.requests]
            scheduler.on_verdicts(misses, 0.0)
            scheduler.step(0.0)

    def play(self) -> None:
        scheduler = self.scheduler
        scheduler.start(0.0)
        scheduler.step(0.0)
        self.absorb()
        while self.running:
            call = self.running.pop(0)
            value: Any = list(range(self.spread)) if call.task == "_spread" else 1
            scheduler.on_outcome(
                TaskOutcome(
                    call_id=call.call_id,
                    key=call.key,
                    attempt=call.attempt,
                    kind=OutcomeKind.SUCCEEDED,
                    output=Inline(value),
                    length=len(value) if isinstance(value, list) else None,
                    started_at=0.0,
                    ended_at=0.001,
                ),
                0.0,
            )
            scheduler.step(0.0)
            self.absorb()
        assert scheduler.done


def test_a_big_map_is_looked_up_a_batch_at_a_time() -> None:
    """50 items: each lookup asks about 8 at most, every item is asked about once and runs,
    and no more than two batches and the calls in flight are bound at any moment."""
    driver = Driver(_mapped, Capacity(cpus=2, memory=1024**3, slots=2), 50)
    driver.play()
    assert max(driver.lookups) == AT_ONCE
    assert sum(driver.lookups) == 1 + 50  # the source, then its items
    assert len([k for k in driver.started if k.startswith("_step[")]) == 50
    assert driver.most_bound <= 2 * AT_ONCE + 2
    assert driver.scheduler.ledger.run.state is RunState.SUCCEEDED


def test_instances_waiting_for_a_taken_resource_do_not_hold_back_others() -> None:
    """The GPU items answered first fill the ready queue but cannot start (one GPU); the
    free slot makes the scheduler ask about the CPU task behind them, which starts while
    most GPU items still wait."""
    driver = Driver(_gpu_items_then_cpu, Capacity(cpus=4, memory=1024**3, gpus=1, slots=2), 20)
    driver.play()
    started = driver.started
    assert started.index("_step") < started.index("_on_gpu[3]")
    assert len([k for k in started if k.startswith("_on_gpu[")]) == 20
    assert driver.scheduler.ledger.run.state is RunState.SUCCEEDED
