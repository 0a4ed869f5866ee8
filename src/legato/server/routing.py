"""Every route says which role it needs, where it is declared: ``**needs(Role.X)`` in the
route's decorator adds the check (403 for a weaker role) and records the role in the route's
OpenAPI operation (``x-legato-role``), so the route table itself says who may call what.
:func:`check_routes` refuses to build an app with a route that says nothing, and the tests
are generated from the same table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.routing import APIRoute

from legato.server.auth import Role
from legato.server.security import PUBLIC_PATHS, ROLE_STATE

__all__ = ["API_PREFIX", "ROLE_KEY", "check_routes", "needs", "role_of_route"]

API_PREFIX = "/api/v1"
"""Where the API's routes live."""
ROLE_KEY = "x-legato-role"
"""The OpenAPI extension naming the role a route needs."""


def _checker(needed: Role) -> Callable[[Request], None]:
    def check(request: Request) -> None:
        role: Role | None = getattr(request.state, ROLE_STATE, None)
        if role is None or not role.allows(needed):
            shown = role.value if role is not None else "none"
            raise HTTPException(
                403, f"this needs the {needed.value} role; the token given is {shown}'s"
            )

    return check


def needs(role: Role) -> dict[str, Any]:
    """The keyword arguments of a route decorator for a route that ``role`` (and the roles
    above it) may call."""
    return {"dependencies": [Depends(_checker(role))], "openapi_extra": {ROLE_KEY: role.value}}


def role_of_route(route: APIRoute) -> Role | None:
    """The role a route was declared to need (None: a public route, or none declared)."""
    extra = route.openapi_extra or {}
    value = extra.get(ROLE_KEY)
    return Role(value) if value is not None else None


def check_routes(app: FastAPI) -> None:
    """Raise ``RuntimeError`` for a route of ``app`` that is neither public nor declared
    with :func:`needs` (a route added without saying who may call it)."""
    for route in app.routes:
        if (
            isinstance(route, APIRoute)
            and route.path not in PUBLIC_PATHS
            and role_of_route(route) is None
        ):
            raise RuntimeError(
                f"route {sorted(route.methods or ())} {route.path} declares no role: add "
                "**needs(Role...) to its decorator"
            )
