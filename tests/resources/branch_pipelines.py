"""Pipelines with conditional branches, trigger rules and finally blocks, importable by
worker processes. Tasks note each call in the ledger (``LEGATO_TEST_LEDGER``) when one is
set, so a test can count what really ran."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from ledger_notes import note

import legato
from legato import FailedInput, pipeline, task


def _note(*parts: object) -> None:
    if os.environ.get("LEGATO_TEST_LEDGER"):
        note(*parts)


@task
def score(value: float) -> float:
    _note("score", value)
    return value


@task
def beats(new: float, baseline: float) -> bool:
    _note("beats", new, baseline)
    return new > baseline


@task
def above(value: float, limit: float) -> bool:
    return value > limit


@task
def deploy(new: float) -> str:
    _note("deploy", new)
    return f"deployed {new}"


@task
def keep(baseline: float) -> str:
    _note("keep", baseline)
    return f"kept {baseline}"


@task
def tell(message: str) -> str:
    _note("tell", message)
    return message.upper()


@task
def flaky(value: float) -> float:
    """Fails while the file ``LEGATO_TEST_FLAG`` names exists."""
    _note("flaky")
    if os.path.exists(os.environ.get("LEGATO_TEST_FLAG", "")):
        raise ValueError("flag is up")
    return value


@task
def explode(value: float) -> float:
    _note("explode")
    raise ValueError(f"bad value {value}")


def _seen(inputs: tuple[Any, ...]) -> list[str]:
    return [
        f"{i.task} {i.state} {i.kind}" if isinstance(i, FailedInput) else repr(i) for i in inputs
    ]


@task(trigger="all_done")
def report(*inputs: Any) -> list[str]:
    seen = _seen(inputs)
    _note("report", "|".join(seen).replace(" ", "_"))
    return seen


@task(trigger="any_failed")
def alert(*inputs: Any) -> str:
    failed = [i for i in inputs if isinstance(i, FailedInput) and not i.skipped]
    message = ", ".join(f"{i.task}: {i.error_type} {i.message}" for i in failed)
    _note("alert", message.replace(" ", "_"))
    return message


@task
def cleanup(*inputs: Any) -> str:
    done = "clean " + " ".join(
        f"{i.task}={i.state}" if isinstance(i, FailedInput) else "ok" for i in inputs
    )
    _note("cleanup", done.replace(" ", "_"))
    return done


@task
def broken_cleanup(*inputs: Any) -> str:
    _note("broken_cleanup")
    raise RuntimeError("the cleanup failed too")


@task
def sleepy(seconds: float) -> float:
    _note("sleepy")
    time.sleep(seconds)
    return seconds


@pipeline
def deploy_if_better(new: float = 0.9, baseline: float = 0.8) -> str:
    s = score(new)
    with legato.when(beats(s, baseline)):
        deployed = deploy(s)
        told = tell(deployed)
    with legato.otherwise():
        kept = keep(baseline)
    return legato.one_of(told, kept)


@pipeline
def chained(value: float = 5.0) -> str:
    v = score(value)
    with legato.when(above(v, 10.0)):
        big = tell("big")
    with legato.otherwise_when(above(v, 1.0)):
        with legato.when(above(v, 3.0)):
            medium = tell("medium")
        with legato.otherwise():
            small = tell("small")
        sized = legato.one_of(medium, small)
    with legato.otherwise():
        tiny = tell("tiny")
    return legato.one_of(big, sized, tiny)


@task
def checks(value: float) -> dict[str, bool]:
    return {"drift": value > 0.5, "nulls": False}


@pipeline
def indexed_condition(new: float = 0.9) -> str:
    found = checks(new)
    with legato.when(found["drift"]):
        retrained = tell("retrain")
    with legato.otherwise():
        kept = tell("keep")
    return legato.one_of(retrained, kept)


@pipeline
def map_in_branch(new: float = 0.9) -> Any:
    s = score(new)
    with legato.when(beats(s, 0.5)):
        told = tell.map(["a", "b"])
    with legato.otherwise():
        kept = keep(s)
    return legato.one_of(told, kept)


@pipeline
def triggered(new: float = 0.9) -> list[str]:
    ok = score(new)
    bad = explode(new)
    alert(ok, bad)
    return report(ok, bad)


@pipeline
def nothing_failed(new: float = 0.9) -> float:
    ok = score(new)
    alert(ok)
    return ok


@pipeline
def no_otherwise(value: float = 5.0) -> str:
    """A chain with no ``otherwise``: below 1.0 no branch runs and the join is skipped."""
    v = score(value)
    with legato.when(above(v, 10.0)):
        big = tell("big")
    with legato.otherwise_when(above(v, 1.0)):
        medium = tell("medium")
    return legato.one_of(big, medium)


@pipeline
def reads_skipped_join(value: float = 5.0) -> dict[str, Any]:
    """Returns a task reading the join of :func:`no_otherwise`'s chain, beside a value."""
    v = score(value)
    with legato.when(above(v, 10.0)):
        big = tell("big")
    with legato.otherwise_when(above(v, 1.0)):
        medium = tell("medium")
    return {"value": v, "told": tell(legato.one_of(big, medium))}


@pipeline
def verdict(value: float) -> str:
    with legato.when(above(value, 0.5)):
        high = tell("high")
    with legato.otherwise():
        low = tell("low")
    return legato.one_of(high, low)


@pipeline
def chain_around_a_call(new: float = 0.9) -> list[str]:
    """A sub-pipeline with a chain of its own, called between a `when` and its
    `otherwise`: the caller's chain goes on after it, untouched."""
    s = score(new)
    with legato.when(beats(s, 0.5)):
        deployed = deploy(s)
    said = verdict(s)
    with legato.otherwise():
        kept = keep(s)
    return [legato.one_of(deployed, kept), said]


@pipeline
def skipped_into_trigger(new: float = 0.1) -> list[str]:
    s = score(new)
    with legato.when(beats(s, 0.5)):
        deployed = deploy(s)
    return report(s, deployed)


@pipeline
def with_finally(new: float = 0.9) -> str:
    s = score(new)
    with legato.block() as training:
        checked = score(s)
        deployed = deploy(checked)
    with training.finally_():
        done = cleanup(deployed, checked)
    return done


@pipeline
def finally_after_failure(new: float = 0.9) -> str:
    s = score(new)
    with legato.block() as training:
        checked = explode(s)
        deployed = deploy(checked)
    with training.finally_():
        done = cleanup(deployed, checked)
    return done


@pipeline
def resumed_finally(new: float = 0.9) -> str:
    s = score(new)
    with legato.when(beats(s, 0.5)):
        checked = flaky(s)
    with legato.otherwise():
        kept = keep(s)
    value = legato.one_of(checked, kept)
    with legato.finally_():
        done = cleanup(value)
    return done


@task(trigger="all_done")
def describe(item: Any, failed: Any) -> str:
    return f"{item}: {failed}"


@pipeline
def mapped_trigger(new: float = 0.9) -> list[str]:
    return describe.map(["a", "b"], explode(new))


@pipeline
def failing_finally(new: float = 0.9) -> float:
    bad = explode(new)
    with legato.finally_():
        broken_cleanup(bad)
    return bad


@pipeline
def cancelled_finally(seconds: float = 30.0) -> str:
    slow = sleepy(seconds)
    with legato.finally_():
        done = cleanup(slow)
    return done


def main(argv: list[str]) -> int:
    """A script for crash tests: ``run NEW [EXECUTOR]`` or ``resume RUN_ID``."""
    if argv[1] == "run":
        executor = argv[3] if len(argv) > 3 else "inline"
        result = legato.run(deploy_if_better, {"new": float(argv[2])}, executor=executor)
    else:
        result = legato.resume(argv[2])
    print(result.run_id, result.state.value, result.output if result.ok else "")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
