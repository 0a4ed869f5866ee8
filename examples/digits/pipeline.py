"""The digits example: a real ML pipeline on scikit-learn's bundled digits data.

ingest -> validate -> split -> scale -> features -> train four models in parallel (.map)
-> evaluate each -> pick the best -> save it and register it in the model registry
-> when it beats the model in production, deploy it: gates (accuracy), a smoke test,
promotion to ``production`` (otherwise production stays) -> finally, a run report.

Tasks record what they did with ``legato.log_param`` / ``legato.log_metric``
(``legato runs compare RUN RUN`` puts runs side by side); the best model becomes the next
version of the registered model ``digits`` (``legato models show digits``).

Run it with ``make demo`` or ``python examples/digits/pipeline.py``; run it again and every
task is a cache hit. See README.md beside this file.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

import legato
from legato import ModelVersion, Resources, RetryPolicy, keyed, pipeline, task, unmapped

MODELS = ["logreg", "random_forest", "svc", "knn"]

Split = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@task(retry=RetryPolicy(attempts=3, delay=0.2, retry_on=ConnectionError))
def ingest(simulate_outage: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Load the 1,797 8x8 digit images (bundled with scikit-learn, no download).

    The first attempt fails with a simulated network hiccup to show retries at work.
    """
    from sklearn.datasets import load_digits

    ctx = legato.context()
    if simulate_outage and ctx is not None and ctx.attempt == 1:
        raise ConnectionError("simulated outage of the data source")
    data = load_digits()
    return data.data.astype(np.float64), data.target.astype(np.int64)


@task
def validate(dataset: tuple[np.ndarray, np.ndarray]) -> dict[str, Any]:
    """Schema, nulls and class balance checks; raises if the data is unusable."""
    X, y = dataset
    if X.ndim != 2 or X.shape[1] != 64:
        raise ValueError(f"expected 64 pixel features per image, got shape {X.shape}")
    if np.isnan(X).any():
        raise ValueError(f"{int(np.isnan(X).sum())} missing pixel values")
    counts = np.bincount(y, minlength=10)
    if counts.min() < 0.5 * counts.mean():
        raise ValueError(f"class imbalance too strong: counts per class {counts.tolist()}")
    return {"rows": int(X.shape[0]), "features": int(X.shape[1]), "classes": counts.tolist()}


@task
def split(
    dataset: tuple[np.ndarray, np.ndarray], report: dict[str, Any], test_size: float, seed: int
) -> Split:
    """Stratified train/test split."""
    from sklearn.model_selection import train_test_split

    X, y = dataset
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=seed, stratify=y
    )
    return X_train, X_test, y_train, y_test


@task
def scale(data: Split) -> tuple[Split, Any]:
    """Standardise features with statistics of the training set only; also returns the
    fitted scaler, which becomes part of the deployed model."""
    from sklearn.preprocessing import StandardScaler

    X_train, X_test, y_train, y_test = data
    scaler = StandardScaler().fit(X_train)
    return (scaler.transform(X_train), scaler.transform(X_test), y_train, y_test), scaler


def ink_features() -> Any:
    """The pixels plus the mean ink of each row and each column of the 8x8 image, as a
    scikit-learn transformer (a fixed linear map), so the deployed model computes them too."""
    from sklearn.pipeline import FeatureUnion
    from sklearn.preprocessing import FunctionTransformer

    means = np.zeros((64, 16))
    for pixel in range(64):
        row, column = divmod(pixel, 8)
        means[pixel, row] = means[pixel, 8 + column] = 1 / 8
    ink = FunctionTransformer(np.dot, kw_args={"b": means})
    return FeatureUnion([("pixels", "passthrough"), ("ink", ink)])


@task
def features(scaled: tuple[Split, Any]) -> Split:
    """Add row-wise summary features (ink per row and column of the 8x8 image)."""
    (X_train, X_test, y_train, y_test), _ = scaled
    extra = ink_features()
    return extra.fit_transform(X_train), extra.transform(X_test), y_train, y_test


def _make_model(kind: str, seed: int) -> Any:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.svm import SVC

    models = {
        "logreg": lambda: LogisticRegression(max_iter=2000),
        "random_forest": lambda: RandomForestClassifier(n_estimators=100, random_state=seed),
        "svc": SVC,
        "knn": lambda: KNeighborsClassifier(n_neighbors=3),
    }
    return models[kind]()


@task(resources=Resources(cpus=1))
def train(kind: str, data: Split, seed: int) -> Any:
    """Fit one model kind on the training set."""
    X_train, _, y_train, _ = data
    legato.log_params({"kind": kind, "seed": seed, "train_rows": len(X_train)})
    return _make_model(kind, seed).fit(X_train, y_train)


@task
def evaluate(kind: str, model: Any, data: Split) -> dict[str, Any]:
    """Accuracy, macro F1 and the confusion matrix on the test set."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    _, X_test, _, y_test = data
    predicted = model.predict(X_test)
    scores = {
        "model": kind,
        "accuracy": float(accuracy_score(y_test, predicted)),
        "f1_macro": float(f1_score(y_test, predicted, average="macro")),
        "confusion": confusion_matrix(y_test, predicted).tolist(),
    }
    legato.log_metrics({"accuracy": scores["accuracy"], "f1_macro": scores["f1_macro"]})
    return scores


@task
def pick_best(scores: list[dict[str, Any]], models: list[Any]) -> tuple[dict[str, Any], Any]:
    """The model with the best accuracy (ties go to the earlier kind)."""
    best = max(range(len(scores)), key=lambda i: (scores[i]["accuracy"], -i))
    legato.log_param("best_model", scores[best]["model"])
    legato.log_metric("best_accuracy", scores[best]["accuracy"])
    return scores[best], models[best]


@task
def save(
    best: tuple[dict[str, Any], Any], scaled: tuple[Split, Any], out_dir: str
) -> tuple[str, ModelVersion | None]:
    """Write the chosen model, with the scaler and the feature step in front of it, with
    joblib, and register it as the next version of the model ``digits`` (with its metrics and
    input signature: rows of 64 raw pixel values); returns the file's path and the
    registered version."""
    import joblib
    from sklearn.pipeline import make_pipeline

    score, model = best
    _, scaler = scaled
    deployable = make_pipeline(scaler, ink_features(), model)
    path = Path(out_dir) / f"digits-{score['model']}.joblib"
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(deployable, path)
    registered = legato.register_model(
        "digits",
        deployable,
        metrics={"accuracy": score["accuracy"], "f1_macro": score["f1_macro"]},
        signature=legato.infer_signature(np.zeros((1, 64))),
        tags={"kind": score["model"]},
    )
    return str(path), registered


@task
def smoke_test(data: Split) -> legato.SmokeTest:
    """Five held-out images (raw pixels) the candidate must answer with digits before it is
    promoted (in-process, as ``legato serve`` would; give ``url=`` to try it on a running
    ``legato serve digits@production`` instead)."""
    rows = np.asarray(data[1][:5], dtype=float).tolist()
    return legato.SmokeTest(rows=rows, allowed=tuple(range(10)))


@task(cache=False)  # production moves between runs: ask the registry every time
def beats_production(best: tuple[dict[str, Any], Any], version: ModelVersion | None) -> bool:
    """Whether the new model is better than the one in ``production``: more accurate than
    the version it names, or nothing is in production yet. A version already in production
    (a rerun that saved the same model) does not beat itself."""
    score, _ = best
    with legato.open_registry() as registry:
        try:
            current = registry.resolve("digits@production")
        except legato.UnknownModelError:
            return True
    if version is not None and current.version == version.version:
        return False
    return bool(score["accuracy"] > current.metrics.get("accuracy", 0.0))


@task(cache=False)
def keep_production() -> legato.Deployment:
    """What stays in production when the new model does not beat it (nothing changes)."""
    with legato.open_registry() as registry:
        current = registry.resolve("digits@production")
    return legato.Deployment(
        name="digits",
        version=current.version,
        alias="production",
        previous=current.version,
        changed=False,
        actor="legato example: the new model did not beat production",
    )


@task(cache=False)  # it writes a file: a cache hit would not
def write_report(scores: Any, deployment: Any, out_dir: str) -> str:
    """The run report, written whatever happened before it (a ``finally_()`` block): the
    scores and the deployment, or how each of them ended when it has no value."""
    import json

    def shown(value: Any) -> Any:
        if isinstance(value, legato.FailedInput):
            return {"task": value.task, "state": value.state, "message": value.message}
        if isinstance(value, legato.Deployment):
            return {"version": value.version, "alias": value.alias, "changed": value.changed}
        return value

    ctx = legato.context()
    report = {
        "run": ctx.run_id if ctx is not None else None,
        "scores": shown(scores),
        "deployment": shown(deployment),
    }
    path = Path(out_dir) / "report.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    return str(path)


GATES = [
    legato.gates.metric_at_least("accuracy", 0.9),
    legato.gates.not_worse_than_current("accuracy", margin=0.01),
]


@pipeline
def digits(
    test_size: float = 0.25,
    seed: int = 0,
    out_dir: str = "build/digits",
    simulate_outage: bool = True,
) -> dict[str, Any]:
    """Train four classifiers on the digits data and keep the best one."""
    dataset = ingest(simulate_outage)
    report = validate(dataset)
    raw = split(dataset, report, test_size, seed)
    scaled = scale(raw)
    data = features(scaled)
    # One item per model, named by it: train[logreg], evaluate[logreg]...
    models = train.map(keyed(MODELS), unmapped(data), seed)
    scores = evaluate.map(keyed(MODELS), models, unmapped(data))
    best = pick_best(scores, models)
    model_path, version = save(best, scaled, out_dir)
    # Deployed only when it beats the model in production; then promoted only if it passes
    # the gates and answers the smoke test: a version that fails either is never named by
    # `production`, so never served. Both branches are in the graph; the one not taken
    # ends `skipped`.
    with legato.when(beats_production(best, version)):
        deployed = legato.deploy(version, alias="production", gates=GATES, smoke=smoke_test(raw))
    with legato.otherwise():
        kept = keep_production()
    deployment = legato.one_of(deployed, kept)
    # The report is written after everything above, whether it succeeded or not.
    with legato.finally_():
        report = write_report(scores, deployment, out_dir)
    return {
        "scores": scores,
        "model_path": model_path,
        "deployment": deployment,
        "report": report,
    }


def main() -> None:
    started = time.perf_counter()
    result = legato.run(digits).raise_for_status()
    if not Path(result.output["model_path"]).is_file():
        # Saving is a side effect: a cache hit does not redo it, so write the file again
        # when it was deleted since the run that saved it.
        print("the saved model file is gone: saving it again")
        result = legato.run(digits, refresh={"save"}).raise_for_status()
    elapsed = time.perf_counter() - started

    print(digits.graph.render_text())
    print()
    print(f"run {result.run_id}: {result.state.value}")
    for key, record in result.tasks.items():
        took = f"{record.ran_for:.3f}s" if record.ran_for is not None else "-"
        note = f"{record.items} items" if record.mapped else record.reason
        print(f"  {key:<24} {record.state.value:<10} attempts={record.attempt}  {took:>7}  {note}")
    print()
    for score in sorted(result.output["scores"], key=lambda s: -s["accuracy"]):
        print(f"  {score['model']:<14} accuracy={score['accuracy']:.4f} f1={score['f1_macro']:.4f}")
    print(f"best model saved to {result.output['model_path']}")
    print(f"run report written to {result.output['report']}")
    with legato.open_registry() as registry:
        latest = registry.latest("digits")
        print(f"registered as {latest.ref} (legato models show {latest.ref})")
    deployed = result.output["deployment"]
    print(
        f"production: {deployed.name}:{deployed.version}"
        + (" (promoted by this run)" if deployed.changed else " (already)")
        + "; serve it with: legato serve digits@production"
    )
    total = result.task_count.tasks  # each map counted as its items, as `legato graph` does
    print(f"reused {result.reused} of {total} tasks from earlier runs; took {elapsed:.2f}s")


if __name__ == "__main__":
    main()
