"""Helpers for the authoring tests: find the line an error must point at."""

from __future__ import annotations

import inspect
from pathlib import Path
from types import ModuleType

from legato import DefinitionError
from legato.model.ids import SourceLocation


def marked_line(module: ModuleType, kind: str) -> int:
    """The 1-based line of ``module`` that carries the comment ``# <- bad: KIND``."""
    marker = f"# <- bad: {kind}"
    lines = Path(inspect.getfile(module)).read_text().splitlines()
    found = [i for i, line in enumerate(lines, 1) if line.rstrip().endswith(marker)]
    assert len(found) == 1, f"marker {marker!r} appears {len(found)} times in {module.__name__}"
    return found[0]


def assert_points_at(location: SourceLocation | None, module: ModuleType, kind: str) -> None:
    """``location`` is the marked line in the module's own file."""
    assert location is not None, "the error carries no location"
    assert Path(location.filename).resolve() == Path(inspect.getfile(module)).resolve()
    assert location.lineno == marked_line(module, kind)


def assert_definition_error(
    err: DefinitionError, module: ModuleType, kind: str, *names: str
) -> None:
    """A definition error that names ``names``, points at the marked line (as a field and in
    its text) and says how to fix it."""
    text = str(err)
    for name in names:
        assert name in err.problem, f"{name!r} not named in: {err.problem}"
    assert_points_at(err.location, module, kind)
    assert f":{marked_line(module, kind)} in " in text
    assert "\n  fix: " in text
    assert err.fix.strip()
    assert err.fix in text
