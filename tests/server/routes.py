"""The app's route table as the generated tests walk it: every method of every route, with
its path parameters filled in and the role it was declared to need."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import anyio
from fastapi.routing import APIRoute
from starlette.routing import Route

from legato.server.app import SecuredApp
from legato.server.auth import Role
from legato.server.routing import role_of_route
from legato.server.security import PUBLIC_PATHS

_PARAM = re.compile(r"\{([^}:]+)(:[^}]+)?\}")
FILLERS = {"attempt": "1", "version": "1", "seq": "0"}
"""Path parameters that must be numbers; any other is filled with a name nothing has."""


@dataclass(frozen=True)
class Endpoint:
    method: str
    template: str
    path: str
    role: Role | None
    """None: public."""

    @property
    def changes_state(self) -> bool:
        return self.method not in ("GET", "HEAD", "OPTIONS")

    @property
    def streams(self) -> bool:
        return self.template.endswith("/stream")


def endpoints(app: SecuredApp) -> list[Endpoint]:
    """Every (method, route) of ``app``: API routes with their declared role, and the
    framework's own routes (the OpenAPI schema), which need a token like any other."""
    found: list[Endpoint] = []
    for route in app.api.routes:
        if not isinstance(route, APIRoute | Route):
            continue
        path = _PARAM.sub(lambda m: FILLERS.get(m.group(1), f"no-such-{m.group(1)}"), route.path)
        if route.path in PUBLIC_PATHS:
            role = None
        elif isinstance(route, APIRoute):
            role = role_of_route(route)
            assert role is not None, f"{route.path} declares no role"
        else:
            role = Role.VIEWER
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                found.append(Endpoint(method, route.path, path, role))
    return found


def status_of(app: Any, method: str, path: str, headers: dict[str, str], body: Any = None) -> int:
    """The status ``app`` answers a request with, read from its first message: the app is
    stopped there, so an event stream is judged without being followed."""
    data = b"" if body is None else json.dumps(body).encode()
    raw = {k.lower(): v for k, v in headers.items()}
    raw.setdefault("host", "127.0.0.1:8080")
    if body is not None:
        raw.setdefault("content-type", "application/json")
    raw_path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(raw_path),
        "raw_path": raw_path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in raw.items()],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8080),
        "state": {},
    }
    found: list[int] = []

    async def call() -> None:
        started = anyio.Event()
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": data, "more_body": False}
            await anyio.sleep_forever()
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                found.append(message["status"])
                started.set()

        async def serve() -> None:
            try:
                await app(scope, receive, send)
            except Exception:  # what escaped every handler: the client sees a 500
                if not found:
                    found.append(500)
            started.set()

        async with anyio.create_task_group() as group:
            group.start_soon(serve)
            await started.wait()
            group.cancel_scope.cancel()

    anyio.run(call)
    assert found, f"{method} {raw_path} sent no answer"
    return found[0]
