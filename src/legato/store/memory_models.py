"""The in-memory model registry: the reference implementation of
:class:`~legato.store.base.ModelStore`, kept by :class:`~legato.store.memory.MemoryRunStore`.

The messages every model store gives are written once here; the SQL store uses them too.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime

from legato.errors import (
    AliasInUseError,
    FencedError,
    RegistryError,
    UnknownModelError,
    UnknownRunError,
)
from legato.model.registry import AliasChange, ModelVersion
from legato.store.base import ANY_VERSION
from legato.store.refusals import unknown_run_message

__all__ = [
    "Fence",
    "MemoryModelStore",
    "alias_conflict",
    "alias_in_use",
    "fence_version",
    "stale_attempt",
    "taken_over",
    "timestamp",
    "unknown_model",
    "unknown_version",
]


def timestamp(at: float) -> datetime:
    """Seconds since the epoch as an aware UTC datetime."""
    return datetime.fromtimestamp(at, tz=UTC)


def unknown_model(name: str, where: str) -> UnknownModelError:
    """No model named ``name``."""
    return UnknownModelError(
        f"no model named {name!r} in the registry at {where}: `legato models list` shows "
        "the models there"
    )


def unknown_version(name: str, version: int, known: list[int]) -> UnknownModelError:
    """No such version of a model that exists."""
    shown = ", ".join(map(str, known[-10:])) or "none"
    return UnknownModelError(
        f"model {name!r} has no version {version} (its versions: {shown}): "
        f"`legato models show {name}` lists them"
    )


def alias_in_use(name: str, version: int, aliases: list[str]) -> AliasInUseError:
    """Why a version an alias names cannot be deleted."""
    named = ", ".join(sorted(aliases))
    return AliasInUseError(
        f"version {version} of model {name!r} cannot be deleted: alias {named} points at "
        f"it. Move the alias first (`legato models promote {name} VERSION --alias ...` or "
        f"`legato models rollback {name} --alias ...`)"
    )


def alias_conflict(name: str, alias: str, expected: int | None, found: int | None) -> RegistryError:
    """The alias moved while a change of it was being decided."""
    return RegistryError(
        f"alias {alias!r} of model {name!r} was moved by someone else meanwhile (it names "
        f"version {found}, not {expected}); nothing was changed: look at its history and "
        "try again"
    )


def stale_attempt(run_id: str, task: str, attempt: int | None, current: int) -> FencedError:
    """A registration from an attempt the run has moved past."""
    return FencedError(
        f"attempt {attempt} of task {task!r} in run {run_id!r} is stale (the run is at "
        f"attempt {current}): it may not register a model version"
    )


def taken_over(version: ModelVersion, owner: str, epoch: int) -> FencedError:
    """A registration from a task whose orchestrator no longer owns the run."""
    return FencedError(
        f"model {version.name!r} was not registered by attempt {version.attempt} of task "
        f"{version.task!r}: run {version.run_id!r} was taken over by another orchestrator "
        f"(owner {owner!r}, epoch {epoch}) and this attempt's orchestrator must stop. "
        "Nothing was written; the run goes on under its new owner, whose attempt of the "
        f"task registers its own version (`legato runs show {version.run_id}`)"
    )


def fence_version(
    version: ModelVersion,
    owner: str | None,
    *,
    held: tuple[str, int] | None,
    attempt: int | None,
    where: str,
) -> None:
    """Raise what every store refuses a version of a run's task for, judged on what it
    read in the registration's transaction: ``held``, the run's owner and epoch (None: no
    such run), and ``attempt``, the task's current attempt (None: not known). With
    ``owner`` the run must be that orchestrator's; the attempt must not be stale."""
    run_id = version.run_id
    if owner is not None and run_id is not None:
        if held is None:
            raise UnknownRunError(unknown_run_message(run_id, where))
        if held[0] != owner:
            raise taken_over(version, *held)
    task = version.task
    if run_id is not None and task is not None and (version.attempt or 0) < (attempt or 0):
        raise stale_attempt(run_id, task, version.attempt, attempt or 0)


Fence = Callable[[ModelVersion, str | None], AbstractContextManager[object]]
"""Given a version of a run's task and the owner registering it (None: not fenced by owner),
a context that holds the run store still while the version is written, raising on entry
what the store refuses it for (``FencedError``, ``UnknownRunError``): the memory store's
transaction, so a take-over cannot fall between the check and the write."""


def _unfenced(_version: ModelVersion, _owner: str | None) -> AbstractContextManager[object]:
    return contextlib.nullcontext()


class MemoryModelStore:
    """A :class:`~legato.store.base.ModelStore` in this process's memory. ``fence`` checks
    a run's version against the run store that keeps the run (its owner, its task's current
    attempt); without one nothing is fenced."""

    url = "memory://"

    def __init__(self, fence: Fence | None = None) -> None:
        self._lock = threading.Lock()
        self._fence = fence or _unfenced
        self._last: dict[str, int] = {}
        self._versions: dict[str, dict[int, ModelVersion]] = {}
        self._aliases: dict[str, dict[str, int]] = {}
        self._changes: list[AliasChange] = []

    def add_version(
        self, version: ModelVersion, *, owner: str | None = None
    ) -> tuple[ModelVersion, bool]:
        """Store the next version of a model (see the protocol)."""
        with self._lock:
            if version.run_id is None:
                return self._add(version)
            with self._fence(version, owner):
                if version.task is not None:
                    for existing in self._versions.get(version.name, {}).values():
                        if (existing.run_id, existing.task) == (version.run_id, version.task):
                            return existing, False
                return self._add(version)

    def _add(self, version: ModelVersion) -> tuple[ModelVersion, bool]:
        """``version`` numbered and kept (the caller holds the lock)."""
        name = version.name
        number = self._last.get(name, 0) + 1
        self._last[name] = number
        stored = dataclasses.replace(version, version=number)
        self._versions.setdefault(name, {})[number] = stored
        return stored, True

    def get_version(self, name: str, version: int) -> ModelVersion:
        """One version."""
        with self._lock:
            versions = self._model(name)
            found = versions.get(version)
            if found is None:
                raise unknown_version(name, version, sorted(versions))
            return found

    def list_versions(self, name: str) -> list[ModelVersion]:
        """A model's versions, oldest first."""
        with self._lock:
            versions = self._model(name)
            return [versions[v] for v in sorted(versions)]

    def list_models(self) -> list[str]:
        """Names of the models, sorted."""
        with self._lock:
            return sorted(self._last)

    def get_aliases(self, name: str) -> dict[str, int]:
        """Each alias of the model and its version."""
        with self._lock:
            self._model(name)
            return dict(sorted(self._aliases.get(name, {}).items()))

    def move_alias(
        self,
        name: str,
        alias: str,
        version: int | None,
        *,
        action: str,
        reason: str,
        actor: str,
        at: float,
        expect: int | None = ANY_VERSION,
    ) -> AliasChange:
        """Point ``alias`` at ``version`` (None: remove it), recording the change."""
        with self._lock:
            versions = self._model(name)
            if version is not None and version not in versions:
                raise unknown_version(name, version, sorted(versions))
            aliases = self._aliases.setdefault(name, {})
            previous = aliases.get(alias)
            if expect not in (ANY_VERSION, previous):
                raise alias_conflict(name, alias, expect, previous)
            if version is None:
                aliases.pop(alias, None)
            else:
                aliases[alias] = version
            change = AliasChange(
                name=name,
                alias=alias,
                version=version,
                previous=previous,
                reason=reason,
                actor=actor,
                at=timestamp(at),
                action=action,
            )
            self._changes.append(change)
            return change

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasChange]:
        """Changes of the model's aliases (or one alias), oldest first."""
        with self._lock:
            self._model(name)
            return [
                c for c in self._changes if c.name == name and (alias is None or c.alias == alias)
            ]

    def delete_version(self, name: str, version: int) -> None:
        """Delete a version no alias names."""
        with self._lock:
            versions = self._model(name)
            if version not in versions:
                raise unknown_version(name, version, sorted(versions))
            holding = [a for a, v in self._aliases.get(name, {}).items() if v == version]
            if holding:
                raise alias_in_use(name, version, holding)
            del versions[version]

    def _model(self, name: str) -> dict[int, ModelVersion]:
        versions = self._versions.get(name)
        if versions is None:
            raise unknown_model(name, self.url)
        return versions
