"""The exceptions legato raises, grouped by how a caller reacts to them.

::

    LegatoError (Exception)       anything legato reports
    ├── DefinitionError           a task or pipeline is written wrong: fix the code
    │   └── PlanError             it cannot run on this executor (resources)
    ├── ParameterError            run parameters are wrong: fix the call or CLI flags
    │   └── SecretValueError      a secret's value was given to legato to record: read
    │                             secrets inside tasks, never record them
    ├── ConfigError               legato.toml, a LEGATO_* variable or a secret reference is
    │                             wrong: fix the configuration (names file, key, expected)
    ├── ExecutorError             an executor could not start or lost its workers
    ├── StoreError                run or artifact storage failed
    │   ├── IntegrityError        an artifact is missing, truncated or altered
    │   ├── SerializationError    a value cannot be serialised (retrying will not help)
    │   ├── FencedError           another orchestrator has taken this run over
    │   ├── RunBusyError          the run's orchestrator is alive: it cannot be taken over
    │   ├── RunExistsError        a run with that id exists already
    │   └── UnknownRunError       no run has that id (or the prefix is ambiguous)
    ├── RegistryError             the model registry refused a request
    │   ├── InvalidNameError      a model name, alias, version or reference is malformed
    │   │                         (also a ValueError)
    │   ├── UnknownModelError     no such model, version or alias (also a KeyError)
    │   └── AliasInUseError       a version an alias points at cannot be deleted
    ├── DeploymentError           a deployment was refused by its gates or its smoke
    │                             test: the alias did not move to the version
    ├── RunFailedError            a run failed; ``.result`` tells which tasks and why
    ├── OutputSkippedError        a run succeeded but what its pipeline returns was skipped
    │                             (a branch not taken): there is no value to read
    └── TaskFailedError           one task's failure, with its recorded error

    Cancelled (BaseException)     never swallowed by ``except Exception``
    ├── TaskCancelled             raised inside a task that is being stopped
    └── RunInterrupted            Ctrl-C stopped a run (also a KeyboardInterrupt)

``DefinitionError`` carries the task, the place in the user's file and a fix; its ``str()``
shows all three so a terminal user sees what to change without reading a traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from legato.model.errors import ErrorInfo
    from legato.model.ids import SourceLocation

__all__ = [
    "Cancelled",
    "ConfigError",
    "DefinitionError",
    "ExecutorError",
    "FencedError",
    "IntegrityError",
    "LegatoError",
    "OutputSkippedError",
    "ParameterError",
    "PlanError",
    "RegistryError",
    "InvalidNameError",
    "UnknownModelError",
    "AliasInUseError",
    "RunBusyError",
    "RunExistsError",
    "RunFailedError",
    "DeploymentError",
    "RunInterrupted",
    "SecretValueError",
    "SerializationError",
    "StoreError",
    "TaskCancelled",
    "TaskFailedError",
    "UnknownRunError",
]


class LegatoError(Exception):
    """Root of every error legato raises on purpose."""


class DefinitionError(LegatoError):
    """A task or pipeline is defined in a way legato cannot run.

    Raised while a pipeline is traced and validated, always before a run is created.
    """

    def __init__(
        self,
        problem: str,
        *,
        fix: str,
        task: str | None = None,
        pipeline: str | None = None,
        location: SourceLocation | None = None,
    ) -> None:
        self.problem = problem
        self.fix = fix
        self.task = task
        self.pipeline = pipeline
        self.location = location
        super().__init__(self._render())

    def _render(self) -> str:
        lines = [self.problem]
        if self.location is not None:
            lines.append(f"  at {self.location.render()}")
        lines.append(f"  fix: {self.fix}")
        return "\n".join(lines)


class PlanError(DefinitionError):
    """The pipeline is valid but cannot run on the chosen executor (e.g. too many resources)."""


class ParameterError(LegatoError):
    """Run parameters do not match the pipeline's signature or cannot be stored."""


class SecretValueError(ParameterError):
    """A value handed to legato to record (a run parameter, a tracked value, a tag, a
    registry field) contains the value of a secret; nothing of it was stored.

    ``api`` is the call that refused it (``legato.log_param``), ``field`` what held the
    secret (``parameter 'token'``), ``secret`` which secret it is (its name and variable,
    never its value). Raised inside a task, it fails the attempt even if the task catches it.
    """

    def __init__(self, message: str, *, api: str = "", field: str = "", secret: str = "") -> None:
        super().__init__(message)
        self.api = api
        self.field = field
        self.secret = secret


class ConfigError(LegatoError):
    """The configuration is wrong: a ``legato.toml`` (or ``[tool.legato]``) entry, a
    ``LEGATO_*`` environment variable, the chosen profile or a secret reference.

    ``source`` is the file (or ``"environment"``), ``key`` the dotted key as written there,
    ``expected`` what would be accepted; ``str()`` shows all three. The message never
    contains the value of a secret.
    """

    def __init__(
        self,
        problem: str,
        *,
        source: str,
        key: str | None = None,
        expected: str | None = None,
        line: int | None = None,
    ) -> None:
        self.problem = problem
        self.source = source
        self.key = key
        self.expected = expected
        self.line = line
        super().__init__(self._render())

    def _render(self) -> str:
        where = self.source if self.line is None else f"{self.source}, line {self.line}"
        head = f"{where}: {self.key}: {self.problem}" if self.key else f"{where}: {self.problem}"
        return head if self.expected is None else f"{head}\n  expected: {self.expected}"


class ExecutorError(LegatoError):
    """An executor failed as a whole (could not start workers, lost its pool)."""


class StoreError(LegatoError):
    """The run store or the artifact store failed; what is already stored is intact."""


class IntegrityError(StoreError):
    """An artifact is missing, truncated or altered: its checksum does not verify."""


class SerializationError(StoreError):
    """A value cannot be serialised by any registered serialiser; retrying will not help."""


class FencedError(StoreError):
    """Another orchestrator has taken this run over (``resume``); this one must stop."""


class RunBusyError(StoreError):
    """The run's orchestrator is still alive, so the run cannot be taken over."""


class RunExistsError(StoreError):
    """A run with this id exists already."""


class UnknownRunError(StoreError):
    """No run has this id, or several runs start with this prefix."""


class RegistryError(LegatoError):
    """The model registry refused a request; nothing in it changed."""


class InvalidNameError(RegistryError, ValueError):
    """A model name, alias, version number or model reference is malformed (names are
    checked before anything is stored or looked up, so none can act as a path)."""


class UnknownModelError(RegistryError, KeyError):
    """No model has that name, no version that number, or no version holds that alias."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class AliasInUseError(RegistryError):
    """A version that an alias points at cannot be deleted: move the alias first."""


class TaskFailedError(LegatoError):
    """A task failed; carries the recorded error of its last attempt."""

    def __init__(self, task: str, error: ErrorInfo | None, state: str) -> None:
        self.task = task
        self.error = error
        self.state = state
        detail = f"{error.type_name}: {error.message}" if error is not None else state
        super().__init__(f"task {task!r} {state}: {detail}")


class DeploymentError(LegatoError):
    """A deployment did not happen: a gate refused the model version, or it failed its smoke
    test, which runs before the alias moves (nothing changed; an alias an earlier attempt of
    the same deploy had moved is moved back)."""


class RunFailedError(LegatoError):
    """A run did not succeed; ``result`` is the full :class:`~legato.RunResult`."""

    def __init__(self, message: str, result: Any) -> None:
        self.result = result
        super().__init__(message)


class OutputSkippedError(LegatoError):
    """A run succeeded, but what its pipeline returns is (or holds) the output of a task
    that was skipped: a branch not taken, or a ``legato.one_of`` whose every branch was.
    A skip is a decision, not a failure, so the run's state says ``succeeded`` and only
    its output is missing.

    ``task`` is the skipped task whose output was to be read, ``because`` why it was
    skipped (``branch 'when' was not taken (the condition was False)``) and ``fix`` how to
    get a value; ``str()`` shows all three."""

    def __init__(self, problem: str, *, task: str, because: str, fix: str) -> None:
        self.problem = problem
        self.task = task
        self.because = because
        self.fix = fix
        super().__init__(f"{problem}\n  fix: {fix}")


class Cancelled(BaseException):
    """Cancellation. Derives from ``BaseException`` so ``except Exception`` in user code
    cannot swallow it."""


class TaskCancelled(Cancelled):
    """Raised inside a task that legato is stopping (run cancelled, or its timeout passed)."""


class RunInterrupted(Cancelled, KeyboardInterrupt):
    """Ctrl-C stopped a run. Running tasks were stopped and the run recorded as cancelled;
    ``result`` holds the :class:`~legato.RunResult`."""

    def __init__(self, result: Any) -> None:
        self.result = result
        super().__init__(f"run {result.run_id} was interrupted and cancelled")
