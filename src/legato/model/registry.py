"""Records of the model registry, and the rules for the names it accepts.

A model is a name; each registration creates the next *version* of it (1, 2, 3...), which
points at a checksummed artifact and records where it came from (its lineage). *Aliases*
(``staging``, ``production``, any other) name one version each; every change of an alias is
kept as an :class:`AliasChange`.

Names are checked here, before anything is stored or looked up: a model name is 1 to 128
letters, digits, ``_``, ``.`` and ``-`` starting with a letter or digit (so ``../x``,
``a/b``, absolute paths, empty and very long names are refused); an alias is 1 to 64 of the
same characters starting with a letter; a version is a positive integer. None of them ever
becomes part of a storage path: artifacts are stored under their checksum.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from legato.errors import InvalidNameError
from legato.model.artifacts import ArtifactRef

__all__ = [
    "MAX_VERSION",
    "AliasChange",
    "ModelRef",
    "ModelVersion",
    "check_alias",
    "check_model_name",
    "check_version",
    "parse_model_ref",
]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}")
_ALIAS = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,63}")
_VERSION = re.compile(r"[1-9][0-9]{0,9}")
MAX_VERSION = 2**31 - 1
"""Versions fit a 32-bit integer column on every database."""


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_model_name(name: object) -> str:
    """``name`` if it is a valid model name, else ``InvalidNameError`` saying why."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        raise InvalidNameError(
            f"{_shown(name)} is not a valid model name: use 1 to 128 letters, digits, '_', "
            "'.' and '-', starting with a letter or digit (no '/', no '..', no spaces)"
        )
    return name


def check_alias(alias: object) -> str:
    """``alias`` if it is a valid alias (``production``, ``staging``, ``champion-2``...)."""
    if not isinstance(alias, str) or not _ALIAS.fullmatch(alias):
        raise InvalidNameError(
            f"{_shown(alias)} is not a valid alias: use 1 to 64 letters, digits, '_', '.' "
            "and '-', starting with a letter"
        )
    return alias


def check_version(version: object) -> int:
    """``version`` as an int if it is a valid version number (a positive integer, or a
    string of digits), else ``InvalidNameError``."""
    if isinstance(version, str) and _VERSION.fullmatch(version.strip()):
        version = int(version.strip())
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= MAX_VERSION:
        raise InvalidNameError(
            f"{_shown(version)} is not a valid model version: versions are whole numbers from 1"
        )
    return version


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A parsed reference to a model version: ``name`` (the latest version),
    ``name@alias`` or ``name:version``."""

    name: str
    alias: str | None = None
    version: int | None = None

    def __str__(self) -> str:
        if self.alias is not None:
            return f"{self.name}@{self.alias}"
        if self.version is not None:
            return f"{self.name}:{self.version}"
        return self.name


def parse_model_ref(ref: object) -> ModelRef:
    """Parse ``name``, ``name@alias`` or ``name:version`` (``InvalidNameError`` if
    malformed)."""
    if not isinstance(ref, str):
        raise InvalidNameError(
            f"{_shown(ref)} is not a model reference: use 'name', 'name@alias' or 'name:version'"
        )
    if "@" in ref:
        name, _, alias = ref.partition("@")
        return ModelRef(check_model_name(name), alias=check_alias(alias))
    if ":" in ref:
        name, _, version = ref.partition(":")
        return ModelRef(check_model_name(name), version=check_version(version))
    return ModelRef(check_model_name(ref))


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelVersion:
    """One registered version of a model: the artifact it points at and its lineage."""

    name: str
    version: int
    artifact: ArtifactRef
    """The model object, stored (checksummed) in the artifact store."""
    run_id: str | None = None
    """The run whose task registered it (None when registered outside a run)."""
    task: str | None = None
    """Key of that task in the run (``train[2]`` for an item of a map)."""
    attempt: int | None = None
    """The attempt of the task that registered it."""
    fingerprint: str | None = None
    """Fingerprint of the registering task's code."""
    params: Mapping[str, Any] = field(default_factory=dict)
    """The run's parameters and the parameters the task logged (``log_param``)."""
    metrics: Mapping[str, float] = field(default_factory=dict)
    signature: Mapping[str, Any] | None = None
    """What inputs the model takes (see :mod:`legato.registry.signature`)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    environment: Mapping[str, Any] = field(default_factory=dict)
    """The run's environment snapshot: Python, packages, git commit, host."""
    inputs: Mapping[str, str] = field(default_factory=dict)
    """The registering task's stored inputs: the upstream task key → artifact checksum."""
    created_at: datetime

    @property
    def ref(self) -> str:
        """``name:version``, a reference :meth:`Registry.resolve` accepts."""
        return f"{self.name}:{self.version}"


@dataclass(frozen=True, slots=True, kw_only=True)
class AliasChange:
    """One change of an alias: which version it names now (None: removed) and before."""

    name: str
    alias: str
    version: int | None
    previous: int | None
    reason: str
    actor: str
    at: datetime
    action: str = "set"
    """``set`` (promote), ``rollback`` or ``remove``."""
