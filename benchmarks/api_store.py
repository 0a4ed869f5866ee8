"""The stores the API budgets are measured on, seeded once and kept between runs.

A SQLite store lives in a ``LEGATO_HOME`` under the cache folder; a PostgreSQL store in a
database of its own (``legato_bench_<mode>``) on the server of
``LEGATO_TEST_POSTGRES_URL``, never in the database tests use. ``seeded.json`` beside it
records the sizes and what was seeded; a store whose record does not match (other sizes,
another seeding version, runs gone) is made again from nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from benchmarks import api_seed
from benchmarks.api_seed import Seeded
from legato.errors import UnknownRunError
from legato.store.open import open_run_store

__all__ = ["SEEDING", "SeededStore", "open_seeded", "seed_all"]

SEEDING = 3
"""The version of :mod:`benchmarks.api_seed`'s shapes: bumped when they change, so that
kept stores are made again (3: seeded with the metric summaries of migration 0006 written
by the appends themselves, not filled in by the migration)."""

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True, slots=True, kw_only=True)
class SeededStore:
    """A seeded store: the environment ``legato ui`` serves it with, and what it holds."""

    backend: str
    env: dict[str, str]
    url: str
    runs: Seeded
    map_run: Seeded
    log_run: Seeded
    sweep: Seeded


def seed_all(url: str, sizes: Any) -> dict[str, Seeded]:
    """Every shape of :mod:`benchmarks.api_seed` at ``sizes``, into the store at ``url``."""
    store = open_run_store(url)
    try:
        found = {}
        for name, seed in (
            ("runs", lambda: api_seed.seed_runs(store, sizes.runs)),
            ("map_run", lambda: api_seed.seed_map_run(store, sizes.items)),
            ("log_run", lambda: api_seed.seed_log_run(store, sizes.lines)),
            (
                "sweep",
                lambda: api_seed.seed_sweep(store, sizes.compared, sizes.metrics, sizes.steps),
            ),
        ):
            t0 = time.perf_counter()
            found[name] = seed()
            print(f"  seeded {name} in {time.perf_counter() - t0:.1f} s", flush=True)
        return found
    finally:
        store.close()


def open_seeded(backend: str, sizes: Any, cache: Path) -> SeededStore | None:
    """The ``backend`` store (``sqlite`` or ``postgresql``) seeded at ``sizes``, from the
    cache when it holds it; None for PostgreSQL when no server answers."""
    home = cache / backend
    env = dict(os.environ, LEGATO_HOME=str(home))
    env.pop("LEGATO_PROFILE", None)
    if backend == "sqlite":
        url = f"sqlite:///{home / 'legato.db'}"
        env.pop("LEGATO_STATE_URL", None)
    elif backend == "postgresql":
        url = _database(os.environ.get("LEGATO_TEST_POSTGRES_URL", PG_DEFAULT), cache.name)
        if url is None:
            return None
        env["LEGATO_STATE_URL"] = url
    else:
        raise ValueError(f"unknown store {backend!r}: sqlite or postgresql")
    if (home / "seeded.json").is_file():
        open_run_store(url).close()  # a kept store is brought up to this legato's schema
    record = home / "seeded.json"
    wanted = {"seeding": SEEDING, "sizes": asdict(sizes), "url": url}
    kept = _kept(record, wanted, url)
    if kept is None:
        print(f"{backend}: seeding {url}", flush=True)
        if backend == "sqlite":
            shutil.rmtree(home, ignore_errors=True)
        else:
            _recreate(url)
        home.mkdir(parents=True, exist_ok=True)
        kept = seed_all(url, sizes)
        shown = {k: asdict(v) for k, v in kept.items()}
        record.write_text(json.dumps({**wanted, "seeded": shown}))
    return SeededStore(backend=backend, env=env, url=url, **kept)


def _kept(record: Path, wanted: dict[str, Any], url: str) -> dict[str, Seeded] | None:
    try:
        found = json.loads(record.read_text())
    except (OSError, ValueError):
        return None
    if {k: found.get(k) for k in wanted} != wanted:
        return None
    kept = {k: Seeded(**{**v, "run_ids": tuple(v["run_ids"])}) for k, v in found["seeded"].items()}
    store = open_run_store(url, read_only=True)
    try:
        for seeded in kept.values():
            store.get_run(seeded.run_ids[-1])
    except UnknownRunError:
        return None
    finally:
        store.close()
    return kept


def _database(base: str, mode: str) -> str | None:
    """The URL of the benchmark's own database beside ``base``'s (None: no server)."""
    url = sa.make_url(base)
    try:
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as c:
            c.execute(sa.text("select 1"))
        engine.dispose()
    except (sa.exc.OperationalError, ImportError):  # no server answers, or no driver
        return None
    return url.set(database=f"legato_bench_{mode}").render_as_string(hide_password=False)


def _recreate(url: str) -> None:
    target = sa.make_url(url)
    engine = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(sa.text(f'drop database if exists "{target.database}" with (force)'))
        c.execute(sa.text(f'create database "{target.database}"'))
    engine.dispose()
