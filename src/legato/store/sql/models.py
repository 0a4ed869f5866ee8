"""The model registry in the run store's database (SQLite or PostgreSQL).

Every change is one write transaction that first locks the model's row in ``models``
(``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` holds the whole
database), so registrations and alias changes of one model are serialised: version numbers
come from the row's ``last_version`` counter without gaps or duplicates, and an alias's
previous holder is read and replaced atomically. A version a run's task registers is
fenced in its transaction too: by the run's owner (its row locked first, so a take-over
cannot slip between the check and the write) and by the task's current attempt.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, TypeVar

import sqlalchemy as sa

from legato.errors import StoreError
from legato.model.codec import artifact_from_dict
from legato.model.jsonable import from_jsonable, to_jsonable
from legato.model.registry import AliasChange, ModelVersion
from legato.store.base import ANY_VERSION
from legato.store.memory_models import (
    alias_conflict,
    alias_in_use,
    fence_version,
    timestamp,
    unknown_model,
    unknown_version,
)
from legato.store.sql.batch import dumps, output_json
from legato.store.sql.connect import dialect_insert
from legato.store.sql.registry_tables import alias_changes, model_aliases, model_versions, models
from legato.store.sql.run_tables import runs, task_runs
from legato.store.sql.transactions import Transactions

__all__ = ["SqlModelStore"]

_T = TypeVar("_T")


class SqlModelStore:
    """A :class:`~legato.store.base.ModelStore` in a SQL database; thread-safe (each call
    is its own transaction on a pooled connection)."""

    def __init__(self, transactions: Transactions) -> None:
        self._tx = transactions
        self._insert = dialect_insert(transactions.engine.dialect.name)
        self.url = transactions.engine.url.render_as_string(hide_password=True)

    def _lock(self, c: sa.Connection, name: str) -> None:
        """Lock the model's row for this transaction (``UnknownModelError`` if none)."""
        found = c.execute(
            sa.select(models.c.name).where(models.c.name == name).with_for_update()
        ).first()
        if found is None:
            raise unknown_model(name, self.url)

    def _fence(self, c: sa.Connection, version: ModelVersion, owner: str | None) -> None:
        """Refuse a version of a run's task as every store does (``fence_version``). With
        ``owner`` the run's row stays locked until this transaction ends (``FOR SHARE`` on
        PostgreSQL; SQLite's write lock holds the whole database): a take-over, which
        updates that row, waits for the registration, or came first and is seen."""
        run_id, task = version.run_id, version.task
        query = sa.select(runs.c.owner, runs.c.epoch).where(runs.c.run_id == run_id)
        found = c.execute(query.with_for_update(read=True)).first() if owner is not None else None
        attempt = None
        if task is not None:
            attempt = c.execute(
                sa.select(task_runs.c.attempt).where(
                    task_runs.c.run_id == run_id, task_runs.c.key == task
                )
            ).scalar()
        held = None if found is None else (found.owner, found.epoch)
        fence_version(version, owner, held=held, attempt=attempt, where=self.url)

    def _numbers(self, c: sa.Connection, name: str) -> list[int]:
        query = (
            sa.select(model_versions.c.version)
            .where(model_versions.c.name == name)
            .order_by(model_versions.c.version)
        )
        return list(c.execute(query).scalars())

    # -- versions ------------------------------------------------------------------------------

    def add_version(
        self, version: ModelVersion, *, owner: str | None = None
    ) -> tuple[ModelVersion, bool]:
        """Store the next version of a model (see the protocol)."""
        name = version.name
        row = _row(version)
        with self._tx.write(f"registering a version of model {name!r}") as c:
            if version.run_id is not None:
                self._fence(c, version, owner)
            c.execute(
                self._insert(models)
                .values(name=name, created_at=row["created_at"], last_version=0)
                .on_conflict_do_nothing()
            )
            self._lock(c, name)
            if version.run_id is not None and version.task is not None:
                existing = c.execute(
                    sa.select(model_versions).where(
                        model_versions.c.name == name,
                        model_versions.c.run_id == version.run_id,
                        model_versions.c.task_key == version.task,
                    )
                ).first()
                if existing is not None:
                    return _version(existing), False
            c.execute(
                sa.update(models)
                .where(models.c.name == name)
                .values(last_version=models.c.last_version + 1)
            )
            number = c.execute(
                sa.select(models.c.last_version).where(models.c.name == name)
            ).scalar_one()
            c.execute(sa.insert(model_versions).values(**row, version=number))
            stored = c.execute(
                sa.select(model_versions).where(
                    model_versions.c.name == name, model_versions.c.version == number
                )
            ).one()
            return _version(stored), True

    def get_version(self, name: str, version: int) -> ModelVersion:
        """One version."""

        def work(c: sa.Connection) -> ModelVersion:
            row = c.execute(
                sa.select(model_versions).where(
                    model_versions.c.name == name, model_versions.c.version == version
                )
            ).first()
            if row is not None:
                return _version(row)
            self._exists(c, name)
            raise unknown_version(name, version, self._numbers(c, name))

        return self._tx.read(f"reading version {version} of model {name!r}", work)

    def list_versions(self, name: str) -> list[ModelVersion]:
        """A model's versions, oldest first."""

        def work(c: sa.Connection) -> list[ModelVersion]:
            self._exists(c, name)
            query = (
                sa.select(model_versions)
                .where(model_versions.c.name == name)
                .order_by(model_versions.c.version)
            )
            return [_version(row) for row in c.execute(query)]

        return self._tx.read(f"listing the versions of model {name!r}", work)

    def list_models(self) -> list[str]:
        """Names of the models, sorted."""
        query = sa.select(models.c.name)
        return self._tx.read("listing models", lambda c: sorted(c.execute(query).scalars()))

    def delete_version(self, name: str, version: int) -> None:
        """Delete a version no alias names."""
        with self._tx.write(f"deleting version {version} of model {name!r}") as c:
            self._lock(c, name)
            holding = list(
                c.execute(
                    sa.select(model_aliases.c.alias).where(
                        model_aliases.c.name == name, model_aliases.c.version == version
                    )
                ).scalars()
            )
            if holding:
                raise alias_in_use(name, version, holding)
            done = c.execute(
                sa.delete(model_versions).where(
                    model_versions.c.name == name, model_versions.c.version == version
                )
            )
            if done.rowcount != 1:
                raise unknown_version(name, version, self._numbers(c, name))

    # -- aliases -------------------------------------------------------------------------------

    def get_aliases(self, name: str) -> dict[str, int]:
        """Each alias of the model and its version."""

        def work(c: sa.Connection) -> dict[str, int]:
            self._exists(c, name)
            query = sa.select(model_aliases.c.alias, model_aliases.c.version).where(
                model_aliases.c.name == name
            )
            return dict(sorted((alias, version) for alias, version in c.execute(query)))

        return self._tx.read(f"reading the aliases of model {name!r}", work)

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
        where = (model_aliases.c.name == name, model_aliases.c.alias == alias)
        with self._tx.write(f"moving alias {alias!r} of model {name!r}") as c:
            self._lock(c, name)
            if version is not None:
                found = c.execute(
                    sa.select(model_versions.c.version).where(
                        model_versions.c.name == name, model_versions.c.version == version
                    )
                ).first()
                if found is None:
                    raise unknown_version(name, version, self._numbers(c, name))
            previous = c.execute(sa.select(model_aliases.c.version).where(*where)).scalar()
            if expect not in (ANY_VERSION, previous):
                raise alias_conflict(name, alias, expect, previous)
            if version is None:
                c.execute(sa.delete(model_aliases).where(*where))
            elif previous is None:
                c.execute(
                    sa.insert(model_aliases).values(
                        name=name, alias=alias, version=version, updated_at=at
                    )
                )
            else:
                c.execute(
                    sa.update(model_aliases).where(*where).values(version=version, updated_at=at)
                )
            c.execute(
                sa.insert(alias_changes).values(
                    name=name,
                    alias=alias,
                    version=version,
                    previous=previous,
                    action=action,
                    reason=reason,
                    actor=actor,
                    at=at,
                )
            )
        return AliasChange(
            name=name,
            alias=alias,
            version=version,
            previous=previous,
            reason=reason,
            actor=actor,
            at=timestamp(at),
            action=action,
        )

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasChange]:
        """Changes of the model's aliases (or one alias), oldest first."""
        query = sa.select(alias_changes).where(alias_changes.c.name == name)
        if alias is not None:
            query = query.where(alias_changes.c.alias == alias)
        query = query.order_by(alias_changes.c.id)

        def work(c: sa.Connection) -> list[AliasChange]:
            self._exists(c, name)
            return [
                AliasChange(
                    name=row.name,
                    alias=row.alias,
                    version=row.version,
                    previous=row.previous,
                    reason=row.reason,
                    actor=row.actor,
                    at=timestamp(row.at),
                    action=row.action,
                )
                for row in c.execute(query)
            ]

        return self._tx.read(f"reading the alias history of model {name!r}", work)

    def _exists(self, c: sa.Connection, name: str) -> None:
        if c.execute(sa.select(models.c.name).where(models.c.name == name)).first() is None:
            raise unknown_model(name, self.url)


def _row(v: ModelVersion) -> dict[str, Any]:
    try:
        return {
            "name": v.name,
            "artifact": output_json(v.artifact),
            "artifact_inline": v.artifact.inline,
            "run_id": v.run_id,
            "task_key": v.task,
            "attempt": v.attempt,
            "fingerprint": v.fingerprint,
            "params": dumps(to_jsonable(dict(v.params))),
            "metrics": dumps(to_jsonable(dict(v.metrics))),
            "signature": None if v.signature is None else dumps(to_jsonable(dict(v.signature))),
            "tags": dumps(dict(v.tags)),
            "environment": dumps(to_jsonable(dict(v.environment))),
            "inputs": dumps(dict(v.inputs)),
            "created_at": v.created_at.timestamp(),
        }
    except (TypeError, ValueError) as exc:
        raise StoreError(f"version of model {v.name!r} cannot be stored: {exc}") from None


def _version(row: sa.Row[Any]) -> ModelVersion:
    artifact = artifact_from_dict(json.loads(row.artifact))
    if row.artifact_inline is not None:
        artifact = dataclasses.replace(artifact, inline=bytes(row.artifact_inline))
    signature = row.signature
    return ModelVersion(
        name=row.name,
        version=row.version,
        artifact=artifact,
        run_id=row.run_id,
        task=row.task_key,
        attempt=row.attempt,
        fingerprint=row.fingerprint,
        params=from_jsonable(json.loads(row.params)),
        metrics=from_jsonable(json.loads(row.metrics)),
        signature=None if signature is None else from_jsonable(json.loads(signature)),
        tags=json.loads(row.tags),
        environment=from_jsonable(json.loads(row.environment)),
        inputs=json.loads(row.inputs),
        created_at=timestamp(row.created_at),
    )
