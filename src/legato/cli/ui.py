"""``legato ui``: serve the HTTP API over the profile's stores (:mod:`legato.server`).

The server needs the ``serve`` extra (FastAPI and uvicorn). It is imported when the command
runs, so that without it the command says which extra to install (exit 2) instead of ending
in an import's traceback.
"""

from __future__ import annotations

from legato.cli.exits import OK, USAGE, CommandError
from legato.cli.pipelines import known_pipelines
from legato.cli.serving import without_serve_extra
from legato.cli.settings import load, mask, open_storage
from legato.errors import ParameterError
from legato.serve.hosts import HostPolicy

__all__ = ["ui_command"]


def ui_command(
    *,
    host: str,
    port: int,
    allowed_hosts: tuple[str, ...],
    pipelines: tuple[str, ...] = (),
    profile: str | None,
) -> int:
    """Serve the API for ``profile``'s stores until interrupted."""
    try:  # an optional extra
        from legato.server.config import ServerConfig  # noqa: PLC0415
        from legato.server.launch import Launcher  # noqa: PLC0415
        from legato.server.serving import serve, server_tokens  # noqa: PLC0415
    except ModuleNotFoundError as exc:
        raise without_serve_extra(exc, "legato ui") from None
    settings = load(profile)
    try:
        HostPolicy.of(allowed_hosts)
        known = known_pipelines(settings, pipelines)
        tokens = server_tokens(settings.home, host)
    except ParameterError as exc:
        raise CommandError(mask(str(exc)), USAGE) from None
    storage = open_storage(settings, read_only=True)
    config = ServerConfig(
        store=storage.runs,
        artifacts=storage.artifacts,
        tokens=tokens,
        stale_after=settings.stale_after,
        allowed_hosts=allowed_hosts,
        writer=lambda: open_storage(settings).runs,
        launcher=Launcher(home=settings.home, profile=profile),
        pipelines=known,
        settings=settings,
    )
    serve(config, host=host, port=port, ready=lambda line: print(line, flush=True))
    return OK
