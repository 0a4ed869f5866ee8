"""The report pipeline: a diamond over a data file (``load`` → ``clean`` → ``stats`` and
``scaled`` → ``combine``), a map over a literal list, and an independent branch reading a file
beside this module and a folder of notes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from legato import pipeline

from .tasks import (
    clean,
    combine,
    count_notes,
    load,
    make_label,
    read_vocab,
    scaled,
    square,
    stats,
    summarise,
)

HERE = Path(__file__).parent


@pipeline
def report(data: str, notes: str, factor: int = 2) -> dict[str, Any]:
    values = clean(load(data))
    merged = combine(stats(values), scaled(values, factor))
    total = summarise(square.map([1, 2, 3]))
    label = make_label(read_vocab(HERE / "vocab.txt"), count_notes(notes))
    return {"merged": merged, "total": total, "label": label}
