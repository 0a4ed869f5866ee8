"""The public surface is pinned: adding or removing a name is a deliberate change."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

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
    "read_tracked",
    "register_model",
    "runs_compare",
    "set_tags",
    "StoredRun",
    "get_run",
    "latest_output",
    "runs",
    "schedule",
    "alias_moved",
    "files_changed",
    "ScheduleDef",
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
    "OutputSkippedError",
    "ParameterError",
    "Pipeline",
    "PlanError",
    "ProcessesExecutor",
    "RayExecutor",
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
    "SecretValueError",
    "Task",
    "TaskCancelled",
    "TaskContext",
    "TaskFailedError",
    "TaskState",
    "Tracked",
    "TrackKind",
    "ThreadsExecutor",
    "__version__",
    "context",
    "keyed",
    "product",
    "pipeline",
    "resume",
    "run",
    "secret",
    "start",
    "task",
    "unmapped",
    "Block",
    "block",
    "finally_",
    "one_of",
    "otherwise",
    "otherwise_when",
    "when",
    "FailedInput",
    "Trigger",
}


def test_exported_names_are_pinned() -> None:
    assert set(legato.__all__) == PUBLIC


def test_all_is_derived_from_the_export_table_and_sorted() -> None:
    assert legato.__all__ == sorted(legato.__all__)
    assert len(set(legato.__all__)) == len(legato.__all__)
    assert set(legato.__all__) == {*legato._EXPORTS, "__version__"}


def test_dir_lists_the_exported_names() -> None:
    assert dir(legato) == legato.__all__


def test_every_entry_of_the_export_table_resolves_to_its_module_attribute() -> None:
    for name, (module, attr) in legato._EXPORTS.items():
        assert getattr(legato, name) is getattr(importlib.import_module(module), attr), name


def _type_checking_names(tree: ast.Module) -> dict[str, tuple[str, str]]:
    """What the module's ``if TYPE_CHECKING:`` block binds: public name -> (module,
    attribute), following ``name = _imported`` assignments. Every public import must be an
    explicit re-export (``X as X``), or type checkers do not export it."""
    blocks = [
        node
        for node in tree.body
        if isinstance(node, ast.If)
        and isinstance(node.test, ast.Name)
        and node.test.id == "TYPE_CHECKING"
    ]
    assert len(blocks) == 1
    imported: dict[str, tuple[str, str]] = {}
    public: dict[str, tuple[str, str]] = {}
    for node in blocks[0].body:
        if isinstance(node, ast.ImportFrom):
            assert node.module is not None
            assert node.level == 0
            for alias in node.names:
                bound = alias.asname or alias.name
                imported[bound] = (node.module, alias.name)
                if not bound.startswith("_"):
                    assert alias.asname == alias.name, f"import {alias.name} as {alias.name}"
                    public[bound] = imported[bound]
        else:
            assert isinstance(node, ast.Assign), ast.dump(node)
            (target,) = node.targets
            assert isinstance(target, ast.Name)
            assert isinstance(node.value, ast.Name)
            public[target.id] = imported[node.value.id]
    return public


def test_the_type_checking_block_imports_exactly_the_exported_names() -> None:
    assert legato.__file__ is not None
    tree = ast.parse(Path(legato.__file__).read_text())
    assert _type_checking_names(tree) == legato._EXPORTS


def test_the_type_checking_check_catches_a_missing_or_wrong_name() -> None:
    # The check above must fail on the drift it is there to catch.
    bad = ast.parse(
        "if TYPE_CHECKING:\n"
        "    from legato.define.task import task as task\n"
        "    from legato.define.task import Task\n"
    )
    with pytest.raises(AssertionError, match="import Task as Task"):
        _type_checking_names(bad)
    short = ast.parse("if TYPE_CHECKING:\n    from legato.define.task import task as task\n")
    assert _type_checking_names(short) != legato._EXPORTS


def test_version_is_re_exported_explicitly() -> None:
    assert legato.__file__ is not None
    tree = ast.parse(Path(legato.__file__).read_text())
    (found,) = [
        alias
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module == "legato._version"
        for alias in node.names
    ]
    assert (found.name, found.asname) == ("__version__", "__version__")


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
