"""What the registry accepts from its caller: a version's lineage, metrics and tags, and the
reason and actor of an alias change, each checked before anything is stored.

Every field a caller sets is also refused when it holds the value of a secret
(:func:`legato.secret_values.refuse`: ``SecretValueError`` naming the call and the field),
rather than masked: a version's tags, metrics, signature and lineage are read back and acted
on (gates compare metrics, ``legato serve`` answers ``/metadata`` with them, a deployment
finds its own promotion in the alias history by its actor), so a ``***`` in place of a value
would silently be another value. Registration is checked whole before the model object is
stored, so a refused registration leaves nothing behind.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from legato.errors import ParameterError
from legato.model.jsonable import from_jsonable, to_jsonable
from legato.model.tracking import check_tracked_name, metric_value
from legato.secret_values import refuse

__all__ = [
    "Lineage",
    "check_actor",
    "check_reason",
    "json_like",
    "metrics_of",
    "refuse_registration",
    "tags_of",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Lineage:
    """Where a model version came from (filled in by ``legato.register_model`` inside a
    task; empty for a registration made by hand)."""

    run_id: str | None = None
    task: str | None = None
    """Task key in the run."""
    attempt: int | None = None
    fingerprint: str | None = None
    """Fingerprint of the task's code."""
    params: Mapping[str, Any] = field(default_factory=dict)
    environment: Mapping[str, Any] = field(default_factory=dict)
    inputs: Mapping[str, str] = field(default_factory=dict)
    """Upstream task key → checksum of the artifact the task read."""


def refuse_registration(
    name: object,
    *,
    api: str,
    metrics: Mapping[str, Any] | None,
    signature: Mapping[str, Any] | None,
    tags: Mapping[str, Any] | None,
    lineage: Lineage,
) -> None:
    """Refuse (``SecretValueError`` from ``api``) a registration any field of which holds a
    secret's value: the name, metric names, the signature, tags, and the lineage."""
    refuse(name, api=api, field="the model name")
    _refuse_items(metrics, api=api, what="metric")
    refuse(signature, api=api, field="the signature")
    _refuse_items({k: str(v) for k, v in (tags or {}).items()}, api=api, what="tag")
    _refuse_items(lineage.params, api=api, what="parameter")
    _refuse_items(lineage.environment, api=api, what="environment entry")
    _refuse_items(lineage.inputs, api=api, what="input")
    refuse(
        (lineage.run_id, lineage.task, lineage.fingerprint),
        api=api,
        field="the lineage (run, task, fingerprint)",
    )


def _refuse_items(values: Mapping[str, Any] | None, *, api: str, what: str) -> None:
    for key, value in (values or {}).items():
        refuse(key, api=api, field=f"a {what} name")  # before the key is quoted below
        refuse(value, api=api, field=f"{what} {key!r}")


def check_reason(reason: object, api: str) -> str:
    """``reason`` for an alias change: a string holding no secret."""
    if not isinstance(reason, str):
        raise ParameterError(f"reason must be a string, not {type(reason).__name__}")
    refuse(reason, api=api, field="the reason")
    return reason


def check_actor(actor: str, api: str) -> str:
    """``actor`` of an alias change, holding no secret."""
    refuse(actor, api=api, field="the actor")
    return actor


def json_like(values: Mapping[str, Any], what: str) -> dict[str, Any]:
    """``values`` as stored: JSON-like, or ``ParameterError``."""
    try:
        return dict(from_jsonable(to_jsonable(dict(values))))
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"model {what} cannot be stored: {exc}") from None


def metrics_of(metrics: Mapping[str, Any] | None) -> dict[str, float]:
    """A version's metrics: valid names, finite numbers."""
    out: dict[str, float] = {}
    for name, value in (metrics or {}).items():
        try:
            check_tracked_name(name, "metric")
            number = metric_value(value, name)
        except (TypeError, ValueError) as exc:
            raise ParameterError(str(exc)) from None
        if not math.isfinite(number):
            raise ParameterError(f"metric {name!r} of a model version must be finite, not {value}")
        out[name] = number
    return out


def tags_of(tags: Mapping[str, Any] | None) -> dict[str, str]:
    """A version's tags: valid names, values as strings."""
    out: dict[str, str] = {}
    for name, value in (tags or {}).items():
        try:
            check_tracked_name(name, "tag")
        except ValueError as exc:
            raise ParameterError(str(exc)) from None
        out[name] = str(value)
    return out
