"""``legato graph TARGET``: a pipeline's graph as text, Mermaid, DOT or SVG."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from legato.cli.exits import FAILED, OK, CommandError
from legato.cli.output_files import cannot_write
from legato.cli.running import load_target

__all__ = ["FORMATS", "graph_command"]

FORMATS = ("text", "mermaid", "dot", "svg")


def graph_command(target: str, *, format: str, output: str | None) -> int:
    """Render the graph of ``target`` to ``output`` (default: standard output)."""
    graph = load_target(target).graph
    if format == "text":
        rendered = graph.render_text()
    elif format == "mermaid":
        rendered = graph.to_mermaid()
    elif format == "dot":
        rendered = graph.to_dot()
    else:
        rendered = _svg(graph.to_dot())
    if not rendered.endswith("\n"):
        rendered += "\n"
    if output is None or output == "-":
        sys.stdout.write(rendered)
        sys.stdout.flush()
    else:
        try:
            Path(output).write_text(rendered, encoding="utf-8")
        except OSError as exc:
            raise cannot_write(output, exc) from None
    return OK


def _svg(dot: str) -> str:
    """SVG drawn by Graphviz's ``dot`` program."""
    program = shutil.which("dot")
    if program is None:
        raise CommandError(
            "--format svg needs Graphviz's `dot` program, which is not on PATH: install "
            "Graphviz (apt install graphviz, brew install graphviz, conda install graphviz), "
            "or use --format dot (for Graphviz elsewhere) or --format mermaid (GitHub, "
            "GitLab and Markdown editors draw it)",
            FAILED,
        )
    done = subprocess.run(
        [program, "-Tsvg"], input=dot, capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise CommandError(f"Graphviz's dot failed: {done.stderr.strip()}", FAILED)
    return done.stdout
