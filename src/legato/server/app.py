"""The API server's app: ``create_app(config)``.

The routes live in :mod:`legato.server.routes` (one module per resource) under ``/api/v1``;
here they are assembled behind the security checks of :mod:`legato.server.security`, with
the answers every route shares: JSON passed through the secret mask, and errors that say
what is wrong (a :class:`~legato.errors.LegatoError` becomes a status by how the caller
reacts to it: 404 for something unknown, 422 for a malformed request, 409 for a conflict).
Routes that read the store are plain functions, run in the thread pool: async is for the
event streams only.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response

from legato._version import __version__
from legato.errors import (
    ConfigError,
    InvalidNameError,
    LegatoError,
    ParameterError,
    RegistryError,
    RunBusyError,
    StoreError,
    UnknownModelError,
    UnknownRunError,
)
from legato.runtime.secrets import mask_values
from legato.secret_values import mask
from legato.server.actions import OpenOnce
from legato.server.auth import Role
from legato.server.config import ServerConfig
from legato.server.graphs import GraphCache
from legato.server.routes import actions, admin, artifacts, live, models, runs, schedules
from legato.server.routing import API_PREFIX, check_routes, needs
from legato.server.security import COOKIE, wrap
from legato.server.shell import ui_directory

__all__ = ["MaskedJSON", "SecuredApp", "create_app", "error"]

# Most specific first: the first class an error is an instance of gives its status.
_STATUSES: tuple[tuple[type[LegatoError], int], ...] = (
    (UnknownRunError, 404),
    (UnknownModelError, 404),
    (InvalidNameError, 422),
    (ParameterError, 422),
    (RunBusyError, 409),
    (RegistryError, 409),
    (ConfigError, 500),
    (StoreError, 503),
)


class MaskedJSON(JSONResponse):
    """JSON with every known secret value masked in every string, keys included."""

    def render(self, content: Any) -> bytes:
        return json.dumps(
            mask_values(content), ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode()


def error(status: int, message: str) -> MaskedJSON:
    """An error answer: ``{"error": message}``, masked."""
    return MaskedJSON({"error": mask(message)}, status_code=status)


def create_app(config: ServerConfig) -> SecuredApp:
    """The ASGI app serving the API over ``config``'s stores, behind the host, header,
    origin and token checks; its ``.api`` is the FastAPI app (routes, OpenAPI schema)."""
    api = FastAPI(
        title="legato",
        version=__version__,
        description="Runs, tasks, logs, metrics, models and schedules of a legato store.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # an interactive page loads scripts from elsewhere: CSP forbids it
        redoc_url=None,
        default_response_class=MaskedJSON,
    )
    api.state.config = config
    api.state.writer = OpenOnce(config.writer) if config.writer is not None else None
    api.state.graphs = GraphCache()

    @api.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        answer = error(exc.status_code, str(exc.detail))
        answer.headers.update(exc.headers or {})
        return answer

    @api.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
            for e in exc.errors()
        )
        return error(422, f"the request is malformed: {problems}")

    @api.exception_handler(LegatoError)
    async def legato_error(request: Request, exc: LegatoError) -> Response:
        for kind, status in _STATUSES:
            if isinstance(exc, kind):
                return error(status, str(exc))
        return error(500, f"{type(exc).__name__}: {exc}")

    @api.get("/healthz", include_in_schema=True, tags=["server"])
    def healthz() -> dict[str, str]:
        """Whether the server answers (no token needed)."""
        return {"status": "ok", "version": __version__}

    @api.get("/login", tags=["server"], response_model=None)
    def login(request: Request, token: str = Query(max_length=200)) -> Response:
        """Exchange a token (the login URL ``legato ui`` printed) for the session cookie,
        then go to the start page."""
        if config.tokens.role_of(token) is None:
            return error(
                401, "this token is not one of the server's: use the login URL legato ui printed"
            )
        answer = RedirectResponse("/", status_code=303)
        answer.set_cookie(
            COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return answer

    @api.get("/", tags=["server"], **needs(Role.VIEWER))
    def index() -> dict[str, str]:
        """Where the API is (a browser is answered the web UI's page instead:
        :mod:`legato.server.shell`)."""
        return {"api": API_PREFIX, "openapi": f"{API_PREFIX}/openapi.json"}

    live.add_routes(api)  # first: /runs/stream before /runs/{run_id}
    runs.add_routes(api)
    actions.add_routes(api)
    models.add_routes(api)
    artifacts.add_routes(api)
    admin.add_routes(api)
    schedules.add_routes(api)
    check_routes(api)
    secured = wrap(api, tokens=config.tokens, allowed_hosts=config.allowed_hosts, ui=ui_directory())
    return SecuredApp(api, secured)


class SecuredApp:
    """The API behind its checks (an ASGI app); ``.api`` is the FastAPI app inside (its
    routes, schema and state), which nothing should serve without the checks."""

    def __init__(self, api: FastAPI, secured: Any) -> None:
        self.api = api
        self._secured = secured

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._secured(scope, receive, send)
