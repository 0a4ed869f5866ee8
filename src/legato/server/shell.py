"""The web UI's shell: the built single-page app (``static/``, made by ``npm run build`` in
``ui/`` and shipped in the wheel) served beside the API, plain ASGI.

What it answers, before any token is checked (it holds no data: every datum the app shows
comes from the API, whose routes keep their own authentication):

- ``GET /assets/<file>`` and the other built files: the file, cached for a year (the build
  names each file by a hash of its content, so a changed file has a new name);
- a browser's page request (``Accept: text/html``, ``GET``) for any path outside the API
  (``/``, ``/runs/01m9…``, ``/models/digits``): ``index.html``, never cached, and the app
  routes in the browser, so every page has a URL and the back button works;
- a browser's ``/login`` with a missing or wrong token: ``index.html`` with status 401, where
  the app shows the login form and says the token was wrong. A right token goes on to the
  API's ``/login``, which sets the session cookie and redirects to ``/``.

Clients that are not browsers (no ``text/html`` in ``Accept``) are answered by the API as
before: ``GET /`` tells where the API is, a wrong token at ``/login`` is a JSON 401.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from legato.server.auth import Tokens

__all__ = ["STATIC", "WebShell", "ui_directory"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

STATIC = Path(__file__).with_name("static")
"""Where ``npm run build`` puts the app (``ui/vite.config.ts``)."""

_IMMUTABLE = b"public, max-age=31536000, immutable"
_REVALIDATE = b"no-cache"
_NOT_THE_APP = ("/api/", "/healthz")
_FILE_PATH = re.compile(r"^/(?:assets/)?[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")


def ui_directory(directory: Path = STATIC) -> Path | None:
    """``directory`` if it holds a built app (its ``index.html``), else None: an install
    without the built files serves the API alone."""
    return directory if (directory / "index.html").is_file() else None


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return ""


class WebShell:
    """Serves the app's files and its ``index.html`` (see the module docstring); passes
    every other request to ``app``."""

    def __init__(self, app: ASGIApp, directory: Path, tokens: Tokens) -> None:
        self.app = app
        self.directory = directory.resolve()
        self.tokens = tokens
        self.index = (directory / "index.html").read_bytes()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        head = scope["method"] == "HEAD"
        found = self._file(path)
        if found is not None:
            cache = _IMMUTABLE if path.startswith("/assets/") else _REVALIDATE
            await _answer(send, 200, found.read_bytes(), _type_of(found), cache, head=head)
            return
        if "text/html" not in _header(scope, b"accept") or path.startswith(_NOT_THE_APP):
            await self.app(scope, receive, send)
            return
        if path == "/login":
            given = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
            if given and self.tokens.role_of(given[0]) is not None:
                await self.app(scope, receive, send)  # the API sets the cookie
                return
            await _answer(send, 401, self.index, "text/html; charset=utf-8", _REVALIDATE, head=head)
            return
        await _answer(send, 200, self.index, "text/html; charset=utf-8", _REVALIDATE, head=head)

    def _file(self, path: str) -> Path | None:
        """The built file ``path`` names (``/assets/x.js``, ``/favicon.svg``), if any."""
        if path == "/index.html" or not _FILE_PATH.match(path):
            return None
        found = (self.directory / path.lstrip("/")).resolve()
        if not found.is_relative_to(self.directory) or not found.is_file():
            return None
        return found


def _type_of(path: Path) -> str:
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    textual = kind.startswith("text/") or kind.endswith(("javascript", "+xml"))
    return f"{kind}; charset=utf-8" if textual else kind


async def _answer(
    send: Send, status: int, body: bytes, kind: str, cache: bytes, *, head: bool
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", kind.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", cache),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"" if head else body})
