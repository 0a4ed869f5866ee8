"""The FastAPI app that serves one model reference: ``create_app(registry, ref, ...)``.

``POST /predict`` takes JSON rows or columns (see :mod:`legato.serve.inputs`) and answers
``{"predictions": [...], "model": name, "version": n}``; ``POST /versions/{n}/predict`` does
the same with version ``n`` of the model, loaded for it (checksum verified) though no alias
names it: how a deployment's smoke test tries a candidate on this server before the alias
moves (see :class:`~legato.serve.holder.Candidate`). ``GET /health`` says whether a model is
loaded; ``GET /metadata`` gives the version, its signature and metrics. With a token,
everything but ``/health`` needs ``Authorization: Bearer <token>``.

A followed reference (``name@alias``, ``name``) that names no version yet is waited for:
``/health``, ``/predict`` and ``/metadata`` answer 503 until the alias is set, and
``/versions/{n}/predict`` answers already.

Before any of that, every request must name an allowed host in its ``Host`` header
(:mod:`legato.serve.hosts`: loopback names unless more are allowed), else it is answered 400:
a page of another site cannot reach the server through DNS rebinding. What the server
answers passes through the secret mask (:func:`legato.secret_values.mask`): values that
hold a secret are refused when they are recorded, and this keeps anything recorded before
out of the answers too. Answers are written by :func:`legato.serve.answers.encode` (ASCII
JSON, NaN and infinities as null).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from legato.errors import InvalidNameError, UnknownModelError
from legato.model.registry import check_version, parse_model_ref
from legato.registry.registry import Registry
from legato.runtime.secrets import mask_values
from legato.secret_values import mask
from legato.serve.answers import encode
from legato.serve.holder import Candidate, Follower, Loaded, ModelHolder, load_version
from legato.serve.hosts import HostCheck, HostPolicy
from legato.serve.inputs import MAX_BODY, MAX_ROWS, RequestError, model_input

__all__ = ["MAX_BODY", "MAX_ROWS", "Answer", "create_app"]

log = logging.getLogger("legato.serve")


class Answer(Response):
    """A JSON answer written by :func:`legato.serve.answers.encode`: FastAPI's own writes
    UTF-8 (a lone surrogate quoted from a request would fail to encode: a 500) and refuses
    NaN."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return encode(content)


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
    ``poll`` seconds the app resolves it again and swaps a new version in atomically. An
    alias or a bare name that names no version yet is waited for (with ``poll`` > 0; with
    0 it is refused, ``UnknownModelError``, as a fixed version that does not exist is).

    Requests must be addressed to ``localhost``, ``127.0.0.1`` or ``[::1]`` (any port) or
    to one of ``allowed_hosts`` (names, addresses, ``*.example.com``, or ``*`` for any);
    others are answered 400 before any route runs (see :mod:`legato.serve.hosts`). A
    malformed allowed host is a ``ParameterError``."""
    hosts = HostPolicy.of(allowed_hosts)
    name = parse_model_ref(ref).name
    holder = _first(registry, ref, poll)
    candidate = Candidate(registry, name)
    follower = Follower(registry, ref, holder, poll, candidate)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        follower.start()
        try:
            yield
        finally:
            follower.stop()

    app = FastAPI(
        title=f"legato serve {ref}",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        default_response_class=Answer,
    )
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

    def waiting() -> Answer:
        return _error(503, f"nothing to serve yet: {holder.error}")

    @app.get("/health")
    async def health() -> Answer:
        loaded = holder.current
        out: dict[str, Any] = {
            "status": "ok" if loaded else "waiting",
            "model": name,
            "version": loaded.version.version if loaded else None,
        }
        if holder.error:
            out["warning"] = mask(holder.error)
        return Answer(out, status_code=200 if loaded else 503)

    @app.get("/metadata")
    async def metadata() -> Any:
        loaded = holder.current
        if loaded is None:
            return waiting()
        mv = loaded.version
        return mask_values(
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
    async def predict(request: Request) -> Answer:
        loaded = holder.current  # this request's model, whatever swaps meanwhile
        if loaded is None:
            return waiting()
        return await _predict(loaded, request, max_body, max_rows)

    @app.post("/versions/{version}/predict")
    async def predict_version(version: str, request: Request) -> Answer:
        try:
            number = check_version(version)
        except InvalidNameError as exc:
            return _error(404, str(exc))
        loaded = holder.current
        if loaded is None or loaded.version.version != number:
            try:
                loaded = await run_in_threadpool(candidate.get, number)
            except UnknownModelError as exc:
                return _error(404, str(exc))
            except Exception as exc:  # its bytes do not verify, it has no predict()...
                log.exception("cannot load %s:%d", name, number)
                return _error(500, f"cannot load {name}:{number}: {type(exc).__name__}: {exc}")
        return await _predict(loaded, request, max_body, max_rows)

    return app


def _first(registry: Registry, ref: str, poll: float) -> ModelHolder:
    """What ``ref`` names now, loaded; nothing, when it is followed and names nothing yet."""
    try:
        mv = registry.resolve(ref)
    except UnknownModelError as exc:
        if parse_model_ref(ref).version is not None or poll <= 0:
            raise
        return ModelHolder(None, error=str(exc))
    return ModelHolder(load_version(registry, mv))


async def _predict(loaded: Loaded, request: Request, max_body: int, max_rows: int) -> Answer:
    """One prediction with ``loaded``: read and convert the body (:mod:`legato.serve.inputs`,
    4xx), run the model in the thread pool, write the answer."""
    mv = loaded.version
    try:
        body = await _read_body(request, max_body)
        data = model_input(body, mv.signature, max_rows=max_rows)
    except RequestError as exc:
        return _error(exc.status, exc.message)
    try:
        predictions = await run_in_threadpool(loaded.predict, data)
    except (ValueError, TypeError) as exc:  # inputs the model could not take
        return _error(422, f"the model refused the input: {type(exc).__name__}: {exc}")
    except Exception as exc:
        log.exception("model %s failed", mv.ref)
        return _error(500, f"the model failed: {type(exc).__name__}")
    answer = {"predictions": predictions, "model": mv.name, "version": mv.version}
    try:
        return Answer(answer)
    except (ValueError, TypeError) as exc:
        log.exception("the predictions of %s cannot be written as JSON", mv.ref)
        return _error(500, f"the model's predictions are not JSON: {type(exc).__name__}: {exc}")


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


def _error(status: int, message: str) -> Answer:
    return Answer({"error": mask(message)}, status_code=status)
