"""Settings and profiles: where runs are stored and how they execute.

Settings come from ``legato.toml``, or the ``[tool.legato]`` table of ``pyproject.toml``,
found by walking up from the working folder: the nearest folder holding either wins, and in
one folder ``legato.toml`` wins. Top-level keys apply to every profile; a
``[profiles.<name>]`` table overrides them for that profile (``secrets`` tables merge name
by name). Precedence, lowest first::

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

import difflib
import os
import re
import threading
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from legato.choices import ExecutorName, FailurePolicy
from legato.errors import ConfigError

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

CONFIG_FILE = "legato.toml"
DEFAULT_PROFILE = "default"
"""The profile in effect when none is selected: the file's top-level keys only."""
EXECUTOR_NAMES = tuple(name.value for name in ExecutorName)
"""Executors a profile may name: those of :class:`~legato.choices.ExecutorName`."""
FAILURE_POLICIES = tuple(policy.value for policy in FailurePolicy)
"""Failure policies a profile may name: those of :class:`~legato.choices.FailurePolicy`."""

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
    home: Path
    """Folder for local state (``LEGATO_HOME``; default ``.legato`` in the project root:
    the config file's folder, else the working folder)."""
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
    """The settings in effect: the config file found from ``cwd`` (default: the working
    folder) upwards, the selected profile, then ``LEGATO_*`` variables from ``environ``
    (default: ``os.environ``). Raises :class:`~legato.errors.ConfigError` naming the file,
    the key and the value expected for anything invalid."""
    env = os.environ if environ is None else environ
    here = (cwd if cwd is not None else Path.cwd()).expanduser().absolute()
    found = _find_file(here)
    chosen, chosen_by = profile or None, "the profile argument"
    if chosen is None and env.get("LEGATO_PROFILE"):
        chosen, chosen_by = env["LEGATO_PROFILE"], "LEGATO_PROFILE"

    values: dict[str, Any] = {}
    secrets: dict[str, str] = {}
    base, source = here, "defaults"
    if found is not None:
        layers = _validate(found)
        base, source = found.path.parent, str(found.path)
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
                expected=_one_of(sorted(layers.profiles), chosen)
                if layers.profiles
                else f"a [{found.prefix}profiles.{chosen}] table",
            )
        for layer in (layers.top, selected):
            secrets.update(layer.get("secrets", {}))
            values.update({k: v for k, v in layer.items() if k != "secrets"})
    elif chosen is not None and chosen != DEFAULT_PROFILE:
        raise ConfigError(
            f"profile {chosen!r} was chosen by {chosen_by}, but no {CONFIG_FILE} (or "
            f"[tool.legato] in pyproject.toml) is in {here} or any folder above it",
            source=chosen_by,
            key="profile",
            expected=f"a {CONFIG_FILE} defining [profiles.{chosen}], or no profile",
        )

    for variable, key in ENVIRONMENT.items():
        raw = env.get(variable)
        if raw and key in _KEYS:
            values[key] = _KEYS[key](raw, _At("environment", variable, here, env=True))

    home = values.get("home") or base / ".legato"
    return Settings(
        profile=chosen or DEFAULT_PROFILE,
        source=source,
        home=home,
        state_url=values.get("state_url") or f"sqlite:///{home / 'legato.db'}",
        artifacts_url=values.get("artifacts_url") or str(home / "artifacts"),
        executor=values.get("executor"),
        concurrency=values.get("concurrency"),
        failure_policy=values.get("failure_policy"),
        stale_after=values.get("stale_after", 30.0),
        secrets=MappingProxyType(secrets),
    )


# --------------------------------------------------------------------------- the file


# Internal records are NamedTuples: a dataclass costs about a millisecond to create at import
# and this module is on the CLI's start-up path.


class _File(NamedTuple):
    path: Path
    table: Mapping[str, Any]
    """The legato table: the whole of legato.toml, or [tool.legato] of pyproject.toml."""
    prefix: str
    """How keys of ``table`` are written in the file: ``""`` or ``"tool.legato."``."""
    text: str


class _Layers(NamedTuple):
    top: dict[str, Any]
    profiles: dict[str, dict[str, Any]]
    default_profile: str | None


def _find_file(start: Path) -> _File | None:
    for folder in (start, *start.parents):
        path = folder / CONFIG_FILE
        if path.is_file():
            text, doc = _read(path)
            return _File(path, doc, "", text)
        path = folder / "pyproject.toml"
        if path.is_file():
            text, doc = _read(path, needle="legato")
            tool = doc.get("tool")
            if isinstance(tool, dict) and "legato" in tool:
                table = tool["legato"]
                if not isinstance(table, dict):
                    raise _At(str(path), "tool.legato", folder, text=text).error(
                        f"got {_show(table)}", "a table: [tool.legato]"
                    )
                return _File(path, table, "tool.legato.", text)
    return None


_files: dict[Path, tuple[tuple[int, int], str, dict[str, Any]]] = {}
_files_lock = threading.Lock()
_TOML_LINE = re.compile(r"\(at line (\d+), column \d+\)")


def _read(path: Path, *, needle: str | None = None) -> tuple[str, dict[str, Any]]:
    """Text and parsed contents of a TOML file, kept while its size and mtime are unchanged
    (a process starting many runs reads it once). With ``needle``, a file not containing it
    is not parsed (an unrelated pyproject.toml up the tree is none of our business)."""
    stat = path.stat()
    stamp = (stat.st_mtime_ns, stat.st_size)
    with _files_lock:
        hit = _files.get(path)
    if hit is not None and hit[0] == stamp:
        return hit[1], hit[2]
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"is not UTF-8 text ({exc.reason} at byte {exc.start})",
            source=str(path),
            expected="a TOML file encoded as UTF-8",
        ) from None
    doc: dict[str, Any] = {}
    if needle is None or needle in text:
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            found = _TOML_LINE.search(str(exc))
            raise ConfigError(
                f"is not valid TOML: {exc}",
                source=str(path),
                expected='TOML syntax, e.g. key = "value" (see https://toml.io)',
                line=int(found.group(1)) if found else None,
            ) from None
    with _files_lock:
        _files[path] = (stamp, text, doc)
    return text, doc


def _validate(found: _File) -> _Layers:
    """Check every key of the file, every profile included, and convert the values."""
    folder = found.path.parent

    def at(key: str) -> _At:
        return _At(str(found.path), found.prefix + key, folder, text=found.text)

    top = _convert_table(found.table, "", at, top_level=True)
    profiles: dict[str, dict[str, Any]] = {}
    raw_profiles = found.table.get("profiles", {})
    if not isinstance(raw_profiles, dict):
        raise at("profiles").error(
            f"got {_show(raw_profiles)}", "tables: [profiles.<name>] (e.g. [profiles.dev])"
        )
    for name, table in raw_profiles.items():
        if not isinstance(table, dict):
            raise at(f"profiles.{name}").error(
                f"got {_show(table)}", f"a table of settings: [{found.prefix}profiles.{name}]"
            )
        profiles[name] = _convert_table(table, f"profiles.{name}.", at, top_level=False)
    default = found.table.get("default_profile")
    if default is not None:
        if not isinstance(default, str) or not default:
            raise at("default_profile").error(f"got {_show(default)}", "a profile name")
        if default not in profiles and default != DEFAULT_PROFILE:
            raise at("default_profile").error(
                f"names {default!r}, which is not defined",
                _one_of(sorted(profiles), default)
                if profiles
                else f"a [{found.prefix}profiles.{default}] table",
            )
    return _Layers(top, profiles, default)


def _convert_table(
    table: Mapping[str, Any], prefix: str, at: Callable[[str], _At], *, top_level: bool
) -> dict[str, Any]:
    allowed = [*_KEYS, *(("default_profile", "profiles") if top_level else ())]
    out: dict[str, Any] = {}
    for key, raw in table.items():
        if key not in allowed:
            where = "at the top level" if top_level else f"in profile {prefix.split('.')[1]!r}"
            raise at(prefix + key).error(f"unknown key {where}", _one_of(allowed, key))
        if key in _KEYS:
            out[key] = _KEYS[key](raw, at(prefix + key))
    return out


# --------------------------------------------------------------------------- values


class _At(NamedTuple):
    """Where a raw value was found: enough to convert relative paths and to report it."""

    source: str
    key: str
    base: Path
    """Folder that relative paths are relative to."""
    text: str = ""
    env: bool = False
    """From an environment variable: numbers come as text."""

    def error(self, problem: str, expected: str) -> ConfigError:
        table, _, last = self.key.rpartition(".")
        return ConfigError(
            problem,
            source=self.source,
            key=self.key,
            expected=expected,
            line=_line_of(self.text, table, last) if self.text else None,
        )


def _text(raw: object, at: _At, expected: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise at.error(f"got {_show(raw)}", expected)
    return raw.strip()


def _path(raw: object, at: _At) -> Path:
    path = Path(_text(raw, at, "a folder path (a string)")).expanduser()
    return path if path.is_absolute() else (at.base / path).absolute()


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_SQLITE = re.compile(r"^(sqlite(?:\+\w+)?:///)([^?]*)(\?.*)?$")


def _state_url(raw: object, at: _At) -> str:
    expected = 'a SQLAlchemy URL, e.g. "sqlite:///state/legato.db" or "postgresql+psycopg://…"'
    url = _text(raw, at, expected)
    if not _SCHEME.match(url):
        raise at.error(f"got {_show(raw)}, which is not a URL", expected)
    sqlite = _SQLITE.match(url)
    if sqlite is None:
        return url
    prefix, file, query = sqlite.group(1), sqlite.group(2), sqlite.group(3) or ""
    if not file or file == ":memory:" or file.startswith("file:"):
        return url
    path = Path(file).expanduser()
    if not path.is_absolute():  # relative to the file that says so, not to where one runs
        path = (at.base / path).absolute()
    return f"{prefix}{path}{query}"


def _artifacts_url(raw: object, at: _At) -> str:
    url = _text(raw, at, 'a folder or an fsspec URL, e.g. "artifacts" or "s3://bucket/path"')
    if _SCHEME.match(url):
        return url
    return str(_path(url, at))


def _choice(options: tuple[str, ...]) -> Callable[[object, _At], str]:
    def convert(raw: object, at: _At) -> str:
        if not isinstance(raw, str) or raw not in options:
            raise at.error(f"got {_show(raw)}", _one_of(options, raw))
        return raw

    return convert


def _concurrency(raw: object, at: _At) -> int:
    expected = "a whole number of at least 1 (workers of the executor)"
    value = raw
    if at.env and isinstance(raw, str):
        try:
            value = int(raw.strip())
        except ValueError:
            raise at.error(f"got {_show(raw)}", expected) from None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise at.error(f"got {_show(raw)}", expected)
    return value


MIN_LEASE = 2.0
"""The shortest lease a run's owner may hold (``stale_after``): it renews the lease every
quarter of it, and at most every 0.5 s, so a shorter one would leave it no slack."""


def _stale_after(raw: object, at: _At) -> float:
    expected = f"a number of seconds of at least {MIN_LEASE:g} (the run owner's lease)"
    value = raw
    if at.env and isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            raise at.error(f"got {_show(raw)}", expected) from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= MIN_LEASE:
        raise at.error(f"got {_show(raw)}", expected)
    return float(value)


_SECRET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _secrets(raw: object, at: _At) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise at.error(
            f"got {_show(raw)}", 'a table of name = "ENVIRONMENT_VARIABLE" (e.g. [secrets])'
        )
    out: dict[str, str] = {}
    for name, variable in raw.items():
        entry = at._replace(key=f"{at.key}.{name}")
        if not _SECRET_NAME.match(name):
            raise entry.error("is not a usable secret name", "letters, digits, '_', '-' and '.'")
        if not isinstance(variable, str) or not _VARIABLE.match(variable):
            # Never echo it: a value here is often the secret itself, pasted by mistake.
            raise entry.error(
                "must name the environment variable holding the secret, not hold the "
                "secret (its value is not shown)",
                'the name of an environment variable, e.g. "DB_PASSWORD"',
            )
        out[name] = variable
    return out


_KEYS: dict[str, Callable[[object, _At], Any]] = {
    "home": _path,
    "state_url": _state_url,
    "artifacts_url": _artifacts_url,
    "executor": _choice(EXECUTOR_NAMES),
    "concurrency": _concurrency,
    "failure_policy": _choice(FAILURE_POLICIES),
    "stale_after": _stale_after,
    "secrets": _secrets,
}


def _show(raw: object) -> str:
    if isinstance(raw, dict):
        return "a table"
    if isinstance(raw, list):
        return "an array"
    text = repr(raw)
    return text if len(text) <= 60 else text[:57] + "..."


def _one_of(options: list[str] | tuple[str, ...], given: object) -> str:
    listed = ", ".join(repr(o) for o in options)
    close = difflib.get_close_matches(given, options, n=1) if isinstance(given, str) else []
    return f"one of {listed}" + (f" (did you mean {close[0]!r}?)" if close else "")


_HEADER = re.compile(r"^\[\s*([^\[\]]+?)\s*\]")


def _line_of(text: str, table: str, key: str) -> int | None:
    """Best effort: the line where ``key`` is set inside ``[table]`` (``""``: top level)."""
    current = ""
    assignment = re.compile(rf"^[\"']?{re.escape(key)}[\"']?\s*=")
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        header = _HEADER.match(stripped)
        if header is not None:
            current = re.sub(r"[\s\"']", "", header.group(1))
        elif current == table and assignment.match(stripped):
            return number
    return None
