"""``legato serve NAME[@ALIAS|:VERSION]``: serve a registered model over HTTP.

The server needs the ``serve`` extra (FastAPI and uvicorn). They are imported when the
command runs, not when this module is, so that without them the command says which extra to
install (exit 2) instead of ending in an import's traceback.
"""

from __future__ import annotations

from collections.abc import Sequence

from legato.cli.exits import OK, USAGE, CommandError
from legato.cli.settings import load, mask
from legato.cli.stores import require_store
from legato.errors import InvalidNameError, ParameterError
from legato.model.registry import parse_model_ref
from legato.registry.registry import open_registry
from legato.serve.hosts import HostPolicy

__all__ = ["SERVE_EXTRA", "serve_command", "without_serve_extra"]

SERVE_EXTRA = ("fastapi", "uvicorn")


def without_serve_extra(exc: ModuleNotFoundError, command: str) -> CommandError:
    """The error of ``command`` (``legato serve``, ``legato ui``) when importing its web
    stack failed: which extra to install; ``exc`` itself again when what is missing is not
    part of the extra (a broken installation)."""
    missing = (exc.name or "").partition(".")[0]
    if missing not in SERVE_EXTRA:
        raise exc
    return CommandError(
        f"{command} needs the 'serve' extra (FastAPI and uvicorn), and {missing} is not "
        "installed: pip install 'legato[serve]'",
        USAGE,
    )


"""The packages ``pip install 'legato[serve]'`` adds (pyproject's ``serve`` extra)."""


def serve_command(
    ref: str,
    *,
    host: str,
    port: int,
    token: str | None,
    poll: float,
    max_body: int,
    profile: str | None,
    allowed_hosts: Sequence[str] = (),
) -> int:
    """Serve ``ref`` from the profile's registry until interrupted."""
    try:
        from legato.serve.server import serve, token_for  # noqa: PLC0415 (an optional extra)
    except ModuleNotFoundError as exc:
        raise without_serve_extra(exc, "legato serve") from None
    try:
        parse_model_ref(ref)  # before opening anything: a path-like name never gets further
        token_for(host, token)
        HostPolicy.of(allowed_hosts)
    except (InvalidNameError, ParameterError) as exc:
        raise CommandError(mask(str(exc)), USAGE) from None
    if poll < 0 or not 1 <= port <= 65535 or max_body < 1:
        raise CommandError("--poll must be >= 0, --port 1 to 65535, --max-body >= 1", USAGE)
    settings = load(profile)
    require_store(settings, f"model {ref!r}")
    registry = open_registry(settings.profile)

    def ready(line: str) -> None:
        print(line, flush=True)

    try:
        serve(
            registry,
            ref,
            host=host,
            port=port,
            token=token,
            poll=poll,
            max_body=max_body,
            ready=ready,
            allowed_hosts=allowed_hosts,
        )
    finally:
        registry.close()
    return OK
