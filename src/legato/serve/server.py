"""``legato serve``: run the app of :mod:`legato.serve.app` with uvicorn.

The address is bound first, before the model loads or anything is printed, and the bound
socket is what uvicorn listens on: a port that is taken (or not ours to use) is one
``ParameterError`` saying so and what to do, never a start that fails half-way.

It binds 127.0.0.1 unless told otherwise; bound anywhere else it refuses to start without a
token (``token=`` or ``LEGATO_SERVE_TOKEN``), which every request but ``/health`` must then
carry. Wherever it binds, it answers only requests addressed to a loopback name or to one of
``allowed_hosts`` (see :mod:`legato.serve.hosts`): bound off loopback, give the names clients
reach it by.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
from collections.abc import Callable, Sequence

import uvicorn

from legato.errors import ParameterError
from legato.model.registry import parse_model_ref
from legato.registry.registry import Registry
from legato.serve.app import MAX_BODY, MAX_ROWS, create_app
from legato.serve.holder import Loaded
from legato.serve.hosts import LOOPBACK_HOSTS

__all__ = ["TOKEN_VARIABLE", "bind", "is_loopback", "serve", "token_for"]

TOKEN_VARIABLE = "LEGATO_SERVE_TOKEN"


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine only (``127.0.0.1``, ``::1``, ``localhost``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def token_for(host: str, token: str | None) -> str | None:
    """The token the server requires: ``token``, else ``LEGATO_SERVE_TOKEN``; refused
    (``ParameterError``) when ``host`` is not loopback and there is none."""
    token = token or os.environ.get(TOKEN_VARIABLE) or None
    if token is None and not is_loopback(host):
        raise ParameterError(
            f"refusing to serve on {host} without a token: anyone who can reach it could use "
            f"the model; pass --token or set {TOKEN_VARIABLE} (clients then send "
            "'Authorization: Bearer <token>'), or bind 127.0.0.1"
        )
    return token


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to ``host``:``port`` for uvicorn to listen on (port 0: any free one);
    ``ParameterError`` saying what to do when the port is taken, not allowed, or the address
    is not one of this machine's."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # As uvicorn binds: a port whose last connections are in TIME_WAIT is free, one that
        # another socket listens on is not.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise ParameterError(_bind_problem(host, port, exc)) from None
    return sock


def _bind_problem(host: str, port: int, exc: OSError) -> str:
    where = f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return (
            f"cannot serve on {where}: port {port} is in use by another program; stop it, "
            "or choose another port with --port"
        )
    if exc.errno == errno.EACCES:
        return (
            f"cannot serve on {where}: this user may not listen on port {port} (ports below "
            "1024 need privileges); choose a port from 1024 with --port"
        )
    if isinstance(exc, socket.gaierror):
        return f"cannot serve on {where}: {host} does not resolve to an address ({exc.strerror})"
    if exc.errno == errno.EADDRNOTAVAIL:
        return (
            f"cannot serve on {where}: {host} is not an address of this machine; choose one "
            "with --host (127.0.0.1, or 0.0.0.0 for all)"
        )
    return f"cannot serve on {where}: {exc.strerror or exc}"


def serve(
    registry: Registry,
    ref: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    token: str | None = None,
    poll: float = 1.0,
    max_body: int = MAX_BODY,
    max_rows: int = MAX_ROWS,
    ready: Callable[[str], None] | None = None,
    allowed_hosts: Sequence[str] = (),
) -> None:
    """Serve ``ref`` until interrupted (Ctrl-C or SIGTERM end it cleanly). Requests must be
    addressed to a loopback name or one of ``allowed_hosts``. ``ready`` is told the line to
    show once the address is bound and the model loaded."""
    parse_model_ref(ref)  # a malformed or path-like name is refused before anything else
    required = token_for(host, token)
    sock = bind(host, port)
    try:
        app = create_app(
            registry,
            ref,
            token=required,
            poll=poll,
            max_body=max_body,
            max_rows=max_rows,
            allowed_hosts=allowed_hosts,
        )
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
        sock.listen(config.backlog)  # from the line on, a client's connection waits for uvicorn
        if ready is not None:
            ready(_ready_line(app.state.holder.current, ref, host, sock, allowed_hosts))
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


def _ready_line(
    loaded: Loaded | None,
    ref: str,
    host: str,
    sock: socket.socket,
    allowed_hosts: Sequence[str],
) -> str:
    shown = f"[{host.strip('[]')}]" if ":" in host else host
    what = (
        f"version {loaded.version.version}"
        if loaded is not None
        else "no version yet: waiting for it to name one"
    )
    line = f"serving {ref} ({what}) on http://{shown}:{sock.getsockname()[1]}"
    if not is_loopback(host) and not allowed_hosts:
        line += (
            f"; only requests addressed to {', '.join(LOOPBACK_HOSTS)} are answered: "
            "add the names clients use with --allowed-host NAME"
        )
    return line
