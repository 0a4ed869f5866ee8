"""Plain functions the tasks call: ``parse_rows`` calls ``to_number``, two levels below the
task that uses them."""

from __future__ import annotations


def to_number(field: str) -> float:
    return float(field)


def parse_rows(text: str) -> list[float]:
    return [to_number(line.strip()) for line in text.splitlines() if line.strip()]


def words_of(text: str) -> list[str]:
    return sorted({word.lower() for word in text.split()})
