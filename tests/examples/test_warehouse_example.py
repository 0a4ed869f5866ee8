"""The warehouse example: tables in a real database (SQLite, PostgreSQL when
``LEGATO_TEST_POSTGRES_URL`` is set) in, DataFrames as Parquet artifacts between tasks,
predictions written back to a table; a re-run reuses every task unless the source tables
changed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from example_runs import example, postgres_schema, run_script

import legato

warehouse = example("warehouse")
FRAMES = {"extract_customers", "extract_orders", "build_features", "split", "predict"}


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'db' / 'warehouse.db'}"


def _check_run(url: str, result: legato.RunResult) -> dict[str, object]:
    out = result.raise_for_status().output
    metrics = out["metrics"]
    assert out["data"]["customers"] == 3000
    assert metrics["test_rows"] == 750
    assert out["predictions"] == {
        "table": "churn_predictions",
        "rows": 750,
        "run_id": result.run_id,
    }
    assert warehouse.predictions_in_table(url) == metrics["test_rows"]
    assert metrics["accuracy"] > metrics["majority_baseline"] + 0.1
    assert metrics["roc_auc"] > 0.85
    stored = {
        key for key, t in result.tasks.items() if t.output and t.output.serializer == "parquet"
    }
    assert stored == FRAMES  # every DataFrame crossed between tasks as a Parquet artifact
    return out


@pytest.mark.exhaustive  # the other cases run the example on threads, SQLite and PostgreSQL
def test_processes_then_threads_reuse_every_task(sqlite_url: str) -> None:
    assert warehouse.create_demo_database(sqlite_url)
    assert not warehouse.create_demo_database(sqlite_url)  # it exists: left alone
    params = {"db_url": sqlite_url}

    first = legato.run(warehouse.warehouse, params=params, executor="processes")
    out = _check_run(sqlite_url, first)

    second = legato.run(warehouse.warehouse, params=params).raise_for_status()
    assert {key: t.cache_hit for key, t in second.tasks.items()} == dict.fromkeys(
        first.tasks, first.run_id
    )
    assert second.output == out


def test_new_source_rows_run_what_depends_on_them(sqlite_url: str) -> None:
    warehouse.create_demo_database(sqlite_url)
    params = {"db_url": sqlite_url}
    first = legato.run(warehouse.warehouse, params=params).raise_for_status()

    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:
        latest = dt.datetime(2024, 6, 30, 12, 0)
        conn.execute(
            sa.text(
                "INSERT INTO orders (order_id, customer_id, ordered_at, amount, items, returned,"
                " updated_at) VALUES (1000000, 1, :at, 25.0, 1, 0, :at)"
            ).bindparams(sa.bindparam("at", latest, type_=sa.DateTime))
        )
    engine.dispose()

    second = legato.run(warehouse.warehouse, params=params).raise_for_status()
    assert second.tasks["extract_customers"].cache_hit == first.run_id
    assert second.tasks["extract_orders"].cache_hit is None
    assert second.tasks["extract_orders"].reason.startswith("cache: miss")
    assert second.output["data"]["orders"] == first.output["data"]["orders"] + 1
    assert second.tasks["write_predictions"].cache_hit is None
    assert second.output["predictions"]["run_id"] == second.run_id


def test_script_creates_the_database_and_restores_a_dropped_predictions_table(
    tmp_path: Path,
) -> None:
    done = run_script("warehouse", cwd=tmp_path)
    assert "created the demo tables in sqlite:///build/warehouse/warehouse.db" in done.stdout
    assert "750 predictions in table churn_predictions" in done.stdout, done.stdout
    url = f"sqlite:///{tmp_path / 'build/warehouse/warehouse.db'}"
    assert warehouse.predictions_in_table(url) == 750

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE churn_predictions"))
    engine.dispose()
    again = run_script("warehouse", cwd=tmp_path)
    assert "created the demo tables" not in again.stdout
    assert "writing it again" in again.stdout
    assert "reused 8 of 9 tasks from earlier runs" in again.stdout, again.stdout
    assert warehouse.predictions_in_table(url) == 750


def test_postgresql() -> None:
    with postgres_schema() as url:
        assert warehouse.create_demo_database(url)
        params = {"db_url": url}
        first = legato.run(warehouse.warehouse, params=params)
        _check_run(url, first)
        second = legato.run(warehouse.warehouse, params=params).raise_for_status()
        assert all(t.cache_hit == first.run_id for t in second.tasks.values())
