"""How a :class:`~legato.model.calls.TaskCall` travels to a worker process, defined once for
both ends (``executors.processes`` encodes, ``executors.worker`` decodes).

A message is the tuple ``(VERSION, header, fn_data, args_data)``, which the sender pickles:

- ``header``: the fields named in :data:`HEADER`, in that order and as they are (numbers,
  strings, None, tuples of them), then those of :data:`PLAIN` as plain tuples: a frozen
  dataclass pickled on every call took three times as long as its fields (measured for
  ``SecretRefs``), and :func:`decode` builds each distinct value once per worker.
- ``fn_data``: the call's function pickled by the sender, or None when this worker already
  has the function of ``fn_id`` (a worker unpickles each function once, however many calls
  it runs).
- ``args_data``: ``(args, kwargs)`` pickled apart (by ``runtime.pickling``, which handles
  what the standard pickle cannot), so that the worker reads the header first and reports
  inputs that do not load as that attempt's failure.

Positional, because a tuple pickles fastest; named here, once, so that a field added to
``TaskCall`` cannot shift the others unseen: :func:`encode` and :func:`decode` both follow
:data:`HEADER` and :data:`PLAIN`, and a test fails when ``TaskCall`` has a field that
neither they nor :data:`APART` place.

:data:`VERSION` changes with the layout. A worker reads only its own: sent another (its
orchestrator runs another install of legato, upgraded while a run was going), it raises
:class:`WireVersionError` and exits with :data:`WIRE_VERSION_EXIT`, which the executor
reports as the attempt's crash.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from legato.config import SecretRefs
from legato.model.calls import TaskCall
from legato.model.specs import Resources
from legato.model.values import Arg

__all__ = [
    "APART",
    "HEADER",
    "PLAIN",
    "VERSION",
    "WIRE_VERSION_EXIT",
    "Message",
    "Received",
    "WireVersionError",
    "decode",
    "encode",
]

VERSION = 3
"""The layout of a message; raise it whenever :data:`HEADER` or :data:`PLAIN` change
(2: resources carry ``limit``; 3: calls carry their orchestrator's ``owner``)."""

HEADER = (
    "call_id",
    "run_id",
    "key",
    "task",
    "fn_id",
    "attempt",
    "map_index",
    "timeout",
    "split_output",
    "gpu_ids",
    "store_url",
    "owner",
)
"""``TaskCall`` fields sent as they are, in this order."""
PLAIN = ("secrets", "resources")
"""``TaskCall`` fields sent as plain tuples after those of :data:`HEADER`, in this order."""
APART = ("fn", "args", "kwargs")
"""``TaskCall`` fields the sender pickles itself: ``fn_data`` and ``args_data``."""

WIRE_VERSION_EXIT = 97
"""Exit status of a worker sent a call of a version it does not read (one that neither
Python's own errors nor the usual ``sys.exit`` codes use)."""

Message = tuple[int, tuple[Any, ...], bytes | None, bytes]
"""``(VERSION, header, fn_data, args_data)``."""

_header = operator.attrgetter(*HEADER)

_PlainSecrets = tuple[str, str, tuple[tuple[str, str], ...]] | None
_PlainResources = tuple[float, int, float, tuple[tuple[str, float], ...], bool]


class WireVersionError(Exception):
    """A worker was sent a call in a form it does not read: the orchestrator that sent it
    runs another install of legato than the worker."""

    def __init__(self, version: object) -> None:
        self.version = version
        sent = f"version {version}" if isinstance(version, int) else "no version it knows"
        super().__init__(
            f"this worker reads task calls of wire version {VERSION} and was sent {sent}: "
            "the orchestrator and its worker processes run different installs of legato "
            "(was legato upgraded or reinstalled while the run was going?); resume the run "
            "so that both use the same"
        )


def encode(call: TaskCall, *, fn_data: bytes | None, args_data: bytes) -> Message:
    """The message carrying ``call``; ``fn_data`` and ``args_data`` are its function (None:
    the worker has it) and ``(args, kwargs)``, pickled by the sender."""
    secrets, resources = call.secrets, call.resources
    plain_secrets: _PlainSecrets = (
        None if secrets is None else (secrets.profile, secrets.source, secrets.variables)
    )
    custom = resources.custom
    plain_resources: _PlainResources = (
        resources.cpus,
        resources.memory,
        resources.gpus,
        tuple(custom.items()) if custom else (),  # items() of a Mapping is slow; most are empty
        resources.limit,
    )
    return (VERSION, (*_header(call), plain_secrets, plain_resources), fn_data, args_data)


@dataclass(frozen=True, slots=True, kw_only=True)
class Received:
    """A call as a worker reads it, before it loads the function (from its cache when it
    already has ``fn_id``) and the inputs: either may fail, and the failure is reported as
    the attempt named here."""

    fields: Mapping[str, Any]
    """Every ``TaskCall`` field but those of :data:`APART`."""
    fn_data: bytes | None
    args_data: bytes

    def call(
        self,
        fn: Callable[..., Any],
        args: tuple[Arg, ...],
        kwargs: tuple[tuple[str, Arg], ...],
    ) -> TaskCall:
        """The call, given its loaded function and inputs."""
        return TaskCall(fn=fn, args=args, kwargs=kwargs, **self.fields)


def decode(message: object) -> Received:
    """The call a message carries. Raises :class:`WireVersionError` for a message of
    another version (or none: a sender from before messages had one)."""
    if not (isinstance(message, tuple) and message and message[0] == VERSION):
        raise WireVersionError(message[0] if isinstance(message, tuple) and message else None)
    _, header, fn_data, args_data = message
    *sent, plain_secrets, plain_resources = header
    fields = dict(zip(HEADER, sent, strict=True))
    fields["secrets"] = None if plain_secrets is None else _secret_refs(plain_secrets)
    fields["resources"] = _resources(plain_resources)
    return Received(fields=fields, fn_data=fn_data, args_data=args_data)


# A run's calls share a few distinct values: one object each, not one per call.
@functools.lru_cache(maxsize=256)
def _secret_refs(plain: tuple[str, str, tuple[tuple[str, str], ...]]) -> SecretRefs:
    profile, source, variables = plain
    return SecretRefs(profile=profile, source=source, variables=variables)


@functools.lru_cache(maxsize=256)
def _resources(plain: _PlainResources) -> Resources:
    cpus, memory, gpus, custom, limit = plain
    return Resources(cpus=cpus, memory=memory, gpus=gpus, custom=dict(custom), limit=limit)
