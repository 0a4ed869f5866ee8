"""Pipelines for the end-to-end durability tests (``tests/engine/test_durability.py``).

Every task execution leaves a ledger note (``ledger_notes``), so a test can tell whether a
task's function started at all, in the test's process or in a worker process.

- ``FAIL_FLAG``: while the file named by this environment variable exists, ``consume``
  fails on purpose, so a run can be made to fail and then be resumed;
- ``FILLER``: the file ``fill_disk`` writes to take up the space of a small disk;
- ``SPOIL``: ``damage:path``: ``spoil`` damages the file at ``path`` that way (one of
  :data:`DAMAGE`) after reading its input, so the task after it reads a damaged artifact.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from ledger_notes import note

from legato import RetryPolicy, pipeline, task

__all__ = [
    "BIG",
    "DAMAGE",
    "FAIL_FLAG",
    "FILLER",
    "LEFT_FREE",
    "blob",
    "consume",
    "fill_disk",
    "full_disk",
    "full_disk_retried",
    "grow",
    "keep",
    "label",
    "produce",
    "reference",
    "sizes",
    "spoil",
    "spoiled",
    "two_steps",
]

BIG = 20_000
"""float64 items of a large output: 160,000 bytes, well over ``INLINE_LIMIT``."""
FAIL_FLAG = "LEGATO_TEST_FAIL_FLAG"
FILLER = "LEGATO_TEST_FILLER"
SPOIL = "LEGATO_TEST_SPOIL"
LEFT_FREE = 100 * 1024
"""Bytes ``fill_disk`` leaves free: less than ``grow``'s output."""


@task
def produce(n: int) -> np.ndarray:
    note("produce")
    return np.arange(n, dtype=np.float64)


@task
def reference(n: int) -> np.ndarray:
    note("reference")
    return np.full(n, 2.0)


@task
def label() -> str:
    note("label")
    return "small"


@task(retry=RetryPolicy(attempts=3, delay=0.01, jitter=0.0, retry_on=ConnectionError))
def consume(values: np.ndarray, ref: np.ndarray, tag: str) -> float:
    """Fails (ValueError, not retried) while the ``FAIL_FLAG`` file exists. Its retry policy
    would retry a storage error: an integrity error on an input must not be retried."""
    note("consume", os.getpid())
    flag = os.environ.get(FAIL_FLAG)
    if flag and os.path.exists(flag):
        raise ValueError(f"failing on purpose while {flag} exists")
    return float(values.sum() + ref.sum()) + len(tag)


@pipeline
def two_steps(n: int = BIG) -> float:
    return consume(produce(n), reference(n), label())


def truncate(path: Path) -> None:
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size // 2)


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # in the array's data: it would still load as an array
    path.write_bytes(bytes(data))


def delete(path: Path) -> None:
    path.unlink()


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "truncated": (truncate, "bytes long instead of"),
    "byte flipped": (flip_a_byte, "does not match its checksum"),
    "deleted": (delete, "is missing: it was deleted after it was written"),
}
"""Ways to damage an artifact's file, each with what legato's refusal says of it."""


@task
def spoil(values: np.ndarray) -> str:
    """Fails while the ``FAIL_FLAG`` file exists; then damages a stored file as ``SPOIL``
    says (after its own input was loaded)."""
    note("spoil")
    flag = os.environ.get(FAIL_FLAG)
    if flag and os.path.exists(flag):
        raise ValueError(f"failing on purpose while {flag} exists")
    how, _, path = os.environ[SPOIL].partition(":")
    DAMAGE[how][0](Path(path))
    return "small"


@pipeline
def spoiled(n: int = BIG) -> float:
    """Resumed, ``produce``'s stored output is damaged by ``spoil`` (once the resume has
    checked it) before ``consume`` reads it."""
    values = produce(n)
    return consume(values, reference(n), spoil(values))


@task
def blob(n: int) -> np.ndarray:
    return np.zeros(n, dtype=np.uint8)


@pipeline
def sizes(small: int, large: int) -> tuple[np.ndarray, np.ndarray]:
    return blob(small), blob(large)


@task
def keep() -> np.ndarray:
    note("keep")
    return np.arange(BIG, dtype=np.float64)


@task
def fill_disk(kept: np.ndarray) -> int:
    """Takes all but ``LEFT_FREE`` bytes of the disk holding the file ``FILLER`` names (after
    ``keep``'s output is stored there)."""
    path = os.environ[FILLER]
    st = os.statvfs(os.path.dirname(path))
    free = st.f_bavail * st.f_frsize
    with open(path, "wb") as f:
        f.write(b"\0" * (free - LEFT_FREE))
    note("fill_disk", free - LEFT_FREE)
    return len(kept)


@task
def grow(n: int, after: int) -> np.ndarray:
    """``8 * n`` bytes: more than ``LEFT_FREE`` for the tests' ``n``."""
    note("grow")
    return np.linspace(0.0, 1.0, n) + after


@pipeline
def full_disk(n: int = 60_000) -> np.ndarray:
    return grow(n, fill_disk(keep()))


@pipeline
def full_disk_retried(n: int = 60_000) -> np.ndarray:
    retried = grow.with_options(retry=RetryPolicy(attempts=3, delay=0.05, jitter=0.0))
    return retried(n, fill_disk(keep()))
