"""Serving a registered model over HTTP: ``legato serve digits@production``.

- :mod:`~legato.serve.inputs` reads a prediction request (rows or columns of JSON), checks
  it against the version's recorded signature and converts it to what ``predict`` takes:
  ``model_input``, the one path the server and the in-process ``SmokeTest`` share (pure: no
  web framework).
- :mod:`~legato.serve.answers` writes an answer as JSON any client reads (pure).
- :mod:`~legato.serve.holder` holds the model being served and swaps it atomically; its
  :class:`~legato.serve.holder.Follower` polls the registry and loads a new version of the
  alias in the background; its :class:`~legato.serve.holder.Candidate` holds a version
  tried before the alias names it.
- :mod:`~legato.serve.hosts` decides which ``Host`` a request may name (loopback names and
  the allowed hosts: no DNS rebinding) and refuses the others before any route runs (pure
  ASGI: no web framework).
- :mod:`~legato.serve.app`: ``create_app(registry, ref, ...)``, the FastAPI app
  (``POST /predict``, ``POST /versions/{n}/predict``, ``GET /health``, ``GET /metadata``).
- :mod:`~legato.serve.server`: ``serve(...)`` binds the address, then runs the app with
  uvicorn, bound to 127.0.0.1 unless told otherwise, and refuses a non-loopback address
  without a token.

FastAPI and uvicorn (``legato[serve]``) are imported by ``app`` and ``server`` only.
"""

from __future__ import annotations

__all__: list[str] = []
