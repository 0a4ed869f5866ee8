"""Pipelines for the end-to-end durability tests (``tests/engine/test_durability.py``).

Every task execution leaves a ledger note (``ledger_notes``), so a test can tell whether a
task's function started at all, in the test's process or in a worker process.

- ``FAIL_FLAG``: while the file named by this environment variable exists, ``consume``
  fails on purpose, so a run can be made to fail and then be resumed;
- ``FILLER``: the file ``fill_disk`` writes to take up the space of a small disk.
"""

from __future__ import annotations

import os

import numpy as np
from ledger_notes import note

from legato import RetryPolicy, pipeline, task

__all__ = [
    "BIG",
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
    "two_steps",
]

BIG = 20_000
"""float64 items of a large output: 160,000 bytes, well over ``INLINE_LIMIT``."""
FAIL_FLAG = "LEGATO_TEST_FAIL_FLAG"
FILLER = "LEGATO_TEST_FILLER"
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
