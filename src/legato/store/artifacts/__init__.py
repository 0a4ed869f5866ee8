"""The artifact store: every task output as a checksummed, immutable artifact in a local
folder or at any fsspec URL, written by type-aware serialisers users can extend.

Importing this package imports neither fsspec (until a remote store is opened) nor numpy,
pandas, pyarrow or scikit-learn.
"""

from __future__ import annotations

from legato.store.artifacts.registry import (
    SerializerRegistry,
    builtin_serializers,
    default_registry,
    register_serializer,
)
from legato.store.artifacts.serializers import Serializer, UnsupportedValueError, WritableFile
from legato.store.artifacts.store import (
    DEFAULT_URL,
    FsspecArtifactStore,
    check_location,
    location_for,
)

__all__ = [
    "DEFAULT_URL",
    "FsspecArtifactStore",
    "check_location",
    "location_for",
    "Serializer",
    "UnsupportedValueError",
    "WritableFile",
    "SerializerRegistry",
    "builtin_serializers",
    "default_registry",
    "register_serializer",
]
