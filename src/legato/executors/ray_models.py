"""A task's model registry on a Ray worker: its tables read and its aliases moved by the
run's driver.

Calls reach a Ray worker without the run store's URL, so a task there cannot open the
registry's tables; yet ``legato.deploy`` reads versions and aliases and moves an alias, and
any task may use the run's registry (``runtime.tracking.current_registry``). On a Ray
worker that registry's :class:`~legato.store.base.ModelStore` is a :class:`RelayedModels`:
each call is a request through the relay (``ray_relay.ask``), which the driver carries out
(:func:`carry_out`) on the run's own store (``runtime.tracking.models_for_run``) for an
attempt it still runs, answering with the result or the error, raised in the worker. The
model's bytes stay where they are: the worker reads them from the artifact store itself.

Only what a registry reads and its alias moves travel (:data:`CARRIED`): a version is added
through ``register_model``'s own request (the driver completes its lineage and fences it by
its owner token), and none is deleted from a task.
"""

from __future__ import annotations

from typing import Any

from legato.errors import RegistryError
from legato.executors.ray_relay import ask
from legato.model.registry import AliasChange, ModelVersion
from legato.runtime.context import TaskContext
from legato.store.base import ANY_VERSION, ModelStore

__all__ = ["CARRIED", "MODELS", "RelayedModels", "carry_out"]

MODELS = "models"
"""First element of a request's payload carrying a registry call to the driver:
``(MODELS, call_id, (run_id, key, attempt), method, args, kwargs)``."""

CARRIED = frozenset(
    {"get_version", "list_versions", "list_models", "get_aliases", "move_alias", "alias_history"}
)
"""The :class:`~legato.store.base.ModelStore` methods a worker's registry may call."""


class RelayedModels:
    """The registry's tables as a task on a Ray worker reaches them: through the run's
    driver, on behalf of the attempt ``ctx`` (see the module's docstring)."""

    def __init__(self, relay: Any, ctx: TaskContext) -> None:
        self._relay = relay
        self._run_id = ctx.run_id
        self._call_id = ctx.call.call_id if ctx.call is not None else -1
        self._attempt = (ctx.run_id, ctx.key, ctx.attempt)

    def _ask(self, method: str, *args: Any, **kwargs: Any) -> Any:
        payload = (MODELS, self._call_id, self._attempt, method, args, kwargs)
        return ask(self._relay, self._run_id, payload)

    def add_version(
        self, version: ModelVersion, *, owner: str | None = None
    ) -> tuple[ModelVersion, bool]:
        raise RegistryError(
            "a task on a Ray worker registers a model with legato.register_model, which has "
            "the run's driver record it with its lineage"
        )

    def get_version(self, name: str, version: int) -> ModelVersion:
        found: ModelVersion = self._ask("get_version", name, version)
        return found

    def list_versions(self, name: str) -> list[ModelVersion]:
        found: list[ModelVersion] = self._ask("list_versions", name)
        return found

    def list_models(self) -> list[str]:
        found: list[str] = self._ask("list_models")
        return found

    def get_aliases(self, name: str) -> dict[str, int]:
        found: dict[str, int] = self._ask("get_aliases", name)
        return found

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
        change: AliasChange = self._ask(
            "move_alias",
            name,
            alias,
            version,
            action=action,
            reason=reason,
            actor=actor,
            at=at,
            expect=expect,
        )
        return change

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasChange]:
        found: list[AliasChange] = self._ask("alias_history", name, alias)
        return found

    def delete_version(self, name: str, version: int) -> None:
        raise RegistryError(
            f"a task on a Ray worker may not delete version {version} of {name!r}: delete "
            "versions from the driver's machine (legato models delete, or "
            "legato.open_registry())"
        )


def carry_out(
    models: ModelStore, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Call ``method`` of ``models`` as a worker asked (the driver's side); a method not
    in :data:`CARRIED` is refused."""
    if method not in CARRIED:
        raise RegistryError(f"a task on a Ray worker may not call the registry's {method!r}")
    return getattr(models, method)(*args, **kwargs)
