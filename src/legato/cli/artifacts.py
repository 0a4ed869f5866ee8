"""``legato artifacts`` and ``legato artifacts get``.

A run's artifacts are its tasks' outputs and what they logged with ``log_artifact``. A
mapped task's output is its items' (``train[0]``, ``train[1]``...), and so is that of a task
a map consumes, which is stored item by item and recorded as a manifest listing them:
``get`` writes those items into a folder, one file each.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

from rich.table import Table
from rich.text import Text

from legato.cli.exits import FAILED, OK, USAGE, CommandError
from legato.cli.formats import console, error_console, size
from legato.cli.output_files import cannot_write
from legato.cli.preview import open_stored
from legato.cli.settings import load, mask
from legato.cli.stores import open_existing, store_name
from legato.cli.summary import in_display_order
from legato.engine.tracked import summarize
from legato.model.artifacts import ArtifactRef, items_of_ref
from legato.model.codec import artifact_from_dict
from legato.model.records import TaskRecord
from legato.store.artifacts import check_location, default_registry
from legato.store.base import ArtifactStore, RunStore
from legato.store.hashing import Hasher

__all__ = ["get_command", "list_command"]

_CHUNK = 8 * 1024 * 1024


def _table(title: str | None, first: tuple[str, ...]) -> Table:
    table = Table(
        title=title,
        title_justify="left",
        box=None,
        pad_edge=False,
        header_style="bold",
        show_edge=False,
    )
    for name in (*first, "serializer", "size", "location", "checksum"):
        table.add_column(name, justify="right" if name == "size" else "left")
    return table


def _cells(ref: ArtifactRef) -> tuple[str, str, str | Text, str]:
    location = ref.location if ref.location is not None else Text("inline", style="dim")
    return ref.serializer, size(ref.size), location, ref.checksum


def list_command(run_ref: str, *, profile: str | None) -> int:
    """A table of the run's stored task outputs, then one of the artifacts its tasks
    logged."""
    settings = load(profile)
    storage = open_existing(settings, f"run {run_ref!r}")
    info = storage.runs.get_run(run_ref)
    records = [r for r in in_display_order(storage.runs.task_records(info.run_id)) if r.output]
    logged = summarize(storage.runs, info.run_id).artifacts
    out = console()
    if not records and not logged:
        out.print(
            f"run {info.run_id} has no stored outputs or logged artifacts in "
            f"{store_name(settings)}",
            markup=False,
            soft_wrap=True,
        )
        return OK
    out.print(f"artifact store: {mask(storage.artifacts.url)}", markup=False, soft_wrap=True)
    if records:
        outputs = _table(None, ("task",))
        for record in records:
            assert record.output is not None
            count = items_of_ref(record.output)
            name = record.key if count is None else f"{record.key} ({count} items)"
            # Text, not markup: an item key in brackets ([linear]) is no style tag.
            outputs.add_row(Text(name), *_cells(record.output))
        out.print(outputs)
    if logged:
        if records:
            out.print()
        table = _table("logged", ("task", "name"))
        for (key, name), artifact in logged.items():
            # Text, not markup: an item key in brackets ([linear]) is no style tag.
            table.add_row(Text(key), Text(mask(name)), *_cells(artifact.ref))
        out.print(table)
    return OK


def get_command(
    run_ref: str, task: str, output: str, *, name: str | None, profile: str | None
) -> int:
    """Write the stored bytes of ``task``'s output (or of the artifact it logged as
    ``name``) to ``output`` (``-``: standard output), checked against the checksum recorded
    with it; nothing is written when they differ. A mapped task's items, and those of an
    output stored item by item, go into the folder ``output``, one file each."""
    storage = open_existing(load(profile), f"run {run_ref!r}")
    info = storage.runs.get_run(run_ref)
    records = {r.key: r for r in storage.runs.task_records(info.run_id)}
    if name is not None:
        _write(storage.artifacts, _logged(storage.runs, info.run_id, task, name), output)
        return OK
    record = records.get(task)
    if record is None:
        names = ", ".join(k for k, r in records.items() if r.output is not None or r.mapped)
        raise CommandError(
            f"run {info.run_id} has no task {task!r}; tasks with outputs: {names or 'none'}",
            USAGE,
        )
    items = _items(storage.artifacts, record, records, info.run_id)
    if items is None:
        _write(storage.artifacts, _output_of(record, info.run_id), output)
        return OK
    if output == "-":
        raise CommandError(
            f"task {task!r} has {len(items)} items, one file each: give -o a folder to write "
            f"them into, or get one item (legato artifacts get {info.run_id} {task}[0] -o FILE)",
            USAGE,
        )
    folder = Path(output)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise cannot_write(output, exc) from None
    for key, ref in items.items():
        _write(storage.artifacts, ref, str(folder / f"{key}.{_extension(ref)}"))
    return OK


def _items(
    artifacts: ArtifactStore,
    record: TaskRecord,
    records: Mapping[str, TaskRecord],
    run_id: str,
) -> dict[str, ArtifactRef] | None:
    """The stored items of a mapped task, or of an output stored item by item (by the key
    each is written under: ``train[0]``...); None for an output stored whole."""
    if record.mapped:
        found = sorted(
            (r for r in records.values() if r.parent == record.key),
            key=lambda r: r.map_index or 0,
        )
        return {r.key: _output_of(r, run_id) for r in found}
    if record.output is None or items_of_ref(record.output) is None:
        return None
    manifest = artifacts.get(record.output)  # legato's own JSON, checked against its checksum
    return {f"{record.key}[{i}]": artifact_from_dict(d) for i, d in enumerate(manifest)}


def _logged(store: RunStore, run_id: str, task: str, name: str) -> ArtifactRef:
    """The artifact ``task`` logged as ``name`` (in its latest attempt)."""
    logged = summarize(store, run_id).artifacts
    found = logged.get((task, name))
    if found is None:
        known = ", ".join(f"{k} {n!r}" for k, n in logged) or "none"
        raise CommandError(
            f"task {task!r} of run {run_id} logged no artifact {name!r}; logged: {known}",
            USAGE,
        )
    return found.ref


def _output_of(record: TaskRecord, run_id: str) -> ArtifactRef:
    if record.output is None:
        raise CommandError(
            f"task {record.key!r} of run {run_id} has no stored output "
            f"(it is {record.state.value})",
            FAILED,
        )
    return record.output


def _extension(ref: ArtifactRef) -> str:
    """The file extension of ``ref``'s format: its stored file's, else its serialiser's
    (its name, for a serialiser not registered in this process)."""
    if ref.location is not None:
        return ref.location.rsplit(".", 1)[-1]
    try:
        return default_registry.get(ref.serializer).extension
    except KeyError:
        return ref.serializer


def _write(artifacts: ArtifactStore, ref: ArtifactRef, output: str) -> None:
    """Write the artifact's bytes to the file ``output`` (``-``: standard output), through a
    temporary file renamed into place once its checksum matched."""
    if output == "-":
        artifacts.verify(ref)  # before anything reaches the pipe
        sink = sys.stdout.buffer
        _copy(artifacts, ref, sink)
        sink.flush()
        return
    target = Path(output)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise cannot_write(output, exc) from None
    try:
        with os.fdopen(fd, "wb") as sink:
            _copy(artifacts, ref, sink)
        try:
            os.replace(temp, target)
        except OSError as exc:
            raise cannot_write(output, exc) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    error_console().print(
        f"wrote {size(ref.size)} ({ref.serializer}, {ref.checksum}) to {target}",
        markup=False,
        highlight=False,
    )


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
        with open_stored(artifacts, ref.location) as source:
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
