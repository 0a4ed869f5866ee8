"""The model registry: versions of named models, with lineage, aliases and their history.

:class:`Registry` is the one facade; it validates every name, stores the model object through
the artifact store (checksummed, with the serialiser its type calls for: scikit-learn models
via joblib) and keeps versions, aliases and alias changes in the run store's database
(:class:`~legato.store.base.ModelStore`). It never takes a storage path from its caller: a
version records the artifact's reference, whose location legato derived from the checksum.

Rollback is one step: an alias's changes form a stack (a promote pushes the new version, a
rollback pops back to the version below), so rolling ``production`` back twice after
promoting 1, 2, 3 gives 2, then 1. Versions deleted meanwhile are skipped.
"""

from __future__ import annotations

import getpass
import socket
import time
from collections.abc import Callable, Mapping
from typing import Any

from legato.config import load_settings
from legato.errors import RegistryError, UnknownModelError
from legato.model.registry import (
    AliasChange,
    ModelVersion,
    check_alias,
    check_model_name,
    check_version,
    parse_model_ref,
)
from legato.registry.fields import Lineage, check_actor, check_reason
from legato.registry.versions import record_version, stage_version
from legato.secret_values import refuse, watch
from legato.store.artifacts import FsspecArtifactStore, check_location
from legato.store.base import ArtifactStore, ModelStore, RunStore
from legato.store.memory_models import timestamp
from legato.store.open import open_run_store

__all__ = ["Lineage", "Registry", "default_actor", "open_registry"]


def default_actor() -> str:
    """Who is changing the registry: ``user@host`` of this process."""
    try:
        user = getpass.getuser()
    except Exception:  # no user name in a bare container
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


class Registry:
    """Models, their versions and aliases. Open one with :func:`open_registry`.

    Thread-safe; several processes may share one registry (its database serialises
    registrations and alias changes).
    """

    def __init__(
        self,
        models: ModelStore,
        artifacts: ArtifactStore,
        *,
        clock: Callable[[], float] = time.time,
        owned: RunStore | None = None,
    ) -> None:
        self.models_store = models
        self.artifacts = artifacts
        self._clock = clock
        self._owned = owned

    def __repr__(self) -> str:
        return f"<Registry {getattr(self.models_store, 'url', '?')}>"

    def close(self) -> None:
        """Release the run store :func:`open_registry` opened (none given: nothing)."""
        if self._owned is not None:
            self._owned.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- registering ---------------------------------------------------------------------------

    def register(
        self,
        name: str,
        model: Any,
        *,
        metrics: Mapping[str, float] | None = None,
        signature: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        lineage: Lineage | None = None,
    ) -> ModelVersion:
        """Store ``model`` and make it the next version of ``name``. From a task in a run
        (``lineage`` naming the run and task), registering again from a retried attempt
        returns the version registered first instead of adding one. A field holding a
        secret's value is refused (``SecretValueError``) before anything is stored."""
        version = stage_version(
            self.artifacts,
            name,
            model,
            metrics=metrics,
            signature=signature,
            tags=tags,
            lineage=lineage or Lineage(),
            created_at=timestamp(self._clock()),
            api="Registry.register",
        )
        return record_version(self.models_store, version)

    # -- reading -------------------------------------------------------------------------------

    def models(self) -> list[str]:
        """Names of all models, sorted."""
        return self.models_store.list_models()

    def versions(self, name: str) -> list[ModelVersion]:
        """A model's versions, oldest first."""
        return self.models_store.list_versions(check_model_name(name))

    def get(self, name: str, version: int) -> ModelVersion:
        """One version of a model."""
        return self.models_store.get_version(check_model_name(name), check_version(version))

    def latest(self, name: str) -> ModelVersion:
        """The newest version of a model."""
        versions = self.versions(name)
        if not versions:
            raise UnknownModelError(f"model {name!r} has no versions (all were deleted)")
        return versions[-1]

    def aliases(self, name: str) -> dict[str, int]:
        """Each alias of a model and the version it names."""
        return self.models_store.get_aliases(check_model_name(name))

    def alias(self, name: str, alias: str) -> ModelVersion | None:
        """The version ``alias`` names, or None when the alias is not set."""
        check_alias(alias)
        version = self.aliases(name).get(alias)
        return None if version is None else self.get(name, version)

    def resolve(self, ref: str) -> ModelVersion:
        """The version a reference names: ``name`` (the latest), ``name@alias`` or
        ``name:version``."""
        parsed = parse_model_ref(ref)
        if parsed.alias is not None:
            found = self.alias(parsed.name, parsed.alias)
            if found is None:
                raise UnknownModelError(
                    f"model {parsed.name!r} has no alias {parsed.alias!r} "
                    f"(its aliases: {', '.join(self.aliases(parsed.name)) or 'none'}): "
                    f"`legato models promote {parsed.name} VERSION --alias {parsed.alias}` "
                    "sets it"
                )
            return found
        if parsed.version is not None:
            return self.get(parsed.name, parsed.version)
        return self.latest(parsed.name)

    def load(self, mv: ModelVersion) -> Any:
        """The model object of a version, after verifying its checksum (``IntegrityError``
        if the stored bytes were altered, truncated or deleted)."""
        check_location(mv.artifact)
        return self.artifacts.get(mv.artifact)

    def history(self, name: str, alias: str | None = None) -> list[AliasChange]:
        """Changes of a model's aliases (or of one), oldest first."""
        check_model_name(name)
        return self.models_store.alias_history(name, None if alias is None else check_alias(alias))

    # -- changing aliases ----------------------------------------------------------------------

    def set_alias(
        self, name: str, alias: str, version: int, *, reason: str, actor: str | None = None
    ) -> AliasChange:
        """Point ``alias`` at ``version`` (a promotion); the previous holder is recorded.
        An alias, reason or actor holding a secret's value is refused
        (``SecretValueError``)."""
        api = "Registry.set_alias"
        refuse(alias, api=api, field="the alias")
        return self.models_store.move_alias(
            check_model_name(name),
            check_alias(alias),
            check_version(version),
            action="set",
            reason=check_reason(reason, api),
            actor=check_actor(actor or default_actor(), api),
            at=self._clock(),
        )

    def remove_alias(
        self, name: str, alias: str, *, reason: str, actor: str | None = None
    ) -> AliasChange:
        """Remove ``alias`` (the change is recorded like any other)."""
        check_alias(alias)
        api = "Registry.remove_alias"
        reason, actor = check_reason(reason, api), check_actor(actor or default_actor(), api)
        if alias not in self.aliases(name):
            raise UnknownModelError(f"model {name!r} has no alias {alias!r}")
        return self.models_store.move_alias(
            name,
            alias,
            None,
            action="remove",
            reason=reason,
            actor=actor,
            at=self._clock(),
        )

    def rollback(
        self,
        name: str,
        alias: str = "production",
        *,
        to: int | None = None,
        reason: str,
        actor: str | None = None,
    ) -> AliasChange:
        """Move ``alias`` back: to the version it named before its current one (one step),
        or to ``to``. Refused (``RegistryError``) when the alias is not set or has nothing to
        go back to; atomic against a concurrent change of the alias."""
        check_model_name(name)
        check_alias(alias)
        api = "Registry.rollback"
        reason, actor = check_reason(reason, api), check_actor(actor or default_actor(), api)
        current = self.aliases(name).get(alias)
        if current is None:
            raise RegistryError(
                f"model {name!r} has no alias {alias!r}: there is nothing to roll back"
            )
        if to is not None:
            target = check_version(to)
            if target == current:
                raise RegistryError(f"alias {alias!r} of model {name!r} names version {to} already")
        else:
            target = self._previous(name, alias, current)
        return self.models_store.move_alias(
            name,
            alias,
            target,
            action="rollback",
            reason=reason,
            actor=actor,
            at=self._clock(),
            expect=current,
        )

    def _previous(self, name: str, alias: str, current: int) -> int:
        stack: list[int] = []
        for change in self.models_store.alias_history(name, alias):
            version = change.version
            if version is None:
                stack.clear()
            elif change.action == "rollback" and version in stack:
                del stack[stack.index(version) + 1 :]
            elif not stack or stack[-1] != version:
                stack.append(version)
        existing = {v.version for v in self.models_store.list_versions(name)}
        for version in reversed(stack[:-1]):
            if version != current and version in existing:
                return version
        raise RegistryError(
            f"alias {alias!r} of model {name!r} has no earlier version to roll back to "
            f"(it names version {current}); give one with --to VERSION"
        )

    def delete(self, name: str, version: int) -> None:
        """Delete a version (``AliasInUseError`` while an alias names it). Its artifact
        stays in the artifact store, which is content-addressed and may share it."""
        self.models_store.delete_version(check_model_name(name), check_version(version))


def open_registry(
    profile: str | None = None,
    *,
    store: RunStore | ModelStore | str | None = None,
    artifacts: ArtifactStore | str | None = None,
) -> Registry:
    """The registry of a profile's stores, resolved like ``legato.run`` does (nearest
    ``legato.toml``, ``LEGATO_*`` variables); ``store`` (a run store, a model store or a
    run-store URL) and ``artifacts`` (an artifact store or URL) override them. The values of
    the profile's secrets are known from then on, so a field holding one is refused."""
    owned: RunStore | None = None
    if store is None or artifacts is None:
        settings = load_settings(profile)
        watch(settings.secret_refs)  # the profile's secrets are refused here as in its runs
        if store is None:
            store = settings.state_url
        if artifacts is None:
            artifacts = settings.artifacts_url
    if isinstance(store, str):
        store = owned = open_run_store(store)
    if isinstance(artifacts, str):
        artifacts = FsspecArtifactStore(artifacts)
    models: ModelStore = store.models if hasattr(store, "models") else store
    return Registry(models, artifacts, owned=owned)
