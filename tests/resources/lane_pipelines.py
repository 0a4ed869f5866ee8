"""Mapped sub-pipelines (``per_customer.map(customers)``) and products
(``train.map(product(alphas, ratios))``). Each task leaves a ledger note (``clean acme``)
when its function runs; ``clean`` of the customer ``crux`` first waits (at most 30 s) for
another item's second step to have run, which it sees only if chains run item by item;
``clean`` fails for a customer whose name is a file that exists beside the ledger.

The broken ones carry a ``# <- bad: KIND`` marker on the line their error must point at.
"""

from __future__ import annotations

import os
from pathlib import Path

from ledger_notes import note, wait_for_note_in

from legato import keyed, pipeline, product, task, unmapped

__all__ = [
    "CUSTOMERS",
    "customers_from_a_parameter",
    "every_customer",
    "lane_over_an_output",
    "lane_returns_nothing",
    "nested_map_in_a_lane",
    "numbered_lane",
    "per_customer",
    "product_of_an_output",
    "product_with_a_dict",
    "sweep",
]

CUSTOMERS = ["acme", "bolt", "crux"]


def _ledger() -> Path:
    return Path(os.environ["LEGATO_TEST_LEDGER"])


@task
def clean(customer: str) -> str:
    note("clean", customer)
    if customer == "crux":
        seen = wait_for_note_in(str(_ledger()), "train", 30.0)
        note("crux-saw-train", seen)
    if (_ledger().parent / customer).exists():
        raise RuntimeError(f"no data for {customer}")
    return customer.upper()


@task
def train(cleaned: str, rate: float) -> str:
    note("train", cleaned.lower())
    return f"{cleaned}@{rate}"


@task
def summarize(models: list[str]) -> str:
    note("summarize")
    return ";".join(models)


@pipeline
def per_customer(customer: str, rate: float = 0.1) -> str:
    cleaned = clean(customer)
    return train(cleaned, rate)


@pipeline
def every_customer() -> str:
    models = per_customer.map(keyed(CUSTOMERS), rate=0.5)
    return summarize(models)


@pipeline
def customers_from_a_parameter(customers: list[str], rate: float = 0.2) -> list[str]:
    return per_customer.map(keyed(customers), rate=unmapped(rate))


@pipeline
def numbered_lane() -> list[str]:
    return per_customer.map(["acme", "bolt"])


@task
def fit(alpha: float, l1_ratio: float, data: list[int]) -> float:
    note("fit", alpha, l1_ratio)
    return alpha * 10 + l1_ratio + sum(data)


@task
def load() -> list[int]:
    return [1]


@task
def best(scores: list[float]) -> float:
    return max(scores)


@pipeline
def sweep() -> float:
    data = load()
    scores = fit.map(product([0.1, 1.0], [0.5, 0.9]), unmapped(data))
    return best(scores)


@pipeline
def lane_over_an_output() -> list[str]:
    names = load()
    return per_customer.map(names)  # <- bad: lane_output


@pipeline
def lane_returns_nothing() -> list[str]:
    return no_return.map(CUSTOMERS)  # <- bad: lane_returns


@pipeline
def no_return(customer: str) -> None:
    clean(customer)


@pipeline
def nested(customer: str) -> list[str]:
    return clean.map(keyed(customer))  # <- bad: nested_map


@pipeline
def nested_map_in_a_lane() -> list[list[str]]:
    return nested.map(CUSTOMERS)


@pipeline
def product_of_an_output() -> list[float]:
    data = load()
    return fit.map(product(data, [0.5]), unmapped(data))  # <- bad: product_output


@pipeline
def product_with_a_dict() -> list[float]:
    return fit.map(product([{"a": 1}], [0.5]), unmapped([1]))  # <- bad: product_dict


@pipeline
def product_and_keyed() -> list[float]:
    return fit.map(product([0.1], [0.5]), keyed(["x"]))  # <- bad: product_keyed


@pipeline
def two_products() -> list[float]:
    return fit.map(product([0.1]), product([0.5]), unmapped([1]))  # <- bad: two_products


@pipeline
def product_too_long() -> list[float]:
    return fit.map(unmapped(0.1), 0.5, product([[1]], [2]))  # <- bad: product_long


@pipeline
def lane_lengths() -> list[str]:
    return per_customer.map(["acme", "bolt"], rate=[0.1])  # <- bad: lane_lengths


@pipeline
def lane_of_nothing() -> list[str]:
    return per_customer.map("acme")  # <- bad: lane_nothing


@pipeline
def lane_bad_keys() -> list[str]:
    return per_customer.map(keyed(["a/b"]))  # <- bad: lane_keys


@task
def split(text: str) -> list[str]:
    note("split", text)
    return list(text)


@task
def shout(letter: str, times: int) -> str:
    note("shout", letter)
    return letter.upper() * times


@pipeline
def per_word(word: str) -> list[str]:
    return shout.map(split(word), unmapped(2))


@pipeline
def every_word() -> list[list[str]]:
    """A map per item: each word's letters, mapped as soon as that word is split."""
    return per_word.map(keyed(["ab", "cde"]))
