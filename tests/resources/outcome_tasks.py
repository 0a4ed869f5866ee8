"""Tasks whose attempts succeed, fail or dawdle on purpose; each call leaves a ledger note."""

from __future__ import annotations

import os
import time

from ledger_notes import ledger_path, note, wait_for_note_in

import legato
from legato import RetryPolicy, task

__all__ = [
    "always_fails",
    "fails_once_noted",
    "echo",
    "flaky",
    "nap",
    "one",
    "picky",
    "plus_one",
    "raises_key_error",
    "slow",
]

FAST_RETRY = RetryPolicy(attempts=3, delay=0.01, jitter=0.0)


class PickyError(Exception):
    """Raised by :func:`picky`; the retry policy covers only ``KeyError``."""


@task
def one() -> int:
    note("one")
    return 1


@task
def plus_one(x: int) -> int:
    note("plus_one", x)
    return x + 1


@task(retry=FAST_RETRY)
def flaky(succeed_on: int) -> str:
    """Fails every attempt before ``succeed_on``."""
    ctx = legato.context()
    assert ctx is not None
    note("flaky", ctx.attempt)
    if ctx.attempt < succeed_on:
        raise ConnectionError(f"attempt {ctx.attempt} lost the connection")
    return f"done on attempt {ctx.attempt}"


@task(retry=FAST_RETRY)
def always_fails() -> int:
    ctx = legato.context()
    assert ctx is not None
    note("always_fails", ctx.attempt)
    raise ValueError(f"bad value on attempt {ctx.attempt}")


@task(retry=RetryPolicy(attempts=3, delay=0.01, jitter=0.0, retry_on=KeyError))
def picky() -> int:
    """Retried only for KeyError, and raises something else."""
    note("picky")
    raise PickyError("not a KeyError")


@task(retry=RetryPolicy(attempts=3, delay=0.01, jitter=0.0, retry_on=KeyError))
def raises_key_error(succeed_on: int) -> str:
    ctx = legato.context()
    assert ctx is not None
    note("raises_key_error", ctx.attempt)
    if ctx.attempt < succeed_on:
        raise KeyError("missing")
    return "found"


@task
def fails_once_noted(first: str) -> int:
    """Fails as soon as another task has left the note ``first`` (within 5 s)."""
    path = ledger_path()
    seen = wait_for_note_in(path, first, timeout=5.0)
    note("fails_once_noted", "seen" if seen else "not-seen", path=path)
    raise RuntimeError(f"failing after {first!r} {'was' if seen else 'was not'} noted")


@task
def slow(seconds: float) -> float:
    """Sleeps; notes its start and end (so tests can see whether it was stopped)."""
    path = ledger_path()  # once: an abandoned thread must not write into a later test's file
    note("slow-start", os.getpid(), path=path)
    time.sleep(seconds)
    note("slow-end", path=path)
    return seconds


@task
def nap(label: str, seconds: float, only_first_attempt: bool = False) -> str:
    """Sleeps ``seconds`` (on the first attempt only, if asked); notes ``nap-start label``
    and ``nap-end label``."""
    ctx = legato.context()
    assert ctx is not None
    path = ledger_path()
    note("nap-start", label, ctx.attempt, path=path)
    if ctx.attempt == 1 or not only_first_attempt:
        time.sleep(seconds)
    note("nap-end", label, ctx.attempt, path=path)
    return f"{label} woke on attempt {ctx.attempt}"


@task
def echo(x: object) -> object:
    note("echo", x)
    return x
