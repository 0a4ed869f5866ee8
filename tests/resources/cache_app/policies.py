"""Tasks with cache options, run in the test process (``tests/resources`` is on the path):
never cached, expiring, keyed by a function, and file inputs under string annotations (this
module postpones annotations, so ``Path`` is the text ``"Path"``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from legato import pipeline, task
from legato.model.specs import CacheKeyContext, CachePolicy

from .ledger import record


@task(cache=False)
def fetch_latest() -> int:
    record()
    return 42


@task
def after_fetch(value: int) -> int:
    record()
    return value + 1


@task(cache=CachePolicy(expire=60))
def expiring(seed: int) -> int:
    record()
    return seed * 2


def by_name(ctx: CacheKeyContext) -> str:
    return f"name={ctx.literals['name']}"


@task(cache=CachePolicy(key=by_name))
def keyed(name: str, noise: int, path: Path) -> str:
    record()
    return f"{name}:{noise}:{len(Path(path).read_text())}"


def by_file_content(ctx: CacheKeyContext) -> str:
    return f"file={ctx.inputs['path']}"


@task(cache=CachePolicy(key=by_file_content))
def keyed_by_file(path: Path, noise: int) -> int:
    record()
    return len(Path(path).read_text()) + 0 * noise


@task
def size_of(path: Path) -> int:
    record()
    return len(Path(path).read_text())


@task
def size_of_optional(path: Path | None) -> int:
    record()
    return len(Path(path).read_text()) if path else 0


@task
def size_if_present(path: Path) -> int:
    record()
    return len(Path(path).read_text()) if Path(path).exists() else -1


@task
def write_copy(path: Path, text: str) -> Path:
    """Writes a file and returns its path: what reads it depends on the file's content."""
    record()
    Path(path).write_text(text)
    return Path(path)


@task
def sizes_of(paths: list[Path]) -> list[int]:
    record()
    return [len(Path(p).read_text()) for p in paths]


@pipeline
def policies(name: str, noise: int, src: str, seed: int = 1) -> dict[str, Any]:
    return {
        "after": after_fetch(fetch_latest()),
        "expiring": expiring(seed),
        "keyed": keyed(name, noise, src),
        "keyed_by_file": keyed_by_file(src, noise),
        "size": size_of(src),
        "optional": size_of_optional(src),
    }


@pipeline
def listed(files: list[str]) -> list[int]:
    return sizes_of(files)
