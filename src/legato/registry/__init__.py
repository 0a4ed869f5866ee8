"""The model registry: named models with numbered versions, lineage and aliases.

::

    registry = legato.open_registry()          # the profile's stores, like legato.run
    mv = registry.resolve("digits@production")  # or "digits" (latest), "digits:3"
    model = registry.load(mv)                   # checksum verified
    registry.set_alias("digits", "production", 4, reason="passed the gates")
    registry.rollback("digits", "production", reason="error rate up")

Inside a task, ``legato.register_model(name, model, ...)`` registers a version with its
lineage (run, task, code fingerprint, input artifacts, parameters, metrics, environment).
Signatures are described in :mod:`legato.registry.signature`.
"""

from __future__ import annotations

from legato.model.registry import AliasChange, ModelRef, ModelVersion, parse_model_ref
from legato.registry.registry import Lineage, Registry, default_actor, open_registry
from legato.registry.signature import check_input, check_signature, infer_signature

__all__ = [
    "AliasChange",
    "Lineage",
    "ModelRef",
    "ModelVersion",
    "Registry",
    "check_input",
    "check_signature",
    "default_actor",
    "infer_signature",
    "open_registry",
    "parse_model_ref",
]
