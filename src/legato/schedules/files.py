"""What a file trigger sees: the files under a path or an fsspec URL, each with a
fingerprint (size and the object store's ETag, or size and modification time) that changes
when the file does."""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["list_files"]


def list_files(where: str) -> dict[str, str]:
    """Every file under ``where`` (a folder, a file, or an fsspec URL such as
    ``s3://bucket/prefix``) -> its fingerprint. A path that does not exist lists nothing."""
    # Imported when a file trigger lists (fsspec has no type information for mypy).
    fsspec: Any = importlib.import_module("fsspec")
    fs, root = fsspec.core.url_to_fs(where)
    try:
        found: dict[str, Any] = fs.find(root, detail=True)
    except FileNotFoundError:
        return {}
    return {
        path: f"{info.get('size')}:{_changed(info)}"
        for path, info in found.items()
        if info.get("type", "file") == "file"
    }


def _changed(info: dict[str, Any]) -> str:
    # An object store's ETag first: it changes with the content, whereas its modification
    # time has whole seconds, so a same-size rewrite within the second would go unseen.
    for key in ("ETag", "etag", "mtime", "LastModified", "last_modified", "updated"):
        if info.get(key) is not None:
            return str(info[key])
    return ""
