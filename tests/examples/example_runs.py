"""Helpers for the example tests (a module, not a conftest: tests elsewhere import the root
conftest as ``conftest``, which a second conftest.py here would shadow).

The example pipelines import as ``examples.<name>.pipeline`` from the repository root: both
are files named ``pipeline.py``, and the package path keeps them apart; worker processes
(which get this process's ``sys.path``) import them the same way. PostgreSQL tests need
``LEGATO_TEST_POSTGRES_URL`` (``postgresql+psycopg://user@host/db``) and skip, saying why,
without it; each test works in a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

POSTGRES_ENV = "LEGATO_TEST_POSTGRES_URL"


def example(name: str) -> ModuleType:
    """``examples/<name>/pipeline.py``, imported."""
    return importlib.import_module(f"examples.{name}.pipeline")


def run_script(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python examples/<name>/pipeline.py ARGS`` in ``cwd``, as a user would run it
    (``LEGATO_HOME`` is the test's own, set by the root conftest); it must exit 0."""
    done = subprocess.run(
        [sys.executable, str(REPO / "examples" / name / "pipeline.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """A PostgreSQL URL whose search path is a fresh schema, dropped afterwards (skips the
    test when no server is configured or answers)."""
    url = os.environ.get(POSTGRES_ENV, "")
    if not url:
        pytest.skip(
            f"PostgreSQL example skipped: {POSTGRES_ENV} is not set "
            f"(e.g. {POSTGRES_ENV}=postgresql+psycopg://postgres@127.0.0.1:5432/test)"
        )
    try:
        import psycopg
    except ImportError:
        pytest.skip("PostgreSQL example skipped: psycopg is not installed (legato[postgres])")
    import sqlalchemy as sa

    server = sa.make_url(url)
    libpq = server.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        admin = psycopg.connect(libpq, autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        pytest.skip(f"PostgreSQL example skipped: nothing answers at {POSTGRES_ENV}: {exc}")
    schema = f"legato_example_{os.getpid()}_{secrets.token_hex(4)}"
    with admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            options = {"options": f"-csearch_path={schema}"}
            yield server.update_query_dict(options).render_as_string(hide_password=False)
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
