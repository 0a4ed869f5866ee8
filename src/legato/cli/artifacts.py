"""``legato artifacts``, ``legato artifacts get`` and ``legato cache clear``."""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import tempfile
from pathlib import Path
from typing import BinaryIO

from rich.table import Table
from rich.text import Text

from legato.cli.exits import FAILED, OK, USAGE, CommandError
from legato.cli.formats import console, error_console, size
from legato.cli.settings import load, mask, open_storage
from legato.cli.summary import in_display_order
from legato.model.artifacts import ArtifactRef
from legato.model.records import TaskRecord
from legato.store.artifacts import FsspecArtifactStore, check_location
from legato.store.base import ArtifactStore
from legato.store.hashing import Hasher

__all__ = ["clear_cache_command", "get_command", "list_command"]

_CHUNK = 8 * 1024 * 1024


def list_command(run_ref: str, *, profile: str | None) -> int:
    """A table of the run's stored task outputs."""
    storage = open_storage(load(profile), read_only=True)
    info = storage.runs.get_run(run_ref)
    records = [r for r in in_display_order(storage.runs.task_records(info.run_id)) if r.output]
    out = console()
    if not records:
        out.print(f"run {info.run_id} has no stored outputs", markup=False)
        return OK
    out.print(f"artifact store: {mask(storage.artifacts.url)}", markup=False, soft_wrap=True)
    table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
    for name in ("task", "serializer", "size", "location", "checksum"):
        table.add_column(name, justify="right" if name == "size" else "left")
    for record in records:
        ref = record.output
        assert ref is not None
        table.add_row(
            Text(record.key),  # not markup: an item key in brackets is no style tag
            ref.serializer,
            size(ref.size),
            ref.location if ref.location is not None else Text("inline", style="dim"),
            ref.checksum,
        )
    out.print(table)
    return OK


def get_command(run_ref: str, task: str, output: str, *, profile: str | None) -> int:
    """Write the stored bytes of ``task``'s output to ``output`` (``-``: standard output),
    checked against the checksum recorded with it; nothing is written when they differ."""
    storage = open_storage(load(profile), read_only=True)
    info = storage.runs.get_run(run_ref)
    records = {r.key: r for r in storage.runs.task_records(info.run_id)}
    record = records.get(task)
    if record is None:
        names = ", ".join(k for k, r in records.items() if r.output is not None) or "none"
        raise CommandError(
            f"run {info.run_id} has no task {task!r}; tasks with outputs: {names}", USAGE
        )
    ref = _output_of(record, info.run_id)
    if output == "-":
        storage.artifacts.verify(ref)  # before anything reaches the pipe
        sink = sys.stdout.buffer
        _copy(storage.artifacts, ref, sink)
        sink.flush()
        return OK
    target = Path(output)
    folder = target.parent if str(target.parent) else Path(".")
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
    try:
        with os.fdopen(fd, "wb") as sink:
            _copy(storage.artifacts, ref, sink)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    error_console().print(
        f"wrote {size(ref.size)} ({ref.serializer}, {ref.checksum}) to {target}",
        markup=False,
        highlight=False,
    )
    return OK


def _output_of(record: TaskRecord, run_id: str) -> ArtifactRef:
    if record.output is None:
        raise CommandError(
            f"task {record.key!r} of run {run_id} has no stored output "
            f"(it is {record.state.value})",
            FAILED,
        )
    return record.output


def _copy(artifacts: ArtifactStore, ref: ArtifactRef, sink: BinaryIO) -> None:
    """Copy the artifact's bytes to ``sink`` while hashing them; a size or checksum that
    differs from the reference is an error (the caller discards what was written)."""
    hasher = Hasher()
    if ref.inline is not None:
        hasher.update(ref.inline)
        sink.write(ref.inline)
    else:
        check_location(ref)  # a location legato assigned, not a path someone wrote in
        assert ref.location is not None
        with _open(artifacts, ref.location) as source:
            while chunk := source.read(_CHUNK):
                hasher.update(chunk)
                sink.write(chunk)
    checksum = hasher.checksum()
    if checksum != ref.checksum or hasher.size != ref.size:
        raise CommandError(
            f"artifact of {ref.producer or 'this task'} does not match its record: "
            f"{hasher.size:,} bytes with checksum {checksum}, recorded {ref.size:,} bytes "
            f"with {ref.checksum}; it was altered or truncated after it was written, so "
            "nothing was written",
            FAILED,
        )


def _open(artifacts: ArtifactStore, location: str) -> BinaryIO:
    """The stored file at ``location`` inside the artifact store, opened for reading."""
    root = artifacts.local_root if isinstance(artifacts, FsspecArtifactStore) else None
    if root is not None:
        return open(Path(root) / location, "rb")
    fsspec = importlib.import_module("fsspec")  # remote stores only
    options = artifacts.storage_options if isinstance(artifacts, FsspecArtifactStore) else {}
    opened = fsspec.open(f"{artifacts.url.rstrip('/')}/{location}", "rb", **options)
    return opened.open()  # type: ignore[no-any-return]


def clear_cache_command(task: str | None, *, profile: str | None) -> int:
    """Forget cache entries: all of them, or those of one task name."""
    storage = open_storage(load(profile))
    count = storage.runs.clear_cache(task=task)
    which = f" of task {task!r}" if task else ""
    console().print(
        f"cleared {count} cache entr{'y' if count == 1 else 'ies'}{which}", markup=False
    )
    return OK
