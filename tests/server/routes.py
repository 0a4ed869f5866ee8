"""The app's route table as the generated tests walk it: every method of every route, with
its path parameters filled in and the role it was declared to need."""

from __future__ import annotations

import re
from dataclasses import dataclass

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
