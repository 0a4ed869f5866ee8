"""What the artifact store's errors say: who produced an artifact, and how to get a sound
copy of it (run its task again without reusing its stored result)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from legato.model.artifacts import ArtifactRef

__all__ = ["UNTRUSTED", "by", "rerun", "rewrite", "versions"]

UNTRUSTED = "It cannot be trusted, so it was not loaded and the task that needs it was not started."
_DETAILS = frozenset({"dtype", "shape", "type", "kind", "rows", "columns"})
_TASK_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,199}")
_ITEM_SUFFIX = re.compile(r"(\[[^\[\]/]*\])+$")
"""Item suffixes: ``[3]`` by position, ``[linear]`` by item key (which holds no bracket or
slash: see ``model/items.py``)."""


def by(ref: ArtifactRef) -> str:
    """Who produced ``ref``, as error messages name it."""
    return ref.producer or "an unknown task"


def _task_of(producer: str) -> str | None:
    """The task key ``refresh=`` takes, from a producer ``run_id/task_key#attempt`` (the
    item of a map is ``key[i]`` or ``key[item key]``, an item of a split output
    ``#attempt[i]``: both give the node's key); None when ``producer`` is not of that
    form."""
    head, sep, _ = producer.rpartition("#")
    key = _ITEM_SUFFIX.sub("", head.rpartition("/")[2])
    return key if sep and _TASK_KEY.fullmatch(key) else None


def rerun(ref: ArtifactRef) -> str:
    """How to get a sound copy of the output ``ref`` names: run its task again in a new run
    that does not reuse its cached result."""
    task = _task_of(ref.producer)
    refresh = f"refresh=[{task!r}]" if task else "refresh=['<the task>']"
    return (
        "Run the task that produced it again without reusing its stored result: start a new "
        f"run with legato.run(pipeline, {refresh})."
    )


def rewrite(ref: ArtifactRef) -> str:
    return (
        f"{rerun(ref)} A task that returns the same value writes the same artifact anew, "
        "after which this run can be resumed too."
    )


def versions(meta: Mapping[str, str]) -> str:
    shown = [
        f"{k} {v}" for k, v in meta.items() if k not in _DETAILS and not k.startswith("legato.")
    ]
    return ", ".join(shown) or "unrecorded versions"
