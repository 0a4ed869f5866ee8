"""``legato ui``: the API server run by uvicorn, with its tokens.

It binds 127.0.0.1 unless told otherwise. On the first start on a loopback address it makes
the token file (:mod:`legato.server.auth`) in the legato home and prints the login URL, which
carries the admin token: opening it in a browser on this machine sets the session cookie. A
non-loopback address is refused until the token file exists (auth is configured: the tokens
were made on an earlier start, or written there by whoever runs the server) — a server
reachable by other machines never starts with tokens nobody has been given yet.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import uvicorn

from legato.errors import ParameterError
from legato.serve.hosts import LOOPBACK_HOSTS
from legato.serve.server import is_loopback
from legato.server.app import create_app
from legato.server.auth import TOKEN_FILE, Role, Tokens, create_tokens, read_tokens
from legato.server.config import ServerConfig

__all__ = ["login_url", "serve", "server_tokens"]


def server_tokens(home: Path, host: str) -> Tokens:
    """The tokens of a server on ``host``: those in ``<home>/ui-tokens.json``, made there
    first if ``host`` is a loopback address; ``ParameterError`` for another address when
    there are none yet, ``ConfigError`` for a file others may read."""
    path = home / TOKEN_FILE
    if path.exists():
        return read_tokens(path)
    if not is_loopback(host):
        raise ParameterError(
            f"refusing to serve on {host} before auth is configured: anyone who can reach "
            f"it could read and run pipelines. Start legato ui once on 127.0.0.1 to make "
            f"the tokens ({path}), give them to the people who need them, then bind {host}"
        )
    return create_tokens(path)


def login_url(host: str, port: int, token: str) -> str:
    """The URL that exchanges ``token`` for the session cookie."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    shown = f"[{shown}]" if ":" in shown else shown
    return f"http://{shown}:{port}/login?token={token}"


def serve(
    config: ServerConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the API until interrupted (Ctrl-C or SIGTERM end it cleanly)."""
    app = create_app(config)
    if ready is not None:
        line = f"legato ui: open {login_url(host, port, config.tokens.token(Role.ADMIN))}"
        if not is_loopback(host) and not config.allowed_hosts:
            line += (
                f"\nonly requests addressed to {', '.join(LOOPBACK_HOSTS)} are answered: add "
                "the names clients use with --allowed-host NAME"
            )
        ready(line)
    uvicorn_config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, lifespan="on"
    )
    uvicorn.Server(uvicorn_config).run()
