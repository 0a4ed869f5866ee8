"""Conditions inside mapped sub-pipelines, decided per item, and a mapped sub-pipeline inside
a condition, importable by worker processes. Tasks note each call in the ledger
(``LEGATO_TEST_LEDGER``) when one is set, so a test can count what really ran; run as a
script it is the crash test's pipeline (``run [EXECUTOR]`` or ``resume RUN_ID``)."""

from __future__ import annotations

import os
import sys
from typing import Any

from ledger_notes import note

import legato
from legato import keyed, pipeline, task

CUSTOMERS = ["acme", "bolt", "crux", "dyne"]
DRIFT = {"acme": 0.9, "bolt": 0.1, "crux": 0.7, "dyne": 0.3}
"""acme and crux drift (retrained), bolt and dyne do not (kept)."""


def _note(*parts: object) -> None:
    if os.environ.get("LEGATO_TEST_LEDGER"):
        note(*parts)


@task
def drift(customer: str) -> float:
    _note("drift", customer)
    return DRIFT[customer]


@task
def needs_retrain(value: float) -> bool:
    return value > 0.5


@task
def above(value: float, limit: float) -> bool:
    return value > limit


@task
def retrain(customer: str) -> str:
    _note("retrain", customer)
    return f"retrained {customer}"


@task
def keep(customer: str) -> str:
    _note("keep", customer)
    return f"kept {customer}"


@task
def page() -> str:
    _note("page")
    return "paged"


@task
def shout(text: str) -> str:
    return text.upper()


@task
def summary(results: list[str]) -> str:
    _note("summary")
    return ";".join(results)


@task
def chunks(customer: str) -> list[str]:
    return [f"{customer}-{i}" for i in range(2)]


@task
def score(value: float) -> float:
    return value


@task
def keep_all(value: float) -> str:
    return f"kept all {value}"


@pipeline
def per_customer(customer: str) -> str:
    with legato.when(needs_retrain(drift(customer))):
        retrained = shout(retrain(customer))
        page()  # reads no item, but is on a per-item branch: runs per item
    with legato.otherwise():
        kept = keep(customer)
    return legato.one_of(retrained, kept)


@pipeline
def every_customer(customers: list[str] = CUSTOMERS) -> str:
    return summary(per_customer.map(keyed(customers)))


@pipeline
def tiered(customer: str) -> str:
    d = drift(customer)
    with legato.when(above(d, 0.8)):
        high = retrain(customer)
    with legato.otherwise_when(above(d, 0.5)):
        with legato.when(above(d, 0.6)):
            medium = shout(customer)
        with legato.otherwise():
            low = keep(customer)
        middle = legato.one_of(medium, low)
    with legato.otherwise():
        kept = keep(customer)
    return legato.one_of(high, middle, kept)


@pipeline
def every_tier(customers: list[str] = CUSTOMERS) -> list[str]:
    return tiered.map(keyed(customers))


@pipeline
def split_when_drifting(customer: str) -> Any:
    with legato.when(needs_retrain(drift(customer))):
        parts = shout.map(chunks(customer))  # a map per item, on a per-item branch
    with legato.otherwise():
        kept = keep(customer)
    return legato.one_of(parts, kept)


@pipeline
def every_split(customers: list[str] = CUSTOMERS) -> list[Any]:
    return split_when_drifting.map(keyed(customers))


@pipeline
def lane_in_branch(new: float = 0.9, customers: list[str] = CUSTOMERS) -> Any:
    s = score(new)
    with legato.when(above(s, 0.5)):
        results = per_customer.map(keyed(customers))
    with legato.otherwise():
        kept = keep_all(s)
    return legato.one_of(results, kept)


def main(argv: list[str]) -> int:
    """A script for crash tests: ``run [EXECUTOR]`` or ``resume RUN_ID``."""
    if argv[1] == "run":
        executor = argv[2] if len(argv) > 2 else "inline"
        result = legato.run(every_customer, executor=executor)
    else:
        result = legato.resume(argv[2])
    print(result.run_id, result.state.value, result.output if result.ok else "")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))


@task
def name_of(customer: dict[str, Any]) -> str:
    return str(customer["name"])


@pipeline
def by_record(customer: dict[str, Any]) -> str:
    with legato.when(customer["premium"]):  # the item's own value decides
        vip = shout(name_of(customer))
    with legato.otherwise():
        plain = name_of(customer)
    return legato.one_of(vip, plain)


@pipeline
def every_record() -> list[str]:
    return by_record.map([{"name": "acme", "premium": True}, {"name": "bolt", "premium": False}])


@pipeline
def drifting_only(customer: str) -> str:
    d = drift(customer)
    with legato.when(above(d, 0.8)):
        high = retrain(customer)
    with legato.otherwise_when(above(d, 0.5)):
        medium = shout(customer)
    return legato.one_of(high, medium)  # no otherwise: bolt and dyne have no value


@pipeline
def every_drifting(customers: list[str] = CUSTOMERS) -> list[str]:
    return drifting_only.map(keyed(customers))
