"""A pipeline over the fixture tasks, for graph fingerprints."""

from __future__ import annotations

from typing import Any

from legato import keyed, pipeline

from .tasks import average, doubled, filter_words, scaled, tokenize


@pipeline
def text_stats(text: str = "The cat of the house", offset: float = 1.0) -> dict[str, Any]:
    words = filter_words(tokenize(text))
    lengths = doubled.map(keyed([1, 2, 3], by=lambda n: f"n{n}"))
    return {"words": words, "mean": average(lengths), "scaled": scaled(3.0, offset=offset)}
