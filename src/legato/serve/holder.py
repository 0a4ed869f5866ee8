"""The model being served, swapped atomically when its alias moves.

A request takes :attr:`ModelHolder.current` once (one attribute read: atomic) and uses that
:class:`Loaded` to the end, so a swap never changes the model under a request in flight and
no request waits for a load. :class:`Follower` polls the registry on a thread of its own,
loads a new version (checksum verified by the registry) *before* swapping it in, and keeps
serving the old one if the new one cannot be loaded.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from legato.model.registry import ModelVersion, parse_model_ref
from legato.registry.registry import Registry

__all__ = ["Follower", "Loaded", "ModelHolder", "load_version"]

log = logging.getLogger("legato.serve")


@dataclass(frozen=True, slots=True)
class Loaded:
    """A model version and its loaded object."""

    version: ModelVersion
    model: Any
    loaded_at: float


def load_version(registry: Registry, mv: ModelVersion) -> Loaded:
    """Load ``mv`` from its registry artifact (``IntegrityError`` if the checksum does not
    verify: a model is never served from bytes the registry did not record) and check that
    it can predict."""
    model = registry.load(mv)
    if not callable(getattr(model, "predict", None)) and not callable(model):
        raise TypeError(
            f"model {mv.ref} is a {type(model).__name__}, which has no predict() and is not "
            "callable: nothing to serve"
        )
    return Loaded(version=mv, model=model, loaded_at=time.time())


class ModelHolder:
    """Holds the :class:`Loaded` model being served."""

    def __init__(self, first: Loaded) -> None:
        self.current = first
        self.switches = 0
        self.error = ""
        """Why the last attempt to load a new version failed (empty: it did not)."""

    def swap(self, new: Loaded) -> None:
        self.current = new  # one reference assignment: requests see the old or the new
        self.switches += 1
        self.error = ""


class Follower:
    """Polls ``ref`` in the registry every ``every`` seconds and swaps in the version it
    names when that changes. A reference to a fixed version (``name:3``) is not followed."""

    def __init__(self, registry: Registry, ref: str, holder: ModelHolder, every: float) -> None:
        self.registry = registry
        self.ref = ref
        self.holder = holder
        self.every = every
        self.follows = parse_model_ref(ref).version is None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="legato-serve-follow", daemon=True)
        self._last_failed: tuple[str, int] | None = None

    def start(self) -> None:
        if self.follows and self.every > 0:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def check(self) -> bool:
        """Look once; True when a new version was swapped in."""
        try:
            mv = self.registry.resolve(self.ref)
        except Exception as exc:  # the alias was removed, the store is unreachable...
            self._failed(f"cannot resolve {self.ref}: {exc}")
            return False
        current = self.holder.current.version
        if (mv.name, mv.version) == (current.name, current.version):
            return False
        if self._last_failed == (mv.name, mv.version):
            return False  # it failed to load before: wait for the alias to move again
        try:
            loaded = load_version(self.registry, mv)
        except Exception as exc:
            self._last_failed = (mv.name, mv.version)
            self._failed(f"cannot load {mv.ref}; still serving {current.ref}: {exc}")
            return False
        self.holder.swap(loaded)
        log.warning("%s now names %s: switched from version %d", self.ref, mv.ref, current.version)
        return True

    def _failed(self, message: str) -> None:
        if message != self.holder.error:
            log.error("%s", message)
        self.holder.error = message

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.check()
