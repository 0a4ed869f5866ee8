"""Pipelines that misuse branches, joins, trigger rules and finally blocks: each marked line
is where the error must point."""

from __future__ import annotations

import legato
from legato import pipeline, task


@task
def score(x: float) -> float:
    return x


@task
def beats(x: float) -> bool:
    return x > 0.5


@task
def deploy(x: float) -> str:
    return str(x)


@task
def keep(x: float) -> str:
    return str(x)


@task
def notify(message: str) -> None:
    print(message)


@pipeline
def param_condition(flag: bool = True) -> None:
    with legato.when(flag):  # <- bad: param_condition
        deploy(1.0)


@pipeline
def literal_condition() -> None:
    with legato.when(True):  # <- bad: literal_condition
        deploy(1.0)


@pipeline
def branch_value_outside() -> None:
    s = score(0.9)
    with legato.when(beats(s)):
        deployed = deploy(s)
    notify(deployed)  # <- bad: outside


@pipeline
def branch_value_returned() -> str:
    s = score(0.9)
    with legato.when(beats(s)):
        deployed = deploy(s)  # <- bad: returned
    return deployed


@pipeline
def other_branch_value() -> None:
    s = score(0.9)
    with legato.when(beats(s)):
        deployed = deploy(s)
    with legato.otherwise():
        notify(deployed)  # <- bad: other_branch


@pipeline
def otherwise_alone() -> None:
    s = score(0.9)
    with legato.otherwise():  # <- bad: otherwise_alone
        keep(s)


@pipeline
def one_of_single() -> str:
    s = score(0.9)
    with legato.when(beats(s)):
        deployed = deploy(s)
    return legato.one_of(deployed)  # <- bad: one_of_single


@pipeline
def finally_first() -> None:
    with legato.finally_():  # <- bad: finally_first
        notify("done")


@pipeline
def finally_inside() -> None:
    with legato.block() as b:
        score(0.9)
        with b.finally_():  # <- bad: finally_inside
            notify("done")


def bad_trigger() -> None:
    @task(trigger="always")  # <- bad: trigger
    def report() -> None:
        pass


@pipeline
def item_branch_value(x: float) -> str:
    with legato.when(beats(score(x))):
        deployed = deploy(x)  # <- bad: item_returned
    return deployed


@pipeline
def every_item_branch_value() -> list[str]:
    return item_branch_value.map([0.1, 0.9])


@pipeline
def item_branch_read(x: float) -> str:
    with legato.when(beats(score(x))):
        deployed = deploy(x)
    with legato.otherwise():
        keep(x)
    return notify(deployed)  # <- bad: item_read


@pipeline
def every_item_branch_read() -> list[str]:
    return item_branch_read.map([0.1, 0.9])


@pipeline
def inner(y: float) -> str:
    return deploy(y)


@pipeline
def lane_in_item_branch(x: float) -> str:
    with legato.when(beats(score(x))):
        deployed = inner.map([1.0, 2.0])  # <- bad: lane_in_item_branch
    with legato.otherwise():
        kept = keep(x)
    return legato.one_of(deployed, kept)


@pipeline
def every_lane_in_item_branch() -> list[str]:
    return lane_in_item_branch.map([0.1, 0.9])


@pipeline
def fallback(x: float) -> None:
    with legato.otherwise():  # <- bad: otherwise_in_callee
        keep(x)


@pipeline
def chain_into_callee() -> None:
    s = score(0.9)
    with legato.when(beats(s)):
        deploy(s)
    fallback(s)  # its otherwise does not continue the when above


@pipeline
def mapped_fallback(x: float) -> float:
    checked = score(x)
    with legato.otherwise_when(beats(checked)):  # <- bad: otherwise_in_mapped_callee
        keep(x)
    return checked


@pipeline
def chain_into_mapped_callee() -> None:
    s = score(0.9)
    with legato.when(beats(s)):
        deploy(s)
    mapped_fallback.map([0.1, 0.9])


@pipeline
def gate(x: float) -> None:
    with legato.when(beats(score(x))):
        deploy(x)


@pipeline
def chain_out_of_callee() -> None:
    gate(0.9)
    with legato.otherwise():  # <- bad: otherwise_after_callee
        keep(0.9)
