"""Which ``Host`` a request to ``legato serve`` may name, checked before any route runs.

A server on 127.0.0.1 is out of reach of other machines, not of the web pages a browser on
this machine opens: through *DNS rebinding* a page on ``evil.example`` makes its own name
resolve to 127.0.0.1, and the browser then lets it send requests to the server and read the
answers as same-origin ones (``/predict``, ``/metadata``). Those requests carry the page's
name in their ``Host`` header; a page can never make it ``localhost`` or a loopback address
(that would be another origin), so a server that answers only requests addressed to those
names cannot be reached this way.

By default the names allowed are ``localhost``, ``127.0.0.1`` and ``[::1]``, with any port.
The user adds others (``--allowed-host`` of ``legato serve``, ``allowed_hosts=`` of
``create_app``): a name or address, ``*.example.com`` for the names under a domain, or ``*``
for any (which turns the check off). A request naming another host, or none, is answered
400 with a JSON body saying which names are allowed and how to add one.

:class:`HostCheck` is a plain ASGI middleware rather than Starlette's
``TrustedHostMiddleware``: that one answers a bare ``Invalid host header`` in plain text
(this server's errors are JSON that say how to fix them), redirects to ``www.`` names, and
the older Starlette releases that ``legato[serve]`` (``fastapi>=0.110``) still admits cut the
header at its first ``:`` (Starlette issue 3357), so ``[::1]:8000`` never matched. No web
framework is imported here.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any

from legato.errors import ParameterError
from legato.secret_values import mask

__all__ = ["LOOPBACK_HOSTS", "HostCheck", "HostPolicy", "host_of"]

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
"""The names a request may always address the server by: only this machine uses them."""

_NAME = re.compile(r"[a-z0-9_]([a-z0-9_\-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_\-]*[a-z0-9_])?)*")
_HOST = re.compile(r"(?P<host>\[[0-9a-f:.]+\]|[^:\[\]]+)(:(?P<port>[0-9]{1,5}))?")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def host_of(header: str | None) -> str | None:
    """The host a ``Host`` header names, normalised (lower case, no port, no trailing dot,
    an IPv6 address in brackets), or None when it is missing or malformed."""
    if not header:
        return None
    found = _HOST.fullmatch(header.strip().lower())
    if found is None:
        return None
    host = found.group("host")
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return None
        return host
    host = host.removesuffix(".")
    return host if _NAME.fullmatch(host) else None


def _pattern(given: str) -> str:
    """An allowed-host pattern as the policy holds it, or ``ParameterError`` saying why."""
    text = given.strip().lower()
    if text == "*":
        return text
    if text.startswith("*."):
        suffix = host_of(text[2:])
        if suffix is not None and not suffix.startswith("["):
            return "*." + suffix
    else:
        try:  # an IPv6 address may be given with or without its brackets
            return f"[{ipaddress.IPv6Address(text.strip('[]'))}]"
        except ValueError:
            pass
        host = host_of(text)
        if host is not None and ":" not in text:
            return host
    raise ParameterError(
        f"allowed host {given!r} is not a host name, an address, '*.domain' or '*' "
        "(give it without a scheme or a port: any port is accepted)"
    )


@dataclass(frozen=True, slots=True)
class HostPolicy:
    """The hosts a request may name: the loopback ones and those the user allowed."""

    names: frozenset[str]
    """Exact hosts, normalised as :func:`host_of` returns them."""
    domains: tuple[str, ...] = ()
    """Suffixes (``.example.com``) any name under which is allowed."""
    any: bool = False
    """``*`` was allowed: the check is off."""

    @classmethod
    def of(cls, allowed: Iterable[str] = ()) -> HostPolicy:
        """The loopback names plus ``allowed`` (``ParameterError`` for a malformed one)."""
        if isinstance(allowed, str):
            allowed = [allowed]
        patterns = [_pattern(p) for p in allowed]
        names = frozenset(LOOPBACK_HOSTS) | {p for p in patterns if not p.startswith("*")}
        domains = tuple(p[1:] for p in patterns if p.startswith("*."))
        return cls(names=names, domains=domains, any="*" in patterns)

    def allows(self, header: str | None) -> bool:
        """Whether a request whose ``Host`` header is ``header`` may be answered."""
        if self.any:
            return True
        host = host_of(header)
        if host is None:
            return False
        if host.startswith("[") and host not in self.names:
            host = f"[{ipaddress.IPv6Address(host[1:-1])}]"  # ::0:1 is ::1
        return host in self.names or host.endswith(self.domains)

    def refusal(self, header: str | None) -> str:
        """Why a request naming ``header`` is refused, and how to allow it (secret values
        masked: the header is the client's, quoted back)."""
        allowed = ", ".join(
            sorted(self.names - set(LOOPBACK_HOSTS)) + [f"*{d}" for d in self.domains]
        )
        shown = "no Host header" if not header else f"Host {header[:100]!r}"
        named = host_of(header)
        how = (
            f"to accept it, start the server with --allowed-host {named} "
            f"(create_app: allowed_hosts=[{named!r}])"
            if named is not None
            else "send the host name the server is reached by"
        )
        return mask(
            f"{shown} is not allowed: this server answers only requests addressed to "
            f"{', '.join(LOOPBACK_HOSTS)}{f', {allowed}' if allowed else ''} (any port), so "
            f"that web pages of other sites cannot reach it through DNS rebinding; {how}"
        )


class HostCheck:
    """ASGI middleware: a request whose ``Host`` the policy does not allow is answered 400
    (a WebSocket closed with 1008) before the app sees it."""

    def __init__(self, app: ASGIApp, policy: HostPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self.policy.any:
            await self.app(scope, receive, send)
            return
        header = _host_header(scope)
        if self.policy.allows(header):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = json.dumps({"error": self.policy.refusal(header)}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 400,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _host_header(scope: Scope) -> str | None:
    for name, value in scope.get("headers") or ():
        if name.lower() == b"host":
            return str(value.decode("latin-1"))
    return None
