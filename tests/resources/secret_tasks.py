"""Tasks that handle a secret every careless way there is, for the masking tests: they print
it, log it, raise with it, and one reads it straight from the environment."""

from __future__ import annotations

import logging
import os
import sys

import legato
from legato import pipeline, task

log = logging.getLogger("secret_tasks")


@task
def careless() -> int:
    value = legato.secret("canary")
    print(f"connecting with {value}")
    print(f"repr: {value!r}", file=sys.stderr)
    log.warning("logged the password %s", value)
    raise RuntimeError(f"could not connect with password {value!r}")


@task
def reads_environ() -> str:
    # Not through legato.secret: still masked, as the profile declares the variable.
    print("straight from the environment:", os.environ["LEGATO_TEST_CANARY"])
    return "ok"


@task
def split_writes() -> str:
    value = legato.secret("canary")
    half = len(value) // 2
    sys.stdout.write(value[:half])
    sys.stdout.write(value[half:] + "\n")
    return "ok"


@pipeline
def leaky() -> None:
    careless()
    reads_environ()


@pipeline
def in_pieces() -> str:
    return split_writes()


@task
def use(token: str) -> int:
    return len(token)


@pipeline
def with_token(token: str) -> int:
    return use(token)


@task
def undeclared() -> str:
    return legato.secret("no_such_secret")


@pipeline
def asks_for_undeclared() -> str:
    return undeclared()
