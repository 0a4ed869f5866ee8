"""A registered model's lineage as the attempt that registers it knows it: its task's code
fingerprint and the stored inputs of its call. Apart from :mod:`legato.runtime.tracking`
because both only read the call, wherever the attempt runs, and are no part of how tracked
values are routed."""

from __future__ import annotations

from legato.model.values import Arg, Dict, Gathered, Given, Seq, Stored, StoredItems, Value
from legato.runtime.context import TaskContext

__all__ = ["code_fingerprint_of", "stored_inputs"]


def code_fingerprint_of(ctx: TaskContext) -> str | None:
    """The code fingerprint of the attempt's task function, or None when its source cannot
    be read (the version then takes the run's pipeline fingerprint)."""
    call = ctx.call
    if call is None:
        return None
    try:
        from legato.define.fingerprint import code_fingerprint  # noqa: PLC0415 (only here)

        return code_fingerprint(call.fn)
    except Exception:  # a function whose source cannot be read: the run's fingerprint
        return None


def stored_inputs(ctx: TaskContext) -> dict[str, str]:
    """Upstream task key → checksum of each stored input of the call."""
    call = ctx.call
    found: dict[str, str] = {}
    if call is None:
        return found

    def stored(source: str, value: Value) -> None:
        if isinstance(value, Stored):
            found[source or value.ref.producer] = value.ref.checksum
        elif isinstance(value, StoredItems):
            found[source or value.manifest.producer] = value.manifest.checksum
        elif isinstance(value, Gathered):
            for i, item in enumerate(value.items):
                stored(f"{source}[{i}]", item)

    def visit(arg: Arg) -> None:
        if isinstance(arg, Given):
            stored(arg.source, arg.value)
        elif isinstance(arg, Seq):
            for item in arg.items:
                visit(item)
        elif isinstance(arg, Dict):
            for _, item in arg.items:
                visit(item)

    for arg in call.args:
        visit(arg)
    for _, arg in call.kwargs:
        visit(arg)
    return found
