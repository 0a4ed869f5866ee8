"""``legato serve``: run the app of :mod:`legato.serve.app` with uvicorn.

It binds 127.0.0.1 unless told otherwise; bound anywhere else it refuses to start without a
token (``token=`` or ``LEGATO_SERVE_TOKEN``), which every request but ``/health`` must then
carry. Wherever it binds, it answers only requests addressed to a loopback name or to one of
``allowed_hosts`` (see :mod:`legato.serve.hosts`): bound off loopback, give the names clients
reach it by.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Sequence

import uvicorn

from legato.errors import ParameterError
from legato.model.registry import parse_model_ref
from legato.registry.registry import Registry
from legato.serve.app import MAX_BODY, MAX_ROWS, create_app
from legato.serve.hosts import LOOPBACK_HOSTS

__all__ = ["TOKEN_VARIABLE", "is_loopback", "serve", "token_for"]

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
    addressed to a loopback name or one of ``allowed_hosts``."""
    parse_model_ref(ref)  # a malformed or path-like name is refused before anything else
    required = token_for(host, token)
    app = create_app(
        registry,
        ref,
        token=required,
        poll=poll,
        max_body=max_body,
        max_rows=max_rows,
        allowed_hosts=allowed_hosts,
    )
    if ready is not None:
        mv = app.state.holder.current.version
        shown = f"[{host}]" if ":" in host else host
        line = f"serving {ref} (version {mv.version}) on http://{shown}:{port}"
        if not is_loopback(host) and not allowed_hosts:
            line += (
                f"; only requests addressed to {', '.join(LOOPBACK_HOSTS)} are answered: "
                "add the names clients use with --allowed-host NAME"
            )
        ready(line)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
    uvicorn.Server(config).run()
