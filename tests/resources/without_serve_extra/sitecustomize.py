"""Imported at start-up by a Python whose ``PYTHONPATH`` holds this folder: FastAPI and
uvicorn then cannot be imported, as where ``legato[serve]`` is not installed (the import
fails as a missing package's does: ``ModuleNotFoundError`` naming it)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType

MISSING = ("fastapi", "uvicorn")


class _Missing(MetaPathFinder):
    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if name.partition(".")[0] in MISSING:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _Missing())
