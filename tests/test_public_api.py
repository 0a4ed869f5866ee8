"""The public surface is pinned: adding or removing a name is a deliberate change."""

from __future__ import annotations

import subprocess
import sys

import pytest

import legato

PUBLIC = {
    "AliasChange",
    "AliasInUseError",
    "InvalidNameError",
    "ModelVersion",
    "Registry",
    "RegistryError",
    "UnknownModelError",
    "infer_signature",
    "log_artifact",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "open_registry",
    "register_model",
    "runs_compare",
    "set_tags",
    "CacheKeyContext",
    "CachePolicy",
    "Cancelled",
    "Capacity",
    "CompensationRecord",
    "ConfigError",
    "DefinitionError",
    "deploy",
    "Deployment",
    "DeploymentError",
    "gates",
    "SmokeTest",
    "Executor",
    "ExecutorError",
    "FailurePolicy",
    "InlineExecutor",
    "LegatoError",
    "ParameterError",
    "Pipeline",
    "PlanError",
    "ProcessesExecutor",
    "Resources",
    "RetryPolicy",
    "RollbackContext",
    "RollbackState",
    "RunFailedError",
    "RunHandle",
    "RunInterrupted",
    "RunOptions",
    "RunResult",
    "RunState",
    "Task",
    "TaskCancelled",
    "TaskContext",
    "TaskFailedError",
    "TaskState",
    "ThreadsExecutor",
    "__version__",
    "context",
    "pipeline",
    "resume",
    "run",
    "secret",
    "start",
    "task",
    "unmapped",
}


def test_exported_names_are_pinned() -> None:
    assert set(legato.__all__) == PUBLIC


def test_every_exported_name_resolves_and_is_documented() -> None:
    for name in legato.__all__:
        value = getattr(legato, name)
        if name != "__version__":
            assert value.__doc__, f"legato.{name} has no docstring"


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        legato.no_such_name  # noqa: B018


def test_import_is_cheap_and_loads_no_heavy_dependency() -> None:
    # A fresh interpreter: what does `import legato` pull in?
    code = (
        "import sys, json; before = set(sys.modules); import legato; "
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    loaded = set(__import__("json").loads(out))
    heavy = {
        "sqlalchemy",
        "fastapi",
        "ray",
        "numpy",
        "pandas",
        "cloudpickle",
        "typer",
        "rich",
        "pydantic",
        "fsspec",
        "alembic",
        "uvicorn",
        "multiprocessing",
        "concurrent",
        "asyncio",
        "subprocess",
    }
    assert not {m.split(".")[0] for m in loaded} & heavy
    assert {m for m in loaded if m.startswith("legato")} == {"legato", "legato._version"}
