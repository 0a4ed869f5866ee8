"""Settings and profiles: where runs are stored and how they execute.

Settings come from ``legato.toml``, or the ``[tool.legato]`` table of ``pyproject.toml``, in
the project root, found upwards from the working folder as git finds ``.git`` (see
:mod:`legato.project`: the search stops at the repository root). Top-level keys apply to
every profile; a ``[profiles.<name>]`` table overrides them for that profile (``secrets``
and ``pipelines`` tables merge name by name). Precedence, lowest first::

    built-in defaults < top-level keys < [profiles.<selected>] < LEGATO_* variables
                      < explicit arguments (legato.run(executor=...), CLI flags)

The profile is the ``profile`` argument (``--profile``), else ``LEGATO_PROFILE``, else the
file's ``default_profile``, else none (``"default"``: top-level keys only).

Plain :mod:`tomllib` rather than pydantic-settings, deliberately: it is in the standard
library (no dependency, and nothing heavy to import: ``legato --help`` must start in a few
hundred milliseconds, pydantic alone takes about as long to import), the schema is ten flat
keys, and the checks below say what pydantic's generic messages cannot: the file, the key as
written there, its line, and the value expected. Every check is made here, in one place,
when settings are loaded: a typo in the ``prod`` profile is reported while working in
``dev``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from legato.config_keys import EXECUTOR_NAMES, FAILURE_POLICIES, KEYS, At, one_of, show
from legato.errors import ConfigError
from legato.project import CONFIG_FILE, HOME_FOLDER, ConfigFile, Project, find_project

__all__ = [
    "CONFIG_FILE",
    "DEFAULT_PROFILE",
    "ENVIRONMENT",
    "EXECUTOR_NAMES",
    "FAILURE_POLICIES",
    "SecretRefs",
    "Settings",
    "load_settings",
]

DEFAULT_PROFILE = "default"
"""The profile in effect when none is selected: the file's top-level keys only."""

ENVIRONMENT: Mapping[str, str] = MappingProxyType(
    {
        "LEGATO_PROFILE": "profile",
        "LEGATO_HOME": "home",
        "LEGATO_STATE_URL": "state_url",
        "LEGATO_ARTIFACTS_URL": "artifacts_url",
        "LEGATO_EXECUTOR": "executor",
        "LEGATO_CONCURRENCY": "concurrency",
        "LEGATO_FAILURE_POLICY": "failure_policy",
        "LEGATO_STALE_AFTER": "stale_after",
        "LEGATO_CAPACITY": "capacity",
        "LEGATO_RAY_ADDRESS": "ray_address",
    }
)
"""The environment variables read, and the key each overrides (``LEGATO_PROFILE`` chooses
the profile, below the ``profile`` argument)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SecretRefs:
    """The secrets a run may read: each name and the environment variable holding its
    value (never the value), and the profile and file that declared them. Travels with every
    task call, so a task reads the same secrets in a worker process."""

    profile: str
    source: str
    variables: tuple[tuple[str, str], ...] = ()
    """``(name, environment variable)`` pairs, sorted by name."""

    def variable(self, name: str) -> str | None:
        """The environment variable secret ``name`` reads, or None if it is not declared."""
        for known, variable in self.variables:
            if known == name:
                return variable
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Where runs are stored and how they execute, for one profile. Paths are absolute."""

    profile: str
    """The profile in effect (``"default"`` when there is no file or no profile chosen)."""
    source: str
    """Where the values came from: the config file's path, or ``"defaults"``."""
    project: Project
    """The project root and why it is the root (the settings file's folder, else the
    nearest holding ``.legato``, else the repository root, else the working folder)."""
    home: Path
    """Folder for local state (``LEGATO_HOME``; default ``.legato`` in the project root)."""
    state_url: str
    """SQLAlchemy URL of the run store (default ``sqlite:///<home>/legato.db``)."""
    artifacts_url: str
    """fsspec URL or local folder of the artifact store (default ``<home>/artifacts``)."""
    executor: str | None
    """Executor name when a run names none (None: the engine's default, ``threads``)."""
    concurrency: int | None
    """Worker threads or processes of a named executor (None: the usable CPU cores)."""
    failure_policy: str | None
    """``keep_going`` or ``fail_fast`` when a run passes none (None: the pipeline's own)."""
    stale_after: float
    """Seconds without a heartbeat after which a run's orchestrator counts as dead."""
    secrets: Mapping[str, str]
    """Secret name -> name of the environment variable holding its value."""
    pipelines: Mapping[str, str]
    """The pipelines ``legato ui`` may start (``[pipelines]``): name -> target, a file's
    path absolute (it counts from the settings file's folder)."""
    capacity: Mapping[str, float | str] = field(default_factory=lambda: MappingProxyType({}))
    """What the executor offers over the machine's: ``cpus``, ``memory``, ``gpus``,
    ``slots`` or a custom resource's name -> amount (``capacity = { db = 2 }``,
    ``LEGATO_CAPACITY="db=2"``); a run's ``capacity`` option overrides it by name."""
    ray_address: str | None = None
    """The Ray cluster the ``ray`` executor joins (``auto``: the one this machine belongs
    to; None: a local cluster started for each run, ``LEGATO_RAY_ADDRESS``)."""
    origins: Mapping[str, str]
    """Where each value that is not a default was set, by key: ``"LEGATO_HOME"``, or
    ``"profiles.prod.state_url in /work/legato.toml"`` (for messages that say why legato
    looked where it did)."""

    @property
    def secret_refs(self) -> SecretRefs:
        """The secrets as a run carries them to its tasks."""
        return SecretRefs(
            profile=self.profile,
            source=self.source,
            variables=tuple(sorted(self.secrets.items())),
        )


def load_settings(
    profile: str | None = None,
    *,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """The settings in effect: the project's settings file found from ``cwd`` (default:
    the working folder) upwards, the selected profile, then ``LEGATO_*`` variables from
    ``environ`` (default: ``os.environ``). Raises :class:`~legato.errors.ConfigError` naming
    the file, the key and the value expected for anything invalid."""
    env = os.environ if environ is None else environ
    here = (cwd if cwd is not None else Path.cwd()).expanduser().absolute()
    project, found = find_project(here)
    chosen, chosen_by = profile or None, "the profile argument"
    if chosen is None and env.get("LEGATO_PROFILE"):
        chosen, chosen_by = env["LEGATO_PROFILE"], "LEGATO_PROFILE"

    values: dict[str, Any] = {}
    origins: dict[str, At] = {}
    secrets: dict[str, str] = {}
    pipelines: dict[str, str] = {}
    source = "defaults"
    if found is not None:
        layers = _validate(found)
        source = str(found.path)
        if chosen is None and layers.default_profile is not None:
            chosen, chosen_by = layers.default_profile, f"default_profile in {found.path}"
        selected: dict[str, Any] = {}
        if chosen is not None and chosen in layers.profiles:
            selected = layers.profiles[chosen]
        elif chosen is not None and chosen != DEFAULT_PROFILE:
            raise ConfigError(
                f"profile {chosen!r} (chosen by {chosen_by}) is not defined",
                source=source,
                key=found.prefix + "profiles",
                expected=one_of(sorted(layers.profiles), chosen)
                if layers.profiles
                else f"a [{found.prefix}profiles.{chosen}] table",
            )
        for layer, prefix in ((layers.top, ""), (selected, f"profiles.{chosen}.")):
            secrets.update(layer.get("secrets", {}))
            pipelines.update(layer.get("pipelines", {}))
            for key, value in layer.items():
                if key == "capacity":  # by name, as secrets: a profile adds to the top's
                    values[key] = {**values.get(key, {}), **value}
                elif key not in _MERGED:
                    values[key] = value
                    origins[key] = At(
                        source, found.prefix + prefix + key, project.root, text=found.text
                    )
    elif chosen is not None and chosen != DEFAULT_PROFILE:
        raise ConfigError(
            f"profile {chosen!r} was chosen by {chosen_by}, but the project has no "
            f"{CONFIG_FILE} (or [tool.legato] in pyproject.toml): its root is "
            f"{project.describe()}",
            source=chosen_by,
            key="profile",
            expected=f"a {CONFIG_FILE} defining [profiles.{chosen}], or no profile",
        )

    for variable, key in ENVIRONMENT.items():
        raw = env.get(variable)
        if raw and key in KEYS:
            origins[key] = At("environment", variable, here, env=True)
            converted = KEYS[key](raw, origins[key])
            values[key] = {**values.get(key, {}), **converted} if key == "capacity" else converted

    home = values.get("home") or project.root / HOME_FOLDER
    _check_home(home, origins.get("home"), project)
    return Settings(
        profile=chosen or DEFAULT_PROFILE,
        source=source,
        project=project,
        home=home,
        state_url=values.get("state_url") or f"sqlite:///{home / 'legato.db'}",
        artifacts_url=values.get("artifacts_url") or str(home / "artifacts"),
        executor=values.get("executor"),
        concurrency=values.get("concurrency"),
        failure_policy=values.get("failure_policy"),
        stale_after=values.get("stale_after", 30.0),
        secrets=MappingProxyType(secrets),
        pipelines=MappingProxyType(pipelines),
        capacity=MappingProxyType(values.get("capacity", {})),
        ray_address=values.get("ray_address"),
        origins=MappingProxyType({key: at.origin for key, at in origins.items()}),
    )


def _check_home(home: Path, at: At | None, project: Project) -> None:
    """Refuse a home that exists but is not a folder: every store under it would fail later,
    deep inside SQLite or a mkdir, with nothing saying which setting is wrong."""
    if not home.exists() or home.is_dir():
        return
    if at is None:  # the default: .legato in the project root
        raise ConfigError(
            f"{home} is a file, not a folder; legato keeps its runs there by default (the "
            f"project root is {project.describe()})",
            source="defaults",
            key="home",
            expected="a folder: move that file away, or set home in legato.toml or "
            "LEGATO_HOME to a folder",
        )
    fix = "unset it" if at.env else "remove the key"
    raise at.error(
        f"{home} is a file, not a folder",
        f"a folder for legato's runs and artifacts (made if missing): point {at.key} at a "
        f"folder, or {fix} to use .legato in the project root",
    )


# --------------------------------------------------------------------------- the file

_MERGED = frozenset({"secrets", "pipelines"})
"""Tables a profile merges name by name into the top level's, rather than replaces."""


# Internal records are NamedTuples: a dataclass costs about a millisecond to create at import
# and this module is on the CLI's start-up path.


class _Layers(NamedTuple):
    top: dict[str, Any]
    profiles: dict[str, dict[str, Any]]
    default_profile: str | None


def _validate(found: ConfigFile) -> _Layers:
    """Check every key of the file, every profile included, and convert the values."""
    folder = found.path.parent

    def at(key: str) -> At:
        return At(str(found.path), found.prefix + key, folder, text=found.text)

    if not isinstance(found.table, dict):
        where = At(str(found.path), found.prefix.rstrip("."), folder, text=found.text)
        raise where.error(f"got {show(found.table)}", "a table: [tool.legato]")
    top = _convert_table(found.table, "", at, top_level=True)
    profiles: dict[str, dict[str, Any]] = {}
    raw_profiles = found.table.get("profiles", {})
    if not isinstance(raw_profiles, dict):
        raise at("profiles").error(
            f"got {show(raw_profiles)}", "tables: [profiles.<name>] (e.g. [profiles.dev])"
        )
    for name, table in raw_profiles.items():
        if not isinstance(table, dict):
            raise at(f"profiles.{name}").error(
                f"got {show(table)}", f"a table of settings: [{found.prefix}profiles.{name}]"
            )
        profiles[name] = _convert_table(table, f"profiles.{name}.", at, top_level=False)
    default = found.table.get("default_profile")
    if default is not None:
        if not isinstance(default, str) or not default:
            raise at("default_profile").error(f"got {show(default)}", "a profile name")
        if default not in profiles and default != DEFAULT_PROFILE:
            raise at("default_profile").error(
                f"names {default!r}, which is not defined",
                one_of(sorted(profiles), default)
                if profiles
                else f"a [{found.prefix}profiles.{default}] table",
            )
    return _Layers(top, profiles, default)


def _convert_table(
    table: Mapping[str, Any], prefix: str, at: Callable[[str], At], *, top_level: bool
) -> dict[str, Any]:
    # [schedules.<name>] tables are read by legato.schedules.declare, not as settings.
    allowed = [*KEYS, *(("default_profile", "profiles", "schedules") if top_level else ())]
    out: dict[str, Any] = {}
    for key, raw in table.items():
        if key not in allowed:
            where = "at the top level" if top_level else f"in profile {prefix.split('.')[1]!r}"
            raise at(prefix + key).error(f"unknown key {where}", one_of(allowed, key))
        if key in KEYS:
            out[key] = KEYS[key](raw, at(prefix + key))
    return out
