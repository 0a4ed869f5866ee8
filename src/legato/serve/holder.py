"""The model being served, swapped atomically when its alias moves, and the candidate a
deployment tries first.

A request takes :attr:`ModelHolder.current` once (one attribute read: atomic) and uses that
:class:`Loaded` to the end, so a swap never changes the model under a request in flight and
no request waits for a load. ``current`` is None while the reference followed names no
version yet (an alias before its first deployment). :class:`Follower` polls the registry on
a thread of its own, loads a new version (checksum verified by the registry) *before*
swapping it in, and keeps serving the old one if the new one cannot be loaded.

:class:`Candidate` holds one other version of the model, loaded on request so that a
deployment's smoke test can try it on this server *before* the alias names it; when the
alias then moves to it, the follower swaps in that same loaded object.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from legato.model.registry import ModelVersion, parse_model_ref
from legato.registry.registry import Registry

__all__ = ["Candidate", "Follower", "Loaded", "ModelHolder", "load_version"]

log = logging.getLogger("legato.serve")


@dataclass(frozen=True, slots=True)
class Loaded:
    """A model version and its loaded object."""

    version: ModelVersion
    model: Any
    loaded_at: float

    def predict(self, data: Any) -> Any:
        """The model's answer to ``data``: its ``predict``, or the model itself when it is a
        plain callable."""
        call = self.model.predict if callable(getattr(self.model, "predict", None)) else self.model
        return call(data)


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
    """Holds the :class:`Loaded` model being served (None: none yet)."""

    def __init__(self, first: Loaded | None, error: str = "") -> None:
        self.current = first
        self.switches = 0
        self.error = error
        """Why the last attempt to find or load a new version failed (empty: it did not)."""

    def swap(self, new: Loaded) -> None:
        self.current = new  # one reference assignment: requests see the old or the new
        self.switches += 1
        self.error = ""


class Candidate:
    """One version of the served model, other than the one served, loaded on request: what
    ``POST /versions/{n}/predict`` answers with. One slot, so a server holds at most two
    models: loading another candidate replaces this one."""

    def __init__(self, registry: Registry, name: str) -> None:
        self.registry = registry
        self.name = name
        self._lock = threading.Lock()  # one load at a time: a second request waits for it
        self._loaded: Loaded | None = None

    def get(self, version: int) -> Loaded:
        """Version ``version``, loaded now unless it is the one held (``UnknownModelError``
        when there is no such version; ``IntegrityError`` when its bytes do not verify)."""
        with self._lock:
            held = self._loaded
            if held is None or held.version.version != version:
                mv = self.registry.get(self.name, version)
                self._loaded = None  # the one held is freed before the next one loads
                self._loaded = held = load_version(self.registry, mv)
            return held

    def take(self, mv: ModelVersion) -> Loaded | None:
        """The candidate if it is ``mv`` (and the slot is emptied): what the follower swaps
        in when the alias moves to the version a deployment just tried."""
        with self._lock:
            held = self._loaded
            if held is None or (held.version.name, held.version.version) != (mv.name, mv.version):
                return None
            self._loaded = None
            return held


class Follower:
    """Polls ``ref`` in the registry every ``every`` seconds and swaps in the version it
    names when that changes (the candidate's loaded object when it is that version). A
    reference to a fixed version (``name:3``) is not followed."""

    def __init__(
        self,
        registry: Registry,
        ref: str,
        holder: ModelHolder,
        every: float,
        candidate: Candidate | None = None,
    ) -> None:
        self.registry = registry
        self.ref = ref
        self.holder = holder
        self.every = every
        self.candidate = candidate
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
        held = self.holder.current
        current = held.version if held is not None else None
        if current is not None and (mv.name, mv.version) == (current.name, current.version):
            return False
        if self._last_failed == (mv.name, mv.version):
            return False  # it failed to load before: wait for the alias to move again
        loaded = self.candidate.take(mv) if self.candidate is not None else None
        try:
            loaded = loaded or load_version(self.registry, mv)
        except Exception as exc:
            self._last_failed = (mv.name, mv.version)
            serving = f"still serving {current.ref}" if current else "serving nothing yet"
            self._failed(f"cannot load {mv.ref}; {serving}: {exc}")
            return False
        self.holder.swap(loaded)
        before = f"version {current.version}" if current else "nothing"
        log.warning("%s now names %s: switched from %s", self.ref, mv.ref, before)
        return True

    def _failed(self, message: str) -> None:
        if message != self.holder.error:
            log.error("%s", message)
        self.holder.error = message

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.check()
