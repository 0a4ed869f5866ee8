"""Recorded errors: what the control plane knows of an exception without holding it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["ErrorInfo", "ErrorKind"]


class ErrorKind(StrEnum):
    """Why an attempt ended badly, as far as legato can tell."""

    RAISED = "raised"
    """The task's function raised an exception."""
    INPUT = "input"
    """Its inputs could not be bound (an index out of range, a mapped list of a bad type)."""
    TIMEOUT = "timeout"
    """It ran past its timeout and was stopped."""
    CRASH = "crash"
    """The worker running it died (segfault, ``os._exit``, out-of-memory kill, SIGKILL)."""
    CANCELLED = "cancelled"
    """It was stopped because the run was cancelled."""
    OUTPUT = "output"
    """It returned a value legato could not carry back (unpicklable)."""
    STORAGE = "storage"
    """Its output could not be stored (disk full, store unreachable); worth a retry."""
    INTERNAL = "internal"
    """legato itself failed around the task; a bug to report."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorInfo:
    """An exception reduced to text: type, message, traceback and class hierarchy.

    The class names (``mro``) let retry policies match by type without unpickling anything a
    task produced.
    """

    kind: ErrorKind
    type_name: str
    """Qualified name, ``module.Class``."""
    message: str
    traceback: str = ""
    mro: tuple[str, ...] = ()
    """Qualified names of the exception's class and its bases."""

    @classmethod
    def from_exception(cls, exc: BaseException, kind: ErrorKind = ErrorKind.RAISED) -> ErrorInfo:
        """Capture ``exc`` with its traceback."""
        # Imported here: a process that only decodes errors (the store's append process)
        # starts without traceback and textwrap.
        import traceback as tb  # noqa: PLC0415 (see above)

        mro = tuple(
            f"{k.__module__}.{k.__qualname__}"
            for k in type(exc).__mro__
            if issubclass(k, BaseException)
        )
        return cls(
            kind=kind,
            type_name=mro[0],
            message=str(exc),
            traceback="".join(tb.format_exception(exc)),
            mro=mro,
        )

    @classmethod
    def of(cls, kind: ErrorKind, message: str, type_name: str = "") -> ErrorInfo:
        """An error legato itself detected (a timeout, a crash)."""
        return cls(kind=kind, type_name=type_name or f"legato.{kind.value}", message=message)

    def is_instance(self, qualified_names: frozenset[str]) -> bool:
        """Whether the original exception was an instance of any of the named classes."""
        return not qualified_names.isdisjoint(self.mro)

    def summary(self) -> str:
        """One line: ``ValueError: bad value``."""
        short = self.type_name.rsplit(".", 1)[-1]
        return f"{short}: {self.message}" if self.message else short
