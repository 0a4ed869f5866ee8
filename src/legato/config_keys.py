"""The keys of a settings file and of the ``LEGATO_*`` variables: how each raw value is
checked and converted, and where it was found, so that an error names the file (or the
variable), the key as written there, its line and the value expected.

Every converter takes the raw value and its :class:`At`; relative paths count from
``At.base`` (the settings file's folder, or the working folder for a variable).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from legato.choices import ExecutorName, FailurePolicy
from legato.errors import ConfigError

__all__ = [
    "CAPACITY_EXAMPLE",
    "EXECUTOR_NAMES",
    "FAILURE_POLICIES",
    "KEYS",
    "MIN_LEASE",
    "At",
    "one_of",
    "resolve_target",
    "read_amounts",
    "show",
]

EXECUTOR_NAMES = tuple(name.value for name in ExecutorName)
"""Executors a profile may name: those of :class:`~legato.choices.ExecutorName`."""
FAILURE_POLICIES = tuple(policy.value for policy in FailurePolicy)
"""Failure policies a profile may name: those of :class:`~legato.choices.FailurePolicy`."""


class At(NamedTuple):
    """Where a raw value was found: enough to convert relative paths and to report it."""

    source: str
    key: str
    base: Path
    """Folder that relative paths are relative to."""
    text: str = ""
    env: bool = False
    """From an environment variable: numbers come as text."""

    @property
    def origin(self) -> str:
        """Where the value was set, as :attr:`Settings.origins` says it."""
        return self.key if self.env else f"{self.key} in {self.source}"

    def error(self, problem: str, expected: str) -> ConfigError:
        table, _, last = self.key.rpartition(".")
        return ConfigError(
            problem,
            source=self.source,
            key=self.key,
            expected=expected,
            line=_line_of(self.text, table, last) if self.text else None,
        )


def _text(raw: object, at: At, expected: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise at.error(f"got {show(raw)}", expected)
    return raw.strip()


def _path(raw: object, at: At) -> Path:
    path = Path(_text(raw, at, "a folder path (a string)")).expanduser()
    return path if path.is_absolute() else (at.base / path).absolute()


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_SQLITE = re.compile(r"^(sqlite(?:\+\w+)?:///)([^?]*)(\?.*)?$")


def _state_url(raw: object, at: At) -> str:
    expected = 'a SQLAlchemy URL, e.g. "sqlite:///state/legato.db" or "postgresql+psycopg://…"'
    url = _text(raw, at, expected)
    if not _SCHEME.match(url):
        raise at.error(f"got {show(raw)}, which is not a URL", expected)
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


def _artifacts_url(raw: object, at: At) -> str:
    url = _text(raw, at, 'a folder or an fsspec URL, e.g. "artifacts" or "s3://bucket/path"')
    if _SCHEME.match(url):
        return url
    return str(_path(url, at))


def _choice(options: tuple[str, ...]) -> Callable[[object, At], str]:
    def convert(raw: object, at: At) -> str:
        if not isinstance(raw, str) or raw not in options:
            raise at.error(f"got {show(raw)}", one_of(options, raw))
        return raw

    return convert


def _concurrency(raw: object, at: At) -> int:
    expected = "a whole number of at least 1 (workers of the executor)"
    value = raw
    if at.env and isinstance(raw, str):
        try:
            value = int(raw.strip())
        except ValueError:
            raise at.error(f"got {show(raw)}", expected) from None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise at.error(f"got {show(raw)}", expected)
    return value


CAPACITY_EXAMPLE = "gpus=1,db=2,memory=16GiB"
"""How a capacity is written as text (``--capacity``, ``LEGATO_CAPACITY``)."""
_AMOUNT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_SIZE = re.compile(r"^\d+(\.\d+)?\s*[A-Za-z]*$")


def read_amounts(raw: object) -> dict[str, float | str]:
    """A capacity: ``{"gpus": 1, "db": 2, "memory": "16GiB"}`` from a table or from the text
    ``gpus=1,db=2,memory=16GiB``. Names are ``cpus``, ``memory``, ``gpus``, ``slots`` or a
    custom resource's; amounts are numbers >= 0 (``memory`` also a size such as ``16GiB``).
    Raises ``ValueError`` saying what is wrong."""
    if isinstance(raw, str):
        pairs: list[tuple[object, object]] = []
        for part in (p.strip() for p in raw.split(",")):
            key, sep, text = part.partition("=")
            if not part or not sep:
                raise ValueError(f"{part!r} is not NAME=AMOUNT")
            pairs.append((key.strip(), _number_or_text(text.strip())))
    elif isinstance(raw, dict):
        pairs = list(raw.items())
    else:
        raise ValueError(f"got {show(raw)}")
    out: dict[str, float | str] = {}
    for name, value in pairs:
        if not isinstance(name, str) or not _AMOUNT_NAME.match(name):
            raise ValueError(f"{name!r} is not a resource name")
        if name == "memory" and isinstance(value, str) and _SIZE.match(value):
            out[name] = value
        elif isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            raise ValueError(f"{name}={show(value)} is not an amount >= 0")
        else:
            out[name] = value
    return out


def _number_or_text(text: str) -> float | str:
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            continue
    return text


def _capacity(raw: object, at: At) -> dict[str, float | str]:
    try:
        return read_amounts(raw)
    except ValueError as exc:
        raise at.error(
            str(exc),
            f'a table of resource amounts, e.g. {{ gpus = 1, db = 2, memory = "16GiB" }}, or '
            f'the text "{CAPACITY_EXAMPLE}"',
        ) from None


MIN_LEASE = 2.0
"""The shortest lease a run's owner may hold (``stale_after``): it renews the lease every
quarter of it, and at most every 0.5 s, so a shorter one would leave it no slack."""


def _stale_after(raw: object, at: At) -> float:
    expected = f"a number of seconds of at least {MIN_LEASE:g} (the run owner's lease)"
    value = raw
    if at.env and isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            raise at.error(f"got {show(raw)}", expected) from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= MIN_LEASE:
        raise at.error(f"got {show(raw)}", expected)
    return float(value)


_SECRET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _secrets(raw: object, at: At) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise at.error(
            f"got {show(raw)}", 'a table of name = "ENVIRONMENT_VARIABLE" (e.g. [secrets])'
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


_PIPELINE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _pipelines(raw: object, at: At) -> dict[str, str]:
    """``name = "path/to/file.py:name"`` or ``"package.module:name"``: the pipelines
    ``legato ui`` may start. A file's path counts from the settings file's folder (the
    project root), so the server finds it from wherever it runs."""
    if not isinstance(raw, dict):
        raise at.error(
            f"got {show(raw)}", 'a table of name = "path/to/file.py:name" (e.g. [pipelines])'
        )
    out: dict[str, str] = {}
    for name, target in raw.items():
        entry = at._replace(key=f"{at.key}.{name}")
        if not _PIPELINE_NAME.match(name):
            raise entry.error("is not a usable pipeline name", "letters, digits and '_'")
        out[name] = resolve_target(
            _text(target, entry, 'a target: "path/to/file.py:name" or "package.module:name"'),
            at.base,
        )
    return out


def resolve_target(target: str, base: Path) -> str:
    """``target`` with a relative file path made absolute against ``base`` (a module's
    dotted name is left as it is: it is imported from the Python path)."""
    where, sep, attr = target.rpartition(":")
    if not sep:
        where, attr = target, ""
    if not (where.endswith(".py") or "/" in where or "\\" in where):
        return target
    path = Path(where).expanduser()
    if not path.is_absolute():
        path = (base / path).absolute()
    return f"{path}{sep}{attr}"


def _ray_address(raw: object, at: At) -> str:
    return _text(raw, at, 'a Ray cluster address, e.g. "auto" or "ray://head:10001"')


KEYS: dict[str, Callable[[object, At], Any]] = {
    "home": _path,
    "state_url": _state_url,
    "artifacts_url": _artifacts_url,
    "executor": _choice(EXECUTOR_NAMES),
    "concurrency": _concurrency,
    "failure_policy": _choice(FAILURE_POLICIES),
    "stale_after": _stale_after,
    "secrets": _secrets,
    "pipelines": _pipelines,
    "capacity": _capacity,
    "ray_address": _ray_address,
}


def show(raw: object) -> str:
    if isinstance(raw, dict):
        return "a table"
    if isinstance(raw, list):
        return "an array"
    text = repr(raw)
    return text if len(text) <= 60 else text[:57] + "..."


def one_of(options: list[str] | tuple[str, ...], given: object) -> str:
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
