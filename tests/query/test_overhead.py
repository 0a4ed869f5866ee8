"""What legato spends around a task's function, per attempt and per task, read from the
events of real runs: the time queued (ready to running) and the overhead (the attempt's
wall time less what the worker measured); none made up where an event does not say."""

from __future__ import annotations

import overhead_pipelines as op
import pytest

import legato
from legato.config import load_settings
from legato.engine.storage import open_storage
from legato.query.tasks import task_list


@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_each_attempt_says_what_legato_spent_around_the_function(executor: str) -> None:
    storage = open_storage(load_settings())
    done = legato.run(op.napping, {"seconds": 0.2}, executor=executor, store=storage)
    assert done.ok
    tasks = {t.key: t for t in task_list(storage.runs, done.run_id).tasks}
    nap = tasks["nap"]
    assert [a.state for a in nap.attempts] == ["retry_wait", "succeeded"]
    for attempt in nap.attempts:
        assert attempt.ran_for is not None
        assert attempt.ran_for >= 0.2
        assert attempt.started_at is not None
        assert attempt.ended_at is not None
        wall = attempt.ended_at - attempt.started_at
        assert attempt.overhead is not None
        assert 0 <= attempt.overhead < wall - 0.19
        assert attempt.ready_at is not None
        assert attempt.queued is not None
        assert attempt.ready_at <= attempt.started_at
        assert attempt.queued >= 0
    assert nap.overhead == pytest.approx(sum(a.overhead or 0 for a in nap.attempts))
    assert nap.queued == pytest.approx(sum(a.queued or 0 for a in nap.attempts))


def test_a_cache_hit_never_ran_and_has_no_figures() -> None:
    storage = open_storage(load_settings())
    legato.run(op.napping, {"seconds": 0.0}, executor="inline", store=storage)
    again = legato.run(op.napping, {"seconds": 0.0}, executor="inline", store=storage)
    tasks = {t.key: t for t in task_list(storage.runs, again.run_id).tasks}
    hit = tasks["nap"]
    assert hit.cache.hit_from is not None
    assert [(a.started_at, a.ran_for, a.overhead) for a in hit.attempts] == [(None, None, None)]
    assert hit.overhead is None
    assert hit.queued is None
