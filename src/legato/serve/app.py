"""The FastAPI app that serves one model reference: ``create_app(registry, ref, ...)``.

``POST /predict`` takes JSON rows or columns (see :mod:`legato.serve.inputs`) and answers
``{"predictions": [...], "model": name, "version": n}``; ``GET /health`` says whether a
model is loaded; ``GET /metadata`` gives the version, its signature and metrics. With a
token, ``/predict`` and ``/metadata`` need ``Authorization: Bearer <token>``.

Before any of that, every request must name an allowed host in its ``Host`` header
(:mod:`legato.serve.hosts`: loopback names unless more are allowed), else it is answered 400:
a page of another site cannot reach the server through DNS rebinding. What the server
answers passes through the secret mask (:func:`legato.secret_values.mask`): values that
hold a secret are refused when they are recorded, and this keeps anything recorded before
out of the answers too.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from legato.registry.registry import Registry
from legato.runtime.secrets import mask_values
from legato.secret_values import mask
from legato.serve.holder import Follower, ModelHolder, load_version
from legato.serve.hosts import HostCheck, HostPolicy
from legato.serve.inputs import (
    RequestError,
    check_batch,
    jsonable,
    parse_body,
    read_batch,
    to_model_input,
)

__all__ = ["MAX_BODY", "MAX_ROWS", "create_app"]

log = logging.getLogger("legato.serve")

MAX_BODY = 16 * 1024 * 1024
"""Bytes of request body accepted by default (413 beyond)."""
MAX_ROWS = 100_000
"""Rows accepted in one request by default (413 beyond)."""


def create_app(
    registry: Registry,
    ref: str,
    *,
    token: str | None = None,
    poll: float = 1.0,
    max_body: int = MAX_BODY,
    max_rows: int = MAX_ROWS,
    allowed_hosts: Sequence[str] = (),
) -> FastAPI:
    """An app serving ``ref`` (``name``, ``name@alias`` or ``name:version``) from
    ``registry``. The version it names is loaded now (its checksum verified: a failure
    raises here, before anything listens); an alias or a bare name is then followed: every
    ``poll`` seconds the app resolves it again and swaps a new version in atomically.

    Requests must be addressed to ``localhost``, ``127.0.0.1`` or ``[::1]`` (any port) or
    to one of ``allowed_hosts`` (names, addresses, ``*.example.com``, or ``*`` for any);
    others are answered 400 before any route runs (see :mod:`legato.serve.hosts`). A
    malformed allowed host is a ``ParameterError``."""
    hosts = HostPolicy.of(allowed_hosts)
    holder = ModelHolder(load_version(registry, registry.resolve(ref)))
    follower = Follower(registry, ref, holder, poll)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        follower.start()
        try:
            yield
        finally:
            follower.stop()

    app = FastAPI(title=f"legato serve {ref}", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.holder = holder
    app.state.follower = follower

    @app.middleware("http")
    async def authorise(request: Request, call_next: Callable[[Request], Awaitable[Any]]) -> Any:
        if token is not None and request.url.path != "/health":
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return _error(401, "a token is required: Authorization: Bearer <token>")
        return await call_next(request)

    # Added last, so outermost: a request naming a foreign host reaches no route, and no
    # token check either (its answer would tell a probing page whether one is needed).
    app.add_middleware(HostCheck, policy=hosts)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        current = holder.current.version
        out: dict[str, Any] = {"status": "ok", "model": current.name, "version": current.version}
        if holder.error:
            out["warning"] = mask(holder.error)
        return out

    @app.get("/metadata")
    async def metadata() -> dict[str, Any]:
        loaded = holder.current
        mv = loaded.version
        return mask_values(  # type: ignore[no-any-return]
            {
                "name": mv.name,
                "version": mv.version,
                "ref": ref,
                "follows": follower.follows,
                "signature": mv.signature,
                "metrics": dict(mv.metrics),
                "tags": dict(mv.tags),
                "run_id": mv.run_id,
                "task": mv.task,
                "created_at": mv.created_at.isoformat(),
                "loaded_at": loaded.loaded_at,
                "checksum": mv.artifact.checksum,
            }
        )

    @app.post("/predict")
    async def predict(request: Request) -> Any:
        loaded = holder.current  # this request's model, whatever swaps meanwhile
        mv = loaded.version
        try:
            body = await _read_body(request, max_body)
            batch = read_batch(parse_body(body), max_rows=max_rows)
            check_batch(batch, mv.signature)
            data = to_model_input(batch, mv.signature)
        except RequestError as exc:
            return _error(exc.status, exc.message)
        model = loaded.model
        call = model.predict if callable(getattr(model, "predict", None)) else model
        try:
            predictions = await run_in_threadpool(call, data)
        except (ValueError, TypeError) as exc:  # inputs the model could not take
            return _error(422, f"the model refused the input: {type(exc).__name__}: {exc}")
        except Exception as exc:
            log.exception("model %s failed", mv.ref)
            return _error(500, f"the model failed: {type(exc).__name__}")
        return {"predictions": jsonable(predictions), "model": mv.name, "version": mv.version}

    return app


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise RequestError(400, "Content-Length is not a number")
        if int(declared) > limit:
            raise RequestError(413, f"the body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(413, f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": mask(message)}, status_code=status)
