"""Constants the fixture tasks read, and some that no task reads."""

from __future__ import annotations

import enum
from dataclasses import dataclass

THRESHOLD = 0.5
UNUSED_LIMIT = 10
STOPWORDS = frozenset({"a", "an", "the", "of"})
WEIGHTS = {"x": 1.0, "y": 2.0}


class Mode(enum.Enum):
    FAST = "fast"
    SLOW = "slow"


DEFAULT_MODE = Mode.FAST


@dataclass(frozen=True)
class Settings:
    window: int = 3
    scale: float = 1.0


SETTINGS = Settings(window=3)
