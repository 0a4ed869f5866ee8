"""legato: machine-learning pipelines as plain Python functions.

``import legato`` is cheap and has no side effects: every public name below is loaded on
first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from legato._version import __version__

if TYPE_CHECKING:
    from legato.define.pipeline import Pipeline, pipeline
    from legato.define.task import Task, task
    from legato.define.tracing import unmapped
    from legato.deployment import Deployment, SmokeTest, deploy, gates
    from legato.engine.compare import runs_compare
    from legato.engine.options import RunOptions
    from legato.engine.result import RunResult
    from legato.engine.resume import resume
    from legato.engine.run import RunHandle, run, start
    from legato.errors import (
        AliasInUseError,
        Cancelled,
        ConfigError,
        DefinitionError,
        DeploymentError,
        ExecutorError,
        InvalidNameError,
        LegatoError,
        ParameterError,
        PlanError,
        RegistryError,
        RunFailedError,
        RunInterrupted,
        TaskCancelled,
        TaskFailedError,
        UnknownModelError,
    )
    from legato.executors.base import Executor
    from legato.executors.inline import InlineExecutor
    from legato.executors.processes import ProcessesExecutor
    from legato.executors.threads import ThreadsExecutor
    from legato.model.registry import AliasChange, ModelVersion
    from legato.model.rollback import CompensationRecord, RollbackContext, RollbackState
    from legato.model.specs import (
        CacheKeyContext,
        CachePolicy,
        Capacity,
        FailurePolicy,
        Resources,
        RetryPolicy,
    )
    from legato.model.states import RunState, TaskState
    from legato.registry import Registry, infer_signature, open_registry
    from legato.runtime.context import TaskContext
    from legato.runtime.context import current_context as context
    from legato.runtime.secrets import secret
    from legato.runtime.tracking import (
        log_artifact,
        log_metric,
        log_metrics,
        log_param,
        log_params,
        register_model,
        set_tags,
    )

_EXPORTS: dict[str, tuple[str, str]] = {
    "task": ("legato.define.task", "task"),
    "Task": ("legato.define.task", "Task"),
    "pipeline": ("legato.define.pipeline", "pipeline"),
    "Pipeline": ("legato.define.pipeline", "Pipeline"),
    "unmapped": ("legato.define.tracing", "unmapped"),
    "run": ("legato.engine.run", "run"),
    "start": ("legato.engine.run", "start"),
    "resume": ("legato.engine.resume", "resume"),
    "RunHandle": ("legato.engine.run", "RunHandle"),
    "RunOptions": ("legato.engine.options", "RunOptions"),
    "RunResult": ("legato.engine.result", "RunResult"),
    "Executor": ("legato.executors.base", "Executor"),
    "InlineExecutor": ("legato.executors.inline", "InlineExecutor"),
    "ThreadsExecutor": ("legato.executors.threads", "ThreadsExecutor"),
    "ProcessesExecutor": ("legato.executors.processes", "ProcessesExecutor"),
    "Capacity": ("legato.model.specs", "Capacity"),
    "CacheKeyContext": ("legato.model.specs", "CacheKeyContext"),
    "CachePolicy": ("legato.model.specs", "CachePolicy"),
    "FailurePolicy": ("legato.model.specs", "FailurePolicy"),
    "Resources": ("legato.model.specs", "Resources"),
    "RetryPolicy": ("legato.model.specs", "RetryPolicy"),
    "RunState": ("legato.model.states", "RunState"),
    "CompensationRecord": ("legato.model.rollback", "CompensationRecord"),
    "RollbackContext": ("legato.model.rollback", "RollbackContext"),
    "RollbackState": ("legato.model.rollback", "RollbackState"),
    "deploy": ("legato.deployment", "deploy"),
    "Deployment": ("legato.deployment", "Deployment"),
    "gates": ("legato.deployment", "gates"),
    "SmokeTest": ("legato.deployment", "SmokeTest"),
    "TaskState": ("legato.model.states", "TaskState"),
    "TaskContext": ("legato.runtime.context", "TaskContext"),
    "context": ("legato.runtime.context", "current_context"),
    "secret": ("legato.runtime.secrets", "secret"),
    **{
        name: ("legato.runtime.tracking", name)
        for name in (
            "log_artifact",
            "log_metric",
            "log_metrics",
            "log_param",
            "log_params",
            "register_model",
            "set_tags",
        )
    },
    "runs_compare": ("legato.engine.compare", "runs_compare"),
    "AliasChange": ("legato.model.registry", "AliasChange"),
    "ModelVersion": ("legato.model.registry", "ModelVersion"),
    "Registry": ("legato.registry.registry", "Registry"),
    "infer_signature": ("legato.registry.signature", "infer_signature"),
    "open_registry": ("legato.registry.registry", "open_registry"),
    **{
        name: ("legato.errors", name)
        for name in (
            "Cancelled",
            "ConfigError",
            "DefinitionError",
            "ExecutorError",
            "LegatoError",
            "ParameterError",
            "PlanError",
            "RunFailedError",
            "RunInterrupted",
            "TaskCancelled",
            "TaskFailedError",
            "RegistryError",
            "InvalidNameError",
            "UnknownModelError",
            "AliasInUseError",
            "DeploymentError",
        )
    },
}

__all__ = [
    "AliasChange",
    "infer_signature",
    "log_artifact",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "ModelVersion",
    "open_registry",
    "register_model",
    "Registry",
    "RegistryError",
    "InvalidNameError",
    "UnknownModelError",
    "AliasInUseError",
    "runs_compare",
    "set_tags",
    "CacheKeyContext",
    "CachePolicy",
    "Cancelled",
    "Capacity",
    "CompensationRecord",
    "ConfigError",
    "context",
    "DefinitionError",
    "deploy",
    "Deployment",
    "DeploymentError",
    "Executor",
    "ExecutorError",
    "FailurePolicy",
    "gates",
    "InlineExecutor",
    "LegatoError",
    "ParameterError",
    "Pipeline",
    "pipeline",
    "PlanError",
    "ProcessesExecutor",
    "Resources",
    "RetryPolicy",
    "resume",
    "RollbackContext",
    "RollbackState",
    "run",
    "RunFailedError",
    "RunHandle",
    "RunInterrupted",
    "RunOptions",
    "RunResult",
    "RunState",
    "secret",
    "SmokeTest",
    "start",
    "Task",
    "task",
    "TaskCancelled",
    "TaskContext",
    "TaskFailedError",
    "TaskState",
    "ThreadsExecutor",
    "unmapped",
    "__version__",
]


def __getattr__(name: str) -> Any:
    try:
        module, attr = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'legato' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
