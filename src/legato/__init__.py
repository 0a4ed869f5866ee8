"""legato: machine-learning pipelines as plain Python functions.

``import legato`` is cheap and has no side effects: every public name below is loaded on
first use (PEP 562 ``__getattr__``).

``_EXPORTS`` is the one list of public names at run time: ``__all__`` and ``dir(legato)``
are derived from it. The ``TYPE_CHECKING`` block says the same to type checkers, which
cannot read a computed ``__all__``: each name is imported as itself (``X as X``, an explicit
re-export), and a test parses that block and holds it to ``_EXPORTS``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from legato._version import __version__ as __version__

if TYPE_CHECKING:
    from legato.choices import FailurePolicy as FailurePolicy
    from legato.define.branches import Block as Block
    from legato.define.branches import block as block
    from legato.define.branches import finally_ as finally_
    from legato.define.branches import one_of as one_of
    from legato.define.branches import otherwise as otherwise
    from legato.define.branches import otherwise_when as otherwise_when
    from legato.define.branches import when as when
    from legato.define.mapping import keyed as keyed
    from legato.define.mapping import unmapped as unmapped
    from legato.define.pipeline import Pipeline as Pipeline
    from legato.define.pipeline import pipeline as pipeline
    from legato.define.products import product as product
    from legato.define.task import Task as Task
    from legato.define.task import task as task
    from legato.deployment import Deployment as Deployment
    from legato.deployment import SmokeTest as SmokeTest
    from legato.deployment import deploy as deploy
    from legato.deployment import gates as gates
    from legato.engine.compare import runs_compare as runs_compare
    from legato.engine.options import RunOptions as RunOptions
    from legato.engine.result import RunResult as RunResult
    from legato.engine.resume import resume as resume
    from legato.engine.run import RunHandle as RunHandle
    from legato.engine.run import run as run
    from legato.engine.run import start as start
    from legato.engine.tracked import read_tracked as read_tracked
    from legato.errors import AliasInUseError as AliasInUseError
    from legato.errors import Cancelled as Cancelled
    from legato.errors import ConfigError as ConfigError
    from legato.errors import DefinitionError as DefinitionError
    from legato.errors import DeploymentError as DeploymentError
    from legato.errors import ExecutorError as ExecutorError
    from legato.errors import InvalidNameError as InvalidNameError
    from legato.errors import LegatoError as LegatoError
    from legato.errors import OutputSkippedError as OutputSkippedError
    from legato.errors import ParameterError as ParameterError
    from legato.errors import PlanError as PlanError
    from legato.errors import RegistryError as RegistryError
    from legato.errors import RunFailedError as RunFailedError
    from legato.errors import RunInterrupted as RunInterrupted
    from legato.errors import SecretValueError as SecretValueError
    from legato.errors import TaskCancelled as TaskCancelled
    from legato.errors import TaskFailedError as TaskFailedError
    from legato.errors import UnknownModelError as UnknownModelError
    from legato.executors.base import Executor as Executor
    from legato.executors.inline import InlineExecutor as InlineExecutor
    from legato.executors.processes import ProcessesExecutor as ProcessesExecutor
    from legato.executors.ray_executor import RayExecutor as RayExecutor
    from legato.executors.threads import ThreadsExecutor as ThreadsExecutor
    from legato.model.registry import AliasChange as AliasChange
    from legato.model.registry import ModelVersion as ModelVersion
    from legato.model.rollback import CompensationRecord as CompensationRecord
    from legato.model.rollback import RollbackContext as RollbackContext
    from legato.model.rollback import RollbackState as RollbackState
    from legato.model.schedules import ScheduleDef as ScheduleDef
    from legato.model.specs import CacheKeyContext as CacheKeyContext
    from legato.model.specs import CachePolicy as CachePolicy
    from legato.model.specs import Capacity as Capacity
    from legato.model.specs import Resources as Resources
    from legato.model.specs import RetryPolicy as RetryPolicy
    from legato.model.states import RunState as RunState
    from legato.model.states import TaskState as TaskState
    from legato.model.tracking import Tracked as Tracked
    from legato.model.tracking import TrackKind as TrackKind
    from legato.model.triggers import FailedInput as FailedInput
    from legato.model.triggers import Trigger as Trigger
    from legato.query.client import get_run as get_run
    from legato.query.client import latest_output as latest_output
    from legato.query.client import runs as runs
    from legato.query.stored import StoredRun as StoredRun
    from legato.registry.registry import Registry as Registry
    from legato.registry.registry import open_registry as open_registry
    from legato.registry.signature import infer_signature as infer_signature
    from legato.runtime.context import TaskContext as TaskContext
    from legato.runtime.context import current_context as _current_context
    from legato.runtime.secrets import secret as secret
    from legato.runtime.tracking import log_artifact as log_artifact
    from legato.runtime.tracking import log_metric as log_metric
    from legato.runtime.tracking import log_metrics as log_metrics
    from legato.runtime.tracking import log_param as log_param
    from legato.runtime.tracking import log_params as log_params
    from legato.runtime.tracking import register_model as register_model
    from legato.runtime.tracking import set_tags as set_tags
    from legato.schedules.declare import alias_moved as alias_moved
    from legato.schedules.declare import files_changed as files_changed
    from legato.schedules.declare import schedule as schedule

    # Exported under another name: ``from m import f as g`` is not a re-export to a type
    # checker, an assignment is.
    context = _current_context

_EXPORTS: dict[str, tuple[str, str]] = {
    # public name: (module, attribute)
    "FailurePolicy": ("legato.choices", "FailurePolicy"),
    "Pipeline": ("legato.define.pipeline", "Pipeline"),
    "pipeline": ("legato.define.pipeline", "pipeline"),
    "Task": ("legato.define.task", "Task"),
    "task": ("legato.define.task", "task"),
    "keyed": ("legato.define.mapping", "keyed"),
    "unmapped": ("legato.define.mapping", "unmapped"),
    "product": ("legato.define.products", "product"),
    "Block": ("legato.define.branches", "Block"),
    "block": ("legato.define.branches", "block"),
    "finally_": ("legato.define.branches", "finally_"),
    "one_of": ("legato.define.branches", "one_of"),
    "otherwise": ("legato.define.branches", "otherwise"),
    "otherwise_when": ("legato.define.branches", "otherwise_when"),
    "when": ("legato.define.branches", "when"),
    "FailedInput": ("legato.model.triggers", "FailedInput"),
    "Trigger": ("legato.model.triggers", "Trigger"),
    "Deployment": ("legato.deployment", "Deployment"),
    "ScheduleDef": ("legato.model.schedules", "ScheduleDef"),
    "schedule": ("legato.schedules.declare", "schedule"),
    "alias_moved": ("legato.schedules.declare", "alias_moved"),
    "files_changed": ("legato.schedules.declare", "files_changed"),
    "SmokeTest": ("legato.deployment", "SmokeTest"),
    "deploy": ("legato.deployment", "deploy"),
    "gates": ("legato.deployment", "gates"),
    "runs_compare": ("legato.engine.compare", "runs_compare"),
    "RunOptions": ("legato.engine.options", "RunOptions"),
    "RunResult": ("legato.engine.result", "RunResult"),
    "resume": ("legato.engine.resume", "resume"),
    "RunHandle": ("legato.engine.run", "RunHandle"),
    "run": ("legato.engine.run", "run"),
    "start": ("legato.engine.run", "start"),
    "read_tracked": ("legato.engine.tracked", "read_tracked"),
    "AliasInUseError": ("legato.errors", "AliasInUseError"),
    "Cancelled": ("legato.errors", "Cancelled"),
    "ConfigError": ("legato.errors", "ConfigError"),
    "DefinitionError": ("legato.errors", "DefinitionError"),
    "DeploymentError": ("legato.errors", "DeploymentError"),
    "ExecutorError": ("legato.errors", "ExecutorError"),
    "InvalidNameError": ("legato.errors", "InvalidNameError"),
    "LegatoError": ("legato.errors", "LegatoError"),
    "OutputSkippedError": ("legato.errors", "OutputSkippedError"),
    "ParameterError": ("legato.errors", "ParameterError"),
    "PlanError": ("legato.errors", "PlanError"),
    "RegistryError": ("legato.errors", "RegistryError"),
    "RunFailedError": ("legato.errors", "RunFailedError"),
    "RunInterrupted": ("legato.errors", "RunInterrupted"),
    "SecretValueError": ("legato.errors", "SecretValueError"),
    "TaskCancelled": ("legato.errors", "TaskCancelled"),
    "TaskFailedError": ("legato.errors", "TaskFailedError"),
    "UnknownModelError": ("legato.errors", "UnknownModelError"),
    "Executor": ("legato.executors.base", "Executor"),
    "InlineExecutor": ("legato.executors.inline", "InlineExecutor"),
    "ProcessesExecutor": ("legato.executors.processes", "ProcessesExecutor"),
    "RayExecutor": ("legato.executors.ray_executor", "RayExecutor"),
    "ThreadsExecutor": ("legato.executors.threads", "ThreadsExecutor"),
    "AliasChange": ("legato.model.registry", "AliasChange"),
    "ModelVersion": ("legato.model.registry", "ModelVersion"),
    "CompensationRecord": ("legato.model.rollback", "CompensationRecord"),
    "RollbackContext": ("legato.model.rollback", "RollbackContext"),
    "RollbackState": ("legato.model.rollback", "RollbackState"),
    "CacheKeyContext": ("legato.model.specs", "CacheKeyContext"),
    "CachePolicy": ("legato.model.specs", "CachePolicy"),
    "Capacity": ("legato.model.specs", "Capacity"),
    "Resources": ("legato.model.specs", "Resources"),
    "RetryPolicy": ("legato.model.specs", "RetryPolicy"),
    "RunState": ("legato.model.states", "RunState"),
    "TaskState": ("legato.model.states", "TaskState"),
    "Tracked": ("legato.model.tracking", "Tracked"),
    "TrackKind": ("legato.model.tracking", "TrackKind"),
    "get_run": ("legato.query.client", "get_run"),
    "latest_output": ("legato.query.client", "latest_output"),
    "runs": ("legato.query.client", "runs"),
    "StoredRun": ("legato.query.stored", "StoredRun"),
    "Registry": ("legato.registry.registry", "Registry"),
    "open_registry": ("legato.registry.registry", "open_registry"),
    "infer_signature": ("legato.registry.signature", "infer_signature"),
    "TaskContext": ("legato.runtime.context", "TaskContext"),
    "context": ("legato.runtime.context", "current_context"),
    "secret": ("legato.runtime.secrets", "secret"),
    "log_artifact": ("legato.runtime.tracking", "log_artifact"),
    "log_metric": ("legato.runtime.tracking", "log_metric"),
    "log_metrics": ("legato.runtime.tracking", "log_metrics"),
    "log_param": ("legato.runtime.tracking", "log_param"),
    "log_params": ("legato.runtime.tracking", "log_params"),
    "register_model": ("legato.runtime.tracking", "register_model"),
    "set_tags": ("legato.runtime.tracking", "set_tags"),
}

__all__ = sorted([*_EXPORTS, "__version__"])  # noqa: PLE0605 (derived from _EXPORTS)


def __getattr__(name: str) -> Any:
    try:
        module, attr = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'legato' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return list(__all__)
