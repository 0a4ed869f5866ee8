"""Choosing the storage of a run: the default local store, an explicit one, or none."""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from typing import Any

from legato.config import Settings, load_settings
from legato.errors import DefinitionError
from legato.store.artifacts import FsspecArtifactStore
from legato.store.base import Storage
from legato.store.memory import MemoryRunStore
from legato.store.open import open_run_store

__all__ = ["KEEP_OPEN", "StoreOption", "open_storage", "resolve_storage"]

StoreOption = Storage | str | bool | None
"""``None``/``True``: the store the settings name (``.legato/`` by default; ``legato.toml``
profiles and ``LEGATO_*`` variables move it); ``False``:
nothing is stored (no caching, no resume); ``"memory"``: an in-memory store for this process;
a :class:`Storage`: as given."""

KEEP_OPEN = 8
"""Storages kept open at once, the most recently used. A process that runs against many
stores in turn (a notebook moving ``LEGATO_HOME``, a test suite, a tool walking projects)
would otherwise hold every one's connections (three descriptors a SQLite file) and append
process until it ran out of descriptors."""

_opened: OrderedDict[tuple[str, str, bool], Storage] = OrderedDict()
_lock = threading.Lock()


def open_storage(settings: Settings, *, read_only: bool = False) -> Storage:
    """The storage ``settings`` describe, opened once per process and reused by later runs
    (opening checks the schema and costs a few milliseconds). ``read_only``: stores that
    create, upgrade and sweep nothing, and refuse writes (for commands that only read).

    Past :data:`KEEP_OPEN` storages, the least recently used is closed and forgotten.
    Closing one a caller still holds is safe: its store gives back only idle connections
    (a transaction under way keeps its own until it ends) and opens new ones when used
    again."""
    key = (settings.state_url, settings.artifacts_url, read_only)
    with _lock:
        storage = _opened.get(key)
        if storage is not None:
            _opened.move_to_end(key)
            return storage
        storage = Storage(
            runs=open_run_store(settings.state_url, read_only=read_only),
            artifacts=FsspecArtifactStore(settings.artifacts_url, read_only=read_only),
        )
        _opened[key] = storage
        evicted = [_opened.popitem(last=False)[1] for _ in range(len(_opened) - KEEP_OPEN)]
    for old in evicted:  # outside the lock: stopping an append process may take a moment
        old.close()
    return storage


def resolve_storage(store: Any, settings: Settings | None = None) -> Storage | None:
    """What ``legato.run(..., store=...)`` means; the default store is the one ``settings``
    name (loaded for the current profile when not given)."""
    if store is None or store is True:
        return open_storage(settings if settings is not None else load_settings())
    if store is False:
        return None
    if isinstance(store, Storage):
        return store
    if store == "memory":
        return Storage(
            runs=MemoryRunStore(),
            artifacts=FsspecArtifactStore(f"memory://legato-{uuid.uuid4().hex}"),
        )
    raise DefinitionError(
        f"unknown store {store!r}",
        fix="leave store= out for the profile's store, or pass False (record nothing) or "
        "'memory' (this process only)",
    )
