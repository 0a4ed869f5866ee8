"""Declaring schedules: ``legato.schedule(...)`` in code, ``[schedules.<name>]`` in
``legato.toml``; both give the same frozen :class:`~legato.model.schedules.ScheduleDef`,
checked here in one place before anything is stored.

A declaration is inert: ``nightly = legato.schedule(train, cron="0 3 * * *")`` only builds
the definition. ``legato scheduler pipelines.py`` imports the module and collects every
definition it holds (:func:`collect`), with those of the settings file
(:func:`from_settings_file`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from legato.define.loader import load_module, load_pipeline, target_of
from legato.define.pipeline import Pipeline
from legato.errors import DefinitionError, ParameterError
from legato.model.registry import check_alias, check_model_name
from legato.model.schedules import (
    ALIAS_PREFIX,
    FILES_PREFIX,
    Catchup,
    Overlap,
    ScheduleDef,
    check_schedule_name,
    parse_alias_trigger,
    parse_files_trigger,
)
from legato.project import find_project
from legato.schedules.cron import Cron

__all__ = [
    "INTERVAL_PARAMS",
    "alias_moved",
    "collect",
    "files_changed",
    "from_settings_file",
    "schedule",
]

INTERVAL_PARAMS = (
    "interval_start",
    "interval_end",
    "upstream_run",
    "model_version",
    "changed_files",
)
"""The run parameters through which a pipeline asks for its tick's interval (and, for a
trigger, the upstream run that succeeded or the version the alias moved to)."""

_TOML_KEYS = ("pipeline", "cron", "after", "tz", "params", "catchup", "overlap", "max_active")


def files_changed(where: str | Path, *, debounce: float = 30.0) -> str:
    """What ``after=`` takes to run a pipeline when files under ``where`` (a folder, a file
    or an fsspec URL) appear or change, once they have been still for ``debounce`` seconds:
    one run for the batch, its parameter ``changed_files`` listing them (``legato.toml``:
    ``after = "files:30:data/incoming"``)."""
    if not isinstance(debounce, int | float) or debounce < 0:
        raise ParameterError(f"debounce must be a number of seconds >= 0, not {debounce!r}")
    text = str(where)
    if "://" not in text:
        text = str(Path(text).expanduser().resolve())
    return f"{FILES_PREFIX}{float(debounce)}:{text}"


def alias_moved(model: str, alias: str) -> str:
    """What ``after=`` takes to run a pipeline each time ``alias`` of ``model`` moves to a
    version (``legato.schedule(evaluate, after=legato.alias_moved("churn",
    "production"))``; in ``legato.toml``: ``after = "alias:churn@production"``)."""
    return f"{ALIAS_PREFIX}{check_model_name(model)}@{check_alias(alias)}"


def schedule(
    pipeline: Pipeline[..., Any] | str,
    *,
    cron: str | None = None,
    after: Pipeline[..., Any] | str | None = None,
    tz: str = "UTC",
    params: Mapping[str, Any] | None = None,
    catchup: Catchup | str | None = None,
    overlap: Overlap | str | None = None,
    max_active: int = 1,
    name: str | None = None,
) -> ScheduleDef:
    """A schedule: run ``pipeline`` (a ``@pipeline`` or a target such as
    ``"pipelines.py:train"``) at each instant of ``cron`` in time zone ``tz`` with
    ``params`` — or, with ``after`` (a pipeline or its name) instead of ``cron``, once after
    each run of that pipeline that succeeds. ``catchup`` says what a scheduler that was down
    does with the instants it missed (``latest``, the default for a cron: run the newest,
    record the others as missed; ``all``, a trigger's default; ``none``),
    ``overlap`` what a tick does while ``max_active`` runs of the schedule are active
    (``skip``, a cron's default; ``queue``, a trigger's: every success runs, in turn;
    ``cancel_previous``; ``allow``). ``name`` defaults to the
    pipeline's. A pipeline with parameters ``interval_start`` / ``interval_end`` gets the
    tick's interval (the previous instant and this one, ISO 8601 in UTC; for a trigger the
    upstream run's start and end), and one with ``upstream_run`` the triggering run's id.

    Assign it to a module-level name: ``legato scheduler`` collects the schedules a module
    holds."""
    if isinstance(pipeline, str):
        target = pipeline
        loaded = load_pipeline(pipeline)
    elif isinstance(pipeline, Pipeline):
        loaded = pipeline
        target = target_of(pipeline)
        if not target:
            raise DefinitionError(
                f"pipeline {pipeline.name!r} cannot be loaded again by name, so no scheduler "
                "can start it",
                fix="define the pipeline at the top level of a module, not inside a function",
            )
    else:
        raise DefinitionError(
            f"legato.schedule() takes a @pipeline or a target string, not {pipeline!r}",
            fix="pass the pipeline object, or 'path/to/file.py:pipeline_name'",
        )
    return _definition(
        loaded,
        target,
        name=name if name is not None else loaded.name,
        cron=cron or "",
        after=after.name if isinstance(after, Pipeline) else (after or ""),
        tz=tz,
        params=params or {},
        catchup=catchup,
        overlap=overlap,
        max_active=max_active,
        declared_in=target,
    )


def _definition(
    pipeline: Pipeline[..., Any],
    target: str,
    *,
    name: str,
    cron: str,
    after: str,
    tz: str,
    params: Mapping[str, Any],
    catchup: Catchup | str | None,
    overlap: Overlap | str | None,
    max_active: int,
    declared_in: str,
) -> ScheduleDef:
    check_schedule_name(name)
    where = f"schedule {name!r}"
    if bool(cron) == bool(after):
        raise ParameterError(
            f"{where}: give cron= (when it runs) or after= (the pipeline whose successes "
            "start it), one of the two"
        )
    if cron:
        Cron(cron, tz)  # checks both
    model, alias = parse_alias_trigger(after)
    if after.startswith(ALIAS_PREFIX):
        alias_moved(model, alias)  # checks both names
    if after.startswith(FILES_PREFIX):
        watched, debounce = parse_files_trigger(after)
        after = files_changed(watched, debounce=debounce)  # a relative path made absolute
    if catchup is None:
        catchup = Catchup.ALL if after else Catchup.LATEST
    if overlap is None:
        overlap = Overlap.QUEUE if after else Overlap.SKIP
    if not isinstance(params, Mapping):
        raise ParameterError(f"{where}: params must be a table of name = value, not {params!r}")
    try:
        json.dumps(dict(params))
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{where}: params must be JSON values ({exc})") from None
    accepted = {p.name for p in pipeline.params}
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise ParameterError(
            f"{where}: pipeline {pipeline.name!r} has no parameter {', '.join(unknown)} "
            f"(it takes: {', '.join(sorted(accepted)) or 'none'})"
        )
    if not isinstance(max_active, int) or isinstance(max_active, bool) or max_active < 1:
        raise ParameterError(f"{where}: max_active must be a whole number >= 1, not {max_active!r}")
    return ScheduleDef(
        name=name,
        target=target,
        cron=cron,
        after=after,
        tz=tz,
        params=dict(params),
        catchup=_choice(Catchup, catchup, where, "catchup"),
        overlap=_choice(Overlap, overlap, where, "overlap"),
        max_active=max_active,
        interval_params=tuple(p for p in INTERVAL_PARAMS if p in accepted),
        declared_in=declared_in,
    )


def _choice(kind: Any, value: Any, where: str, what: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(repr(c.value) for c in kind)
        raise ParameterError(f"{where}: {what} must be one of {choices}, not {value!r}") from None


def collect(modules: Sequence[str]) -> list[ScheduleDef]:
    """The schedules held by module-level names of ``modules`` (``file.py`` or
    ``package.module``), in order; the same name declared twice is an error."""
    found: list[ScheduleDef] = []
    for where in modules:
        module = load_module(where)
        found += [v for v in vars(module).values() if isinstance(v, ScheduleDef)]
    return _unique(found)


def from_settings_file(cwd: Path | None = None) -> list[ScheduleDef]:
    """The schedules of the project's settings file (``[schedules.<name>]`` tables:
    ``pipeline``, ``cron`` and optionally ``tz``, ``params``, ``catchup``, ``overlap``,
    ``max_active``); a pipeline path is relative to the file's folder."""
    _, found = find_project((cwd or Path.cwd()).absolute())
    if found is None or not isinstance(found.table, dict):
        return []
    tables = found.table.get("schedules", {})
    where = f"{found.path}: [{found.prefix}schedules]"
    if not isinstance(tables, dict):
        raise ParameterError(f"{where} must be tables: [{found.prefix}schedules.<name>]")
    out = []
    for name, table in tables.items():
        at = f"{found.path}: [{found.prefix}schedules.{name}]"
        if not isinstance(table, dict):
            raise ParameterError(f"{at} must be a table with pipeline = ... and cron = ...")
        unknown = sorted(set(table) - set(_TOML_KEYS))
        if unknown or "pipeline" not in table:
            raise ParameterError(
                f"{at}: "
                + (f"unknown key {', '.join(unknown)}; " if unknown else "")
                + f"keys: pipeline (required), cron or after, {', '.join(_TOML_KEYS[3:])}"
            )
        target = _relative_target(str(table["pipeline"]), found.path.parent)
        out.append(
            _definition(
                load_pipeline(target),
                target,
                name=name,
                cron=table.get("cron", ""),
                after=table.get("after", ""),
                tz=table.get("tz", "UTC"),
                params=table.get("params", {}),
                catchup=table.get("catchup"),
                overlap=table.get("overlap"),
                max_active=table.get("max_active", 1),
                declared_in=str(found.path),
            )
        )
    return _unique(out)


def _relative_target(target: str, folder: Path) -> str:
    where, colon, attr = target.rpartition(":")
    if not colon:
        where, attr = target, ""
    if where.endswith(".py") and not Path(where).is_absolute():
        where = str((folder / where).resolve())
    return f"{where}:{attr}" if attr else where


def _unique(found: Sequence[ScheduleDef]) -> list[ScheduleDef]:
    seen: dict[str, ScheduleDef] = {}
    for definition in found:
        other = seen.get(definition.name)
        if other is not None and other != definition:
            raise DefinitionError(
                f"schedule {definition.name!r} is declared twice ({other.declared_in} and "
                f"{definition.declared_in})",
                fix="give one of them another name= ",
            )
        seen[definition.name] = definition
    return list(seen.values())
