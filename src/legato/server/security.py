"""The checks every request passes before a route sees it: plain ASGI middleware, no web
framework imported. Outermost first (``wrap``):

1. **Host** (:class:`legato.serve.hosts.HostCheck`): only requests addressed to a loopback
   name or an allowed host are answered, so a page of another site cannot reach the server
   through DNS rebinding.
2. **Security headers** on every answer, errors included: ``Content-Security-Policy:
   default-src 'self'; frame-ancestors 'none'`` (no script, style or frame from elsewhere,
   and no page may frame this one), no MIME sniffing, no referrer, and no caching.
3. **Origin**: a request that changes state (any method but GET, HEAD and OPTIONS) or opens
   an event stream is refused (403) when its ``Origin`` is another than the server's (its
   scheme, host and port). Browsers send
   ``Origin`` on every such cross-site request; clients that are not browsers send none and
   are judged by their token alone.
4. **Authentication**: every path but the public ones (``/healthz``, ``/login``) needs a
   token, as ``Authorization: Bearer <token>`` or the session cookie that ``/login`` sets
   (HttpOnly, SameSite=Strict: a page of another site can neither read it nor have it
   sent). No token, or a wrong one: 401. The role found is left in the request's state for
   the routes' own checks (:mod:`legato.server.routing`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from pathlib import Path
from typing import Any

from legato.serve.hosts import HostCheck, HostPolicy, host_of
from legato.server.auth import Role, Tokens
from legato.server.shell import WebShell

__all__ = [
    "COOKIE",
    "PUBLIC_PATHS",
    "ROLE_STATE",
    "SECURITY_HEADERS",
    "Authenticate",
    "OriginCheck",
    "SecurityHeaders",
    "wrap",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

COOKIE = "legato_session"
"""The session cookie's name: it holds the token ``/login`` was given."""
PUBLIC_PATHS = frozenset({"/healthz", "/login"})
"""What answers without a token: whether the server lives, and the exchange of a token for
the session cookie."""
ROLE_STATE = "legato_role"
"""Where the request's role is left in its ASGI state."""

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", b"default-src 'self'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_STREAM_SUFFIX = "/stream"


def wrap(
    app: ASGIApp,
    *,
    tokens: Tokens,
    allowed_hosts: Sequence[str] = (),
    ui: Path | None = None,
) -> ASGIApp:
    """``app`` behind every check, in order (see the module docstring); with ``ui`` (a
    built web app), its shell served after the host check and with the headers, before the
    token is checked (:mod:`legato.server.shell`: it holds no data)."""
    inner: ASGIApp = Authenticate(app, tokens)
    inner = OriginCheck(inner)
    if ui is not None:
        inner = WebShell(inner, ui, tokens)
    inner = SecurityHeaders(inner)
    return HostCheck(inner, HostPolicy.of(allowed_hosts))


async def _refuse(send: Send, status: int, message: str, *extra: tuple[bytes, bytes]) -> None:
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every HTTP answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers") or ()}
                message["headers"] = [
                    *(message.get("headers") or ()),
                    *(h for h in SECURITY_HEADERS if h[0] not in names),
                ]
            await send(message)

        await self.app(scope, receive, with_headers)


def same_origin(origin: str, host: str | None, scheme: str = "http") -> bool:
    """Whether ``origin`` (an ``Origin`` header) names the server the request was sent to:
    its scheme, and the host and port of its ``Host`` header."""
    given, sep, rest = origin.partition("://")
    if not sep or given != scheme or not host or "/" in rest:
        return False
    return host_of(rest) is not None and rest.lower() == host.strip().lower()


class OriginCheck:
    """Refuses (403) a request that changes state or opens a stream when its ``Origin``
    names another site."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            scope["method"] not in _SAFE_METHODS or scope["path"].endswith(_STREAM_SUFFIX)
        ):
            origin = _header(scope, b"origin")
            host = _header(scope, b"host")
            if origin is not None and not same_origin(origin, host, scope.get("scheme", "http")):
                await _refuse(
                    send,
                    403,
                    f"requests from {origin[:100]!r} may not change state or open streams: "
                    "only pages this server serves may (cross-site request forgery)",
                )
                return
        await self.app(scope, receive, send)


def token_of(scope: Scope) -> str | None:
    """The token a request carries: its bearer token, else its session cookie."""
    authorization = _header(scope, b"authorization")
    if authorization is not None:
        kind, _, value = authorization.partition(" ")
        return value.strip() if kind.lower() == "bearer" else None
    cookies = _header(scope, b"cookie")
    for part in (cookies or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value
    return None


class Authenticate:
    """Answers 401 to a request without a valid token (but on :data:`PUBLIC_PATHS`), and
    leaves the role of the one it carries in the request's state."""

    def __init__(self, app: ASGIApp, tokens: Tokens) -> None:
        self.app = app
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        role: Role | None = self.tokens.role_of(token_of(scope))
        if role is None and scope["path"] not in PUBLIC_PATHS:
            await _refuse(
                send,
                401,
                "a token is required: send 'Authorization: Bearer <token>', or open the "
                "login URL legato ui printed (the tokens are in ui-tokens.json in the "
                "legato home)",
                (b"www-authenticate", b'Bearer realm="legato"'),
            )
            return
        scope.setdefault("state", {})[ROLE_STATE] = role
        await self.app(scope, receive, send)
