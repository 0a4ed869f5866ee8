"""Tasks taking file inputs under real (not postponed) annotations that wrap ``Path``: each
gets a ``str`` and reads the file it names."""

import os
from pathlib import Path
from typing import Annotated, Any, Optional

from legato import pipeline, task

from .ledger import record


@task
def optional(path: Path | None) -> int:
    record()
    return len(Path(path).read_text()) if path else 0


@task
def old_optional(path: Optional[Path]) -> int:  # noqa: UP045 (the older spelling, on purpose)
    record()
    return len(Path(path).read_text()) if path else 0


@task
def annotated(path: Annotated[Path, "the data"]) -> int:
    record()
    return len(Path(path).read_text())


@task
def path_like(path: os.PathLike[str]) -> int:
    record()
    return len(Path(path).read_text())


@task
def listed_paths(paths: list[Path]) -> int:
    record()
    return sum(len(Path(p).read_text()) for p in paths)


@task
def keyed_files(files: dict[str, Path]) -> int:
    record()
    return sum(len(Path(p).read_text()) for p in files.values())


@pipeline
def wrapped(src: str) -> dict[str, Any]:
    return {
        "optional": optional(src),
        "old_optional": old_optional(src),
        "annotated": annotated(src),
        "path_like": path_like(src),
        "listed_paths": listed_paths([src]),
        "keyed_files": keyed_files({"src": src}),
    }
