"""``legato models list|show|promote|rollback|delete``: the model registry from a terminal."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from legato.cli.exits import OK
from legato.cli.formats import console
from legato.cli.settings import load, mask
from legato.cli.stores import missing_store, open_existing, store_name
from legato.config import Settings
from legato.model.registry import AliasChange, ModelVersion, check_version
from legato.registry import Registry

__all__ = [
    "delete_command",
    "list_command",
    "promote_command",
    "rollback_command",
    "show_command",
]


def _registry(settings: Settings, wanted: str, *, read_only: bool = False) -> Registry:
    """The registry of the stores ``settings`` name, to look ``wanted`` up in."""
    storage = open_existing(settings, wanted, read_only=read_only)
    return Registry(storage.runs.models, storage.artifacts)


def _table(*columns: str) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
    for name in columns:
        table.add_column(name)
    return table


def _when(mv: ModelVersion | AliasChange) -> str:
    at = mv.created_at if isinstance(mv, ModelVersion) else mv.at
    return at.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _metrics(values: Any) -> str:
    return ", ".join(f"{k}={v:.4g}" for k, v in sorted(values.items()))


def list_command(*, profile: str | None) -> int:
    """Every model: its latest version and its aliases."""
    settings = load(profile)
    out = console()
    missing = missing_store(settings)
    if missing is not None:
        out.print(missing, markup=False, soft_wrap=True)
        return OK
    registry = _registry(settings, "models", read_only=True)
    names = registry.models()
    if not names:
        out.print(
            f"no models registered yet in {store_name(settings)} "
            "(legato.register_model inside a task)",
            markup=False,
            soft_wrap=True,
        )
        return OK
    table = _table("model", "versions", "latest", "aliases", "registered")
    for name in names:
        versions = registry.versions(name)
        aliases = registry.aliases(name)
        latest = versions[-1] if versions else None
        table.add_row(
            name,
            str(len(versions)),
            str(latest.version) if latest else "-",
            ", ".join(f"{a}={v}" for a, v in aliases.items()) or "-",
            _when(latest) if latest else "-",
        )
    out.print(table)
    return OK


def show_command(ref: str, *, profile: str | None) -> int:
    """``NAME``: its versions, aliases and alias history; ``NAME@ALIAS`` or ``NAME:VERSION``:
    that version with its lineage."""
    registry = _registry(load(profile), f"model {ref!r}", read_only=True)
    out = console()
    if "@" not in ref and ":" not in ref:
        versions = registry.versions(ref)
        aliases = registry.aliases(ref)
        by_version: dict[int, list[str]] = {}
        for alias, version in aliases.items():
            by_version.setdefault(version, []).append(alias)
        table = _table("version", "aliases", "run", "task", "metrics", "registered")
        for mv in versions:
            table.add_row(
                str(mv.version),
                ", ".join(by_version.get(mv.version, [])),
                mv.run_id or "-",
                Text(mv.task or "-"),  # not markup: an item key in brackets is no style tag
                _metrics(mv.metrics),
                _when(mv),
            )
        out.print(Text(f"model {ref}", style="bold"))
        out.print(table)
        history = registry.history(ref)
        if history:
            out.print(Text("\nalias changes", style="bold"))
            changes = _table("when", "alias", "version", "previous", "action", "actor", "reason")
            for change in history:
                changes.add_row(
                    _when(change),
                    change.alias,
                    "-" if change.version is None else str(change.version),
                    "-" if change.previous is None else str(change.previous),
                    change.action,
                    change.actor,
                    change.reason,
                )
            out.print(changes)
        return OK
    mv = registry.resolve(ref)
    holding = [a for a, v in registry.aliases(mv.name).items() if v == mv.version]
    rows: list[tuple[str, str]] = [
        ("model", f"{mv.name} version {mv.version}"),
        ("aliases", ", ".join(holding) or "-"),
        ("registered", _when(mv)),
        ("run", mv.run_id or "-"),
        ("task", f"{mv.task} (attempt {mv.attempt})" if mv.task else "-"),
        ("code", mv.fingerprint or "-"),
        ("artifact", f"{mv.artifact.checksum} ({mv.artifact.serializer}, {mv.artifact.size} B)"),
        ("metrics", _metrics(mv.metrics) or "-"),
        ("params", ", ".join(f"{k}={v!r}" for k, v in sorted(mv.params.items())) or "-"),
        ("tags", ", ".join(f"{k}={v}" for k, v in sorted(mv.tags.items())) or "-"),
        ("inputs", ", ".join(f"{k}={v}" for k, v in sorted(mv.inputs.items())) or "-"),
        ("signature", _signature(mv.signature)),
        ("environment", _environment(mv.environment)),
    ]
    table = Table(box=None, pad_edge=False, show_header=False, show_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for label, value in rows:
        table.add_row(label, Text(mask(value)))
    out.print(table)
    return OK


def _signature(signature: Any) -> str:
    if not signature:
        return "-"
    inputs = ", ".join(f"{i['name']}: {i['dtype']}" for i in signature.get("inputs", []))
    return f"{signature.get('kind')} [{inputs}] shape {signature.get('shape')}"


def _environment(environment: Any) -> str:
    shown = [
        f"{k}={environment[k]}"
        for k in ("python", "platform", "git_commit", "host")
        if environment.get(k)
    ]
    return ", ".join(shown) or "-"


def _changed(change: AliasChange) -> int:
    before = "nothing" if change.previous is None else f"version {change.previous}"
    console().print(
        f"{change.name}@{change.alias}: {before} -> version {change.version} "
        f"({change.action} by {change.actor})",
        markup=False,
    )
    return OK


def promote_command(
    name: str, version: str, *, alias: str, reason: str, actor: str | None, profile: str | None
) -> int:
    """Point ``alias`` at ``version``."""
    change = _registry(load(profile), f"model {name!r}").set_alias(
        name, alias, check_version(version), reason=reason, actor=actor
    )
    return _changed(change)


def rollback_command(
    name: str,
    *,
    alias: str,
    to: str | None,
    reason: str,
    actor: str | None,
    profile: str | None,
) -> int:
    """Move ``alias`` back one step, or to ``to``."""
    change = _registry(load(profile), f"model {name!r}").rollback(
        name,
        alias,
        to=None if to is None else check_version(to),
        reason=reason,
        actor=actor,
    )
    return _changed(change)


def delete_command(name: str, version: str, *, profile: str | None) -> int:
    """Delete a version no alias names."""
    number = check_version(version)
    _registry(load(profile), f"model {name!r}").delete(name, number)
    console().print(f"deleted version {number} of model {name}", markup=False)
    return OK
