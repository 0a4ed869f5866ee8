"""The tasks of the report pipeline. No ``from __future__ import annotations`` here: the
``Path`` annotations are real classes (``policies.py`` has the string form)."""

from pathlib import Path

from legato import task
from legato.model.specs import CachePolicy

from . import helpers
from .constants import LABEL_PREFIX, THRESHOLD
from .ledger import record


@task
def load(path: Path) -> str:
    record()
    return Path(path).read_text()


@task
def clean(text: str) -> list[float]:
    record()
    return helpers.parse_rows(text)


@task(cache=CachePolicy(version="1"))
def stats(values: list[float]) -> dict[str, int]:
    record()
    return {"n": len(values), "large": sum(1 for v in values if v > THRESHOLD)}


@task
def scaled(values: list[float], factor: int) -> list[float]:
    record()
    return [v * factor for v in values]


@task
def combine(summary: dict[str, int], values: list[float]) -> dict[str, float]:
    record()
    return {**summary, "total": sum(values)}


@task
def square(x: int) -> int:
    record()
    return x * x


@task
def summarise(squares: list[int]) -> int:
    record()
    return sum(squares)


@task
def read_vocab(path: Path) -> list[str]:
    record()
    return helpers.words_of(path.read_text())


@task
def count_notes(folder: Path) -> int:
    record()
    return sum(1 for _ in Path(folder).glob("*.md"))


@task
def make_label(vocab: list[str], notes: int) -> str:
    record()
    return f"{LABEL_PREFIX}-{len(vocab)}-{notes}"
