"""A mapped sub-pipeline for crash-recovery tests, run as a script: ``run`` or ``resume
RUN_ID``. Every step appends ``<step>-<item>`` to the ledger file named by
``LEGATO_TEST_LEDGER``, so a test can count how often each item's step really ran."""

from __future__ import annotations

import os
import sys

import legato
from legato import keyed, pipeline, task


def _note(text: str) -> None:
    with open(os.environ["LEGATO_TEST_LEDGER"], "a") as ledger:
        ledger.write(text + "\n")


@task
def clean(customer: str) -> str:
    _note(f"clean-{customer}")
    return customer.upper()


@task
def train(cleaned: str) -> int:
    _note(f"train-{cleaned.lower()}")
    return len(cleaned)


@task
def total(sizes: list[int]) -> int:
    _note("total-all")
    return sum(sizes)


@pipeline
def chain(customer: str) -> int:
    return train(clean(customer))


@pipeline
def customers() -> int:
    return total(chain.map(keyed(["acme", "bolt", "crux", "dyne"])))


def main(argv: list[str]) -> int:
    executor = os.environ.get("LEGATO_TEST_EXECUTOR", "inline")
    if argv[1] == "run":
        result = legato.run(customers, executor=executor)
    else:
        result = legato.resume(argv[2], executor=executor)
    print(result.output)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
