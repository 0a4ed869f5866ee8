"""The warehouse example: a churn model trained on tables in a SQL database.

extract customers and orders (SQLAlchemy -> pandas, in parallel) -> validate -> build
features in pandas -> split -> train (scikit-learn) -> evaluate -> predict -> write the
predictions back into a table.

The database is a SQLite file under ``build/warehouse/`` unless ``--db-url`` names another
one (``postgresql+psycopg://user@host/db``); the first run creates and fills the demo tables
there if they do not exist. Every DataFrame passed between tasks is stored as Parquet in
durable runs.

Run it with ``python examples/warehouse/pipeline.py [--db-url URL] [--executor processes]``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

import legato
from legato import CacheKeyContext, CachePolicy, pipeline, task

DEFAULT_DB_URL = "sqlite:///build/warehouse/warehouse.db"
SNAPSHOT_DATE = pd.Timestamp("2024-06-30")
"""The day the demo data ends: recency features are measured from it."""

CUSTOMER_COLUMNS = {
    "customer_id": "int",
    "signup_date": "datetime",
    "region": "str",
    "plan": "str",
    "monthly_fee": "float",
    "support_tickets": "int",
    "churned": "int",
    "updated_at": "datetime",
}
ORDER_COLUMNS = {
    "order_id": "int",
    "customer_id": "int",
    "ordered_at": "datetime",
    "amount": "float",
    "items": "int",
    "returned": "int",
    "updated_at": "datetime",
}
REGIONS = ["north", "south", "east", "west"]
PLANS = ["basic", "plus", "pro"]
FEATURES = [
    "tenure_days",
    "monthly_fee",
    "support_tickets",
    "orders",
    "orders_90d",
    "spend",
    "avg_order_value",
    "days_since_last_order",
    "return_rate",
    *(f"region_{r}" for r in REGIONS),
    *(f"plan_{p}" for p in PLANS),
]


# -- the database ------------------------------------------------------------------------------


def _engine(db_url: str) -> sa.Engine:
    url = sa.make_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        # SQLite creates the file but not the folder it goes in.
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    return sa.create_engine(url)


def _source_tables(metadata: sa.MetaData) -> tuple[sa.Table, sa.Table]:
    customers = sa.Table(
        "customers",
        metadata,
        sa.Column("customer_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("signup_date", sa.Date, nullable=False),
        sa.Column("region", sa.String(16), nullable=False),
        sa.Column("plan", sa.String(16), nullable=False),
        sa.Column("monthly_fee", sa.Float, nullable=False),
        sa.Column("support_tickets", sa.Integer, nullable=False),
        sa.Column("churned", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    orders = sa.Table(
        "orders",
        metadata,
        sa.Column("order_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column(
            "customer_id",
            sa.Integer,
            sa.ForeignKey("customers.customer_id"),
            nullable=False,
            index=True,
        ),
        sa.Column("ordered_at", sa.DateTime, nullable=False),
        sa.Column("amount", sa.Float, nullable=False),
        sa.Column("items", sa.Integer, nullable=False),
        sa.Column("returned", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    return customers, orders


def _demo_rows(customers: int, seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Customers of a subscription shop and their orders. Churn is driven by a hidden
    engagement score (which also sets how often a customer orders), support tickets and the
    plan; churned customers stopped ordering some weeks before the snapshot."""
    rng = np.random.default_rng(seed)
    n = customers
    tenure = rng.integers(60, 1000, n)
    region = rng.choice(REGIONS, n, p=[0.3, 0.2, 0.25, 0.25])
    plan = rng.choice(PLANS, n, p=[0.5, 0.3, 0.2])
    fee = np.select([plan == "basic", plan == "plus"], [9.0, 19.0], 39.0) + rng.normal(0, 1.5, n)
    engagement = rng.normal(0, 1, n)
    tickets = rng.poisson(np.exp(0.2 - 0.6 * engagement))
    logit = (
        -1.2 - 1.6 * engagement + 0.35 * tickets - 0.8 * (plan == "pro") + 0.3 * (region == "south")
    )
    churned = rng.random(n) < 1 / (1 + np.exp(-logit))
    stamp = SNAPSHOT_DATE.to_pydatetime()

    customer_rows = []
    order_rows = []
    order_id = 1
    for i in range(n):
        signup = SNAPSHOT_DATE - pd.Timedelta(days=int(tenure[i]))
        active_until = int(tenure[i]) - (int(rng.integers(30, 200)) if churned[i] else 0)
        count = 1 + rng.poisson(max(active_until, 1) / 90 * np.exp(0.5 * engagement[i]))
        days = np.sort(rng.uniform(0, max(active_until, 1), count))
        for day in days:
            order_rows.append(
                {
                    "order_id": order_id,
                    "customer_id": i + 1,
                    "ordered_at": (signup + pd.Timedelta(seconds=int(day * 86400))).to_pydatetime(),
                    "amount": round(float(rng.lognormal(3.4 + 0.15 * engagement[i], 0.5)), 2),
                    "items": int(1 + rng.poisson(1.5)),
                    "returned": int(rng.random() < (0.12 if churned[i] else 0.04)),
                    "updated_at": stamp,
                }
            )
            order_id += 1
        customer_rows.append(
            {
                "customer_id": i + 1,
                "signup_date": signup.date(),
                "region": str(region[i]),
                "plan": str(plan[i]),
                "monthly_fee": round(float(fee[i]), 2),
                "support_tickets": int(tickets[i]),
                "churned": int(churned[i]),
                "updated_at": stamp,
            }
        )
    return customer_rows, order_rows


def create_demo_database(
    db_url: str = DEFAULT_DB_URL, *, customers: int = 3000, seed: int = 7
) -> bool:
    """Create and fill the demo tables (``customers``, ``orders``) unless they exist.

    Deterministic for a given seed. Returns whether it created them.
    """
    engine = _engine(db_url)
    try:
        metadata = sa.MetaData()
        customer_table, order_table = _source_tables(metadata)
        with engine.begin() as conn:
            if sa.inspect(conn).has_table(customer_table.name):
                return False
            metadata.create_all(conn)
            customer_rows, order_rows = _demo_rows(customers, seed)
            conn.execute(customer_table.insert(), customer_rows)
            conn.execute(order_table.insert(), order_rows)
        return True
    finally:
        engine.dispose()


def _read_sql(db_url: str, query: sa.TextClause, dates: list[str]) -> pd.DataFrame:
    engine = _engine(db_url)
    try:
        with engine.connect() as conn:
            frame = pd.read_sql_query(query, conn, parse_dates=dates)
    finally:
        engine.dispose()
    # One unit whatever the driver returned (PostgreSQL dates come back in seconds, which
    # Parquet cannot store exactly): the same frame, and the same artifact, from any database.
    return frame.astype(dict.fromkeys(dates, "datetime64[us]"))


def source_version(table: str) -> Callable[[CacheKeyContext], str]:
    """A cache key for a task that reads ``table``: the task's code and arguments plus the
    table's row count and latest ``updated_at`` (the watermark every writer of these tables
    maintains). New or changed rows make the task run again; an unchanged table is a hit."""

    def key(ctx: CacheKeyContext) -> str:
        engine = _engine(ctx.literals["db_url"])
        try:
            with engine.connect() as conn:
                count, latest = conn.execute(
                    sa.text(f"SELECT COUNT(*), MAX(updated_at) FROM {table}")
                ).one()
        finally:
            engine.dispose()
        literals = json.dumps(ctx.literals, sort_keys=True, default=str)
        return f"{ctx.code}|{literals}|{count}|{latest}"

    return key


# -- the tasks ---------------------------------------------------------------------------------


@task(cache=CachePolicy(key=source_version("customers")))
def extract_customers(db_url: str) -> pd.DataFrame:
    """Every customer with their label, one row each."""
    query = sa.text(
        "SELECT customer_id, signup_date, region, plan, monthly_fee, support_tickets,"
        " churned, updated_at FROM customers ORDER BY customer_id"
    )
    return _read_sql(db_url, query, dates=["signup_date", "updated_at"])


@task(cache=CachePolicy(key=source_version("orders")))
def extract_orders(db_url: str) -> pd.DataFrame:
    """Every order placed up to the end of the snapshot day."""
    query = sa.text(
        "SELECT order_id, customer_id, ordered_at, amount, items, returned, updated_at"
        " FROM orders WHERE ordered_at < :until ORDER BY order_id"
    ).bindparams(sa.bindparam("until", SNAPSHOT_DATE + pd.Timedelta(days=1), type_=sa.DateTime))
    return _read_sql(db_url, query, dates=["ordered_at", "updated_at"])


def _check_columns(name: str, frame: pd.DataFrame, expected: dict[str, str]) -> list[str]:
    problems = []
    missing = sorted(set(expected) - set(frame.columns))
    if missing:
        problems.append(f"{name}: missing columns {missing}")
    checks = {
        "int": pd.api.types.is_integer_dtype,
        "float": pd.api.types.is_numeric_dtype,
        "str": lambda d: pd.api.types.is_string_dtype(d) or pd.api.types.is_object_dtype(d),
        "datetime": pd.api.types.is_datetime64_any_dtype,
    }
    for column, kind in expected.items():
        if column in frame.columns and not checks[kind](frame[column].dtype):
            problems.append(f"{name}.{column}: expected {kind}, got {frame[column].dtype}")
    for column in sorted(set(expected) & set(frame.columns)):
        nulls = int(frame[column].isna().sum())
        if nulls:
            problems.append(f"{name}.{column}: {nulls} missing values")
    return problems


@task
def validate(customers: pd.DataFrame, orders: pd.DataFrame) -> dict[str, Any]:
    """Schema, nulls, keys and ranges; raises with every problem found if the data is
    unusable."""
    problems = _check_columns("customers", customers, CUSTOMER_COLUMNS)
    problems += _check_columns("orders", orders, ORDER_COLUMNS)
    if not problems:
        if not customers["customer_id"].is_unique:
            problems.append("customers.customer_id: duplicate ids")
        unknown = ~orders["customer_id"].isin(customers["customer_id"])
        if unknown.any():
            problems.append(f"orders: {int(unknown.sum())} orders of unknown customers")
        if (orders["amount"] < 0).any():
            problems.append(f"orders.amount: {int((orders['amount'] < 0).sum())} negative")
        if not customers["churned"].isin([0, 1]).all():
            problems.append("customers.churned: labels other than 0 and 1")
        if len(customers) < 100:
            problems.append(f"customers: only {len(customers)} rows, too few to train on")
    if problems:
        raise ValueError("the warehouse data failed validation:\n  " + "\n  ".join(problems))
    return {
        "customers": len(customers),
        "orders": len(orders),
        "churn_rate": round(float(customers["churned"].mean()), 4),
    }


@task
def build_features(
    customers: pd.DataFrame, orders: pd.DataFrame, report: dict[str, Any]
) -> pd.DataFrame:
    """One row per customer: tenure, plan, order counts, spend, recency and returns (as of
    the snapshot date), one-hot region and plan, and the ``churned`` label."""
    recent = orders["ordered_at"] > SNAPSHOT_DATE - pd.Timedelta(days=90)
    per_customer = (
        orders.assign(recent=recent.astype("int64"))
        .groupby("customer_id")
        .agg(
            orders=("order_id", "count"),
            orders_90d=("recent", "sum"),
            spend=("amount", "sum"),
            last_order=("ordered_at", "max"),
            returns=("returned", "sum"),
        )
    )
    frame = customers.set_index("customer_id").join(per_customer, how="left")
    frame["orders"] = frame["orders"].fillna(0).astype("int64")
    frame["orders_90d"] = frame["orders_90d"].fillna(0).astype("int64")
    frame["spend"] = frame["spend"].fillna(0.0)
    frame["avg_order_value"] = (frame["spend"] / frame["orders"].clip(lower=1)).round(2)
    last = frame["last_order"].fillna(frame["signup_date"])
    frame["days_since_last_order"] = (SNAPSHOT_DATE - last).dt.days.astype("int64")
    frame["tenure_days"] = (SNAPSHOT_DATE - frame["signup_date"]).dt.days.astype("int64")
    frame["return_rate"] = (frame["returns"].fillna(0) / frame["orders"].clip(lower=1)).round(4)
    for region in REGIONS:
        frame[f"region_{region}"] = (frame["region"] == region).astype("int64")
    for plan in PLANS:
        frame[f"plan_{plan}"] = (frame["plan"] == plan).astype("int64")
    return frame.reset_index()[["customer_id", *FEATURES, "churned"]]


@task
def split(features: pd.DataFrame, test_size: float, seed: int) -> pd.DataFrame:
    """The features with a ``subset`` column, ``train`` or ``test`` (stratified by label)."""
    from sklearn.model_selection import train_test_split

    _, test_ids = train_test_split(
        features["customer_id"],
        test_size=test_size,
        random_state=seed,
        stratify=features["churned"],
    )
    subset = np.where(features["customer_id"].isin(test_ids), "test", "train")
    return features.assign(subset=pd.Series(subset, index=features.index, dtype="str"))


@task
def train(dataset: pd.DataFrame, seed: int) -> Any:
    """Gradient-boosted trees on the training rows."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    rows = dataset[dataset["subset"] == "train"]
    model = HistGradientBoostingClassifier(max_iter=150, learning_rate=0.08, random_state=seed)
    return model.fit(rows[FEATURES], rows["churned"])


@task
def evaluate(model: Any, dataset: pd.DataFrame) -> dict[str, Any]:
    """Accuracy, ROC AUC, precision and recall on the test rows, with the accuracy of always
    predicting the majority class for comparison."""
    from sklearn.metrics import accuracy_score, precision_score, recall_score, roc_auc_score

    rows = dataset[dataset["subset"] == "test"]
    truth = rows["churned"]
    predicted = model.predict(rows[FEATURES])
    return {
        "test_rows": len(rows),
        "accuracy": round(float(accuracy_score(truth, predicted)), 4),
        "roc_auc": round(float(roc_auc_score(truth, model.predict_proba(rows[FEATURES])[:, 1])), 4),
        "precision": round(float(precision_score(truth, predicted)), 4),
        "recall": round(float(recall_score(truth, predicted)), 4),
        "majority_baseline": round(float(max(truth.mean(), 1 - truth.mean())), 4),
    }


@task
def predict(model: Any, dataset: pd.DataFrame) -> pd.DataFrame:
    """Churn probability and decision for each held-out customer, beside the truth."""
    rows = dataset[dataset["subset"] == "test"]
    probability = model.predict_proba(rows[FEATURES])[:, 1]
    return pd.DataFrame(
        {
            "customer_id": rows["customer_id"].to_numpy(),
            "churn_probability": probability.round(4),
            "predicted_churn": (probability >= 0.5).astype("int64"),
            "actual_churn": rows["churned"].to_numpy(),
        }
    )


@task
def write_predictions(db_url: str, predictions: pd.DataFrame) -> dict[str, Any]:
    """Replace the contents of ``churn_predictions`` with these predictions, in one
    transaction: readers see the old rows or the new ones, never a half-written table."""
    ctx = legato.context()
    run_id = ctx.run_id if ctx is not None else ""
    table = sa.Table(
        "churn_predictions",
        sa.MetaData(),
        sa.Column("customer_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("churn_probability", sa.Float, nullable=False),
        sa.Column("predicted_churn", sa.Integer, nullable=False),
        sa.Column("actual_churn", sa.Integer, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
    )
    # Plain Python values: database drivers do not all take NumPy scalars.
    columns = {name: predictions[name].tolist() for name in predictions.columns}
    rows = [
        {**dict(zip(columns, values, strict=True)), "run_id": run_id}
        for values in zip(*columns.values(), strict=True)
    ]
    engine = _engine(db_url)
    try:
        with engine.begin() as conn:
            table.create(conn, checkfirst=True)
            conn.execute(table.delete())
            conn.execute(table.insert(), rows)
    finally:
        engine.dispose()
    return {"table": str(table.name), "rows": len(rows), "run_id": run_id}


@pipeline
def warehouse(
    db_url: str = DEFAULT_DB_URL, test_size: float = 0.25, seed: int = 0
) -> dict[str, Any]:
    """Train a churn model on the warehouse's customers and orders and write its
    predictions back to the database."""
    customers = extract_customers(db_url)
    orders = extract_orders(db_url)
    report = validate(customers, orders)
    dataset = split(build_features(customers, orders, report), test_size, seed)
    model = train(dataset, seed)
    metrics = evaluate(model, dataset)
    written = write_predictions(db_url, predict(model, dataset))
    return {"data": report, "metrics": metrics, "predictions": written}


def predictions_in_table(db_url: str, run_id: str | None = None) -> int | None:
    """Rows in the predictions table (only those ``run_id`` wrote, when given), or None when
    the table does not exist."""
    engine = _engine(db_url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("churn_predictions"):
                return None
            query = sa.text("SELECT COUNT(*) FROM churn_predictions")
            if run_id is not None:
                query = sa.text("SELECT COUNT(*) FROM churn_predictions WHERE run_id = :run_id")
                query = query.bindparams(run_id=run_id)
            return int(conn.execute(query).scalar_one())
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--db-url", default=DEFAULT_DB_URL, help="SQLAlchemy database URL")
    parser.add_argument("--executor", default="threads", choices=["threads", "processes", "inline"])
    args = parser.parse_args(argv)
    params = {"db_url": args.db_url}
    shown = sa.make_url(args.db_url).render_as_string(hide_password=True)

    if create_demo_database(args.db_url):
        print(f"created the demo tables in {shown}")
    started = time.perf_counter()
    result = legato.run(warehouse, params=params, executor=args.executor).raise_for_status()
    summary = result.output
    written = summary["predictions"]
    if predictions_in_table(args.db_url, written["run_id"]) != written["rows"]:
        # Writing the table is a side effect that a cache hit does not redo: put the rows
        # back when the table was dropped or rewritten since the run that wrote them.
        print("the predictions table no longer holds these predictions: writing it again")
        result = legato.run(
            warehouse, params=params, executor=args.executor, refresh={"write_predictions"}
        ).raise_for_status()
        summary = result.output
    elapsed = time.perf_counter() - started

    print(f"run {result.run_id} on {shown}: {result.state.value}")
    for key, record in result.tasks.items():
        took = f"{record.ran_for:.3f}s" if record.ran_for is not None else "-"
        print(f"  {key:<18} {record.state.value:<10} {took:>7}  {record.reason}")
    reused = sum(1 for t in result.tasks.values() if t.cache_hit is not None)
    print(f"reused {reused} of {len(result.tasks)} tasks from earlier runs; took {elapsed:.2f}s")
    data, metrics = summary["data"], summary["metrics"]
    print(
        f"{data['customers']} customers, {data['orders']} orders, "
        f"churn rate {data['churn_rate']:.1%}"
    )
    print(
        f"test accuracy {metrics['accuracy']:.3f} (majority class "
        f"{metrics['majority_baseline']:.3f}), ROC AUC {metrics['roc_auc']:.3f}, "
        f"precision {metrics['precision']:.3f}, recall {metrics['recall']:.3f}"
    )
    written = summary["predictions"]
    print(f"{written['rows']} predictions in table {written['table']} (run {written['run_id']})")


if __name__ == "__main__":
    main()
