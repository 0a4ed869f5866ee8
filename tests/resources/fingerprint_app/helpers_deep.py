"""Reached only through a lazily imported module."""

from __future__ import annotations


def exclaim(text: str) -> str:
    return text + "!"
