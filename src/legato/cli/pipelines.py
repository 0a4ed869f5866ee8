"""``legato pipelines add|list|remove``: the pipelines ``legato ui`` may start, and how the
server learns them.

A registration is kept in ``pipelines.json`` in the legato home (``.legato/`` of the
project by default), not in the run store, because it names files of this checkout: a
target ``flows/train.py:train`` means something only where that file is, while a run store
may be a PostgreSQL database shared by machines whose checkouts lie elsewhere (or are
other versions). The home is where ``legato ui`` already keeps what belongs to this
project's server (its tokens, its runs' logs), writing it needs no schema migration, and
it goes with the project: a file's path is kept relative to the project root and resolved
against it when read, so the server finds it from any working folder.

The server knows three sources, merged by :func:`known_pipelines`: the profile's
``[pipelines]`` table, the registered ones and ``--pipeline TARGET``. A name given twice for
two different targets is refused, naming both sources; the same target twice is one.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from legato.cli.exits import OK, USAGE, CommandError
from legato.cli.formats import console
from legato.cli.running import load_target
from legato.cli.settings import load, mask
from legato.config import Settings
from legato.config_keys import resolve_target
from legato.errors import DefinitionError

__all__ = [
    "REGISTRY_FILE",
    "add_command",
    "known_pipelines",
    "list_command",
    "registered",
    "remove_command",
]

REGISTRY_FILE = "pipelines.json"
"""The registered pipelines, in the legato home: ``{"pipelines": {name: target}}``."""

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def registered(settings: Settings) -> dict[str, str]:
    """The registered pipelines by name, their file paths absolute (resolved against the
    project root). A registry that is not legato's JSON is a :class:`CommandError` saying
    which file."""
    raw = _read(settings.home / REGISTRY_FILE)
    root = settings.project.root
    return {name: resolve_target(target, root) for name, target in sorted(raw.items())}


def known_pipelines(settings: Settings, given: Iterable[str]) -> dict[str, str]:
    """What ``legato ui`` serves: the profile's ``[pipelines]``, the registered ones and
    the ``--pipeline`` targets (``given``, named by their pipeline), a name given twice
    for two targets refused (:class:`CommandError`, naming both)."""
    from legato.server.actions import pipeline_names  # noqa: PLC0415 (the serve extra)

    sources: list[tuple[str, Mapping[str, str]]] = [
        (f"[pipelines] of {settings.source}", settings.pipelines),
        (f"legato pipelines add ({settings.home / REGISTRY_FILE})", registered(settings)),
        ("--pipeline", pipeline_names(given)),
    ]
    found: dict[str, tuple[str, str]] = {}
    for source, pipelines in sources:
        for name, target in pipelines.items():
            before = found.get(name)
            if before is not None and before[1] != target:
                raise CommandError(
                    f"two pipelines are named {name!r}: {before[1]} (from {before[0]}) and "
                    f"{target} (from {source}); remove one, or give one another name",
                    USAGE,
                )
            found.setdefault(name, (source, target))
    return {name: target for name, (_, target) in sorted(found.items())}


def add_command(name: str, target: str, *, profile: str | None) -> int:
    """Register ``target`` as pipeline ``name``, once it loads and is a pipeline."""
    settings = load(profile)
    if not _NAME.match(name):
        raise CommandError(
            f"{name!r} is not a usable pipeline name: letters, digits and '_', not starting "
            "with a digit",
            USAGE,
        )
    root = settings.project.root
    resolved = resolve_target(target, Path.cwd())
    try:
        pipeline = load_target(resolved)
    except DefinitionError as exc:
        raise CommandError(
            mask(f"{target} is not a pipeline legato can load: {exc}"), USAGE
        ) from None
    current = _read(settings.home / REGISTRY_FILE)
    kept = _relative(resolved, root)
    if name in current and resolve_target(current[name], root) != resolved:
        raise CommandError(
            f"pipeline {name!r} is already registered as {current[name]}: "
            f"legato pipelines remove {name} first",
            USAGE,
        )
    in_profile = settings.pipelines.get(name)
    if in_profile is not None and in_profile != resolved:
        raise CommandError(
            f"the profile already names pipeline {name!r} ({in_profile}, in [pipelines] of "
            f"{settings.source}): give this one another name",
            USAGE,
        )
    current[name] = kept
    _write(settings.home / REGISTRY_FILE, current)
    also = f" (its runs are recorded as {pipeline.name!r})" if pipeline.name != name else ""
    console().print(f"registered pipeline {name}: {kept}{also}", markup=False, soft_wrap=True)
    return OK


def remove_command(name: str, *, profile: str | None) -> int:
    """Forget registered pipeline ``name`` (its runs stay recorded)."""
    settings = load(profile)
    current = _read(settings.home / REGISTRY_FILE)
    if name not in current:
        known = ", ".join(sorted(current)) or "none"
        where = (
            f"; it is in [pipelines] of {settings.source}: remove it there"
            if name in settings.pipelines
            else ""
        )
        raise CommandError(
            f"no pipeline {name!r} is registered (registered: {known}){where}", USAGE
        )
    del current[name]
    _write(settings.home / REGISTRY_FILE, current)
    console().print(f"removed pipeline {name} (its runs stay)", markup=False)
    return OK


def list_command(*, profile: str | None) -> int:
    """The pipelines ``legato ui`` would serve, with where each is declared."""
    settings = load(profile)
    out = console()
    rows = [(n, t, f"[pipelines] of {settings.source}") for n, t in settings.pipelines.items()]
    rows += [(n, t, "registered") for n, t in registered(settings).items()]
    if not rows:
        out.print(
            "no pipelines registered (legato pipelines add NAME path/to/file.py:name, or a "
            "[pipelines] table in legato.toml)",
            markup=False,
        )
        return OK
    width = max(len(n) for n, _, _ in rows)
    for name, target, source in sorted(rows):
        out.print(f"{name.ljust(width)}  {target}  ({source})", markup=False, soft_wrap=True)
    return OK


def _relative(target: str, root: Path) -> str:
    """``target`` as kept: a file inside the project relative to its root."""
    where, sep, attr = target.rpartition(":")
    path = Path(where)
    if sep and path.is_absolute() and path.is_relative_to(root):
        return f"{path.relative_to(root).as_posix()}:{attr}"
    return target


def _read(path: Path) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}", USAGE) from None
    try:
        pipelines = json.loads(text)["pipelines"]
        if not isinstance(pipelines, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in pipelines.items()
        ):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise CommandError(
            f'{path} is not legato\'s list of pipelines ({{"pipelines": {{name: target}}}}): '
            "fix it, or remove it and add the pipelines again",
            USAGE,
        ) from None
    return pipelines


def _write(path: Path, pipelines: Mapping[str, str]) -> None:
    """Write the registry whole, through a temporary file renamed over it: a reader never
    sees half of it, and a failed write leaves the old one."""
    text = json.dumps({"pipelines": dict(sorted(pipelines.items()))}, indent=2) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".pipelines.", suffix=".tmp")
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror}", USAGE) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException as exc:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise CommandError(f"cannot write {path}: {exc.strerror}", USAGE) from None
        raise
