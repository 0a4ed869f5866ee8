"""The ``legato`` command line (``legato run file.py:pipeline -p name=value``, ``legato runs``,
``legato logs``...). The top layer: it drives the engine and reads the stores, and nothing in
legato imports it. Importing it loads typer, not the engine: commands import what they use.
"""

from __future__ import annotations

from legato.cli.app import app, main

__all__ = ["app", "main"]
