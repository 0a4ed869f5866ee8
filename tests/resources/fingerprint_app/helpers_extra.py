"""Imported inside a function body only (a lazy import)."""

from __future__ import annotations

from .helpers_deep import exclaim


def shout(text: str) -> str:
    return exclaim(text.upper())
