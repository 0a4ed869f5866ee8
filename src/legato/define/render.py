# ruff: noqa: RUF001, RUF002 - the multiplication sign in labels is on purpose
"""Drawings of a pipeline graph: plain text for terminals, Mermaid and Graphviz DOT, and
the bundle a notebook displays."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Container
from typing import TYPE_CHECKING

from legato.model.counts import TaskCount

if TYPE_CHECKING:
    from legato.define.graph import Graph, Node

__all__ = [
    "mimebundle",
    "render_dot",
    "render_mermaid",
    "render_svg",
    "render_text",
    "task_count",
]


_KEYS_SHOWN = 48
"""The longest list of item keys drawn in a map's label; a longer one is drawn as a count."""


def _label(node: Node) -> str:
    """``train``; a map: ``train[×4]`` (``×?`` when its size is known only at run time), or
    its item keys when they are known and short: ``train[linear, forest]``."""
    if node.mapped is None:
        return node.key
    keys = node.mapped.keys.known if node.mapped.keys is not None else None
    if keys is not None and len(", ".join(keys)) <= _KEYS_SHOWN:
        return f"{node.key}[{', '.join(keys)}]"
    count = "?" if node.mapped.size is None else str(node.mapped.size)
    return f"{node.key}[×{count}]"


def task_count(graph: Graph) -> TaskCount:
    """How many tasks ``graph`` has, each map counted as its items (see
    :class:`~legato.model.counts.TaskCount`)."""
    return TaskCount.of(
        (node.mapped is not None, node.mapped.size if node.mapped is not None else None)
        for node in graph.nodes.values()
    )


def _inputs(node: Node) -> list[str]:
    """What a task waits for: what it reads, then parameters, then ``after x`` for what it
    only waits for (``after=``, a branch's decision, what a finally block follows)."""
    waits = node.waits
    reads = [up for up in node.upstream if up not in waits]
    return [*reads, *(f"param {p}" for p in node.params), *(f"after {w}" for w in waits)]


def render_text(graph: Graph) -> str:
    """One line per task, in run order, with what it reads::

    pipeline digits: 7 tasks (4 map items), parameters: test_size=0.2
      load
      split            <- load, param test_size
      train[×4]        <- split
      best             <- train
      publish          <- best, after write_table

    (``after X``: an order-only edge, the task runs after ``X`` without reading it.)
    """
    params = ", ".join(p.name if p.required else f"{p.name}={p.default!r}" for p in graph.params)
    head = f"pipeline {graph.pipeline}: {task_count(graph)}"
    lines = [f"{head}, parameters: {params}" if params else head]
    labels = [_label(node) for node in graph.nodes.values()]
    width = max((len(label) for label in labels), default=0) + 2
    for label, node in zip(labels, graph.nodes.values(), strict=True):
        inputs = _inputs(node)
        lines.append(f"  {label:<{width}}<- {', '.join(inputs)}" if inputs else f"  {label}")
    return "\n".join(lines)


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;")


def render_mermaid(graph: Graph) -> str:
    """A Mermaid flowchart; mapped tasks are drawn as subroutine boxes, the tasks deciding
    ``legato.when`` branches as diamonds, ``legato.one_of`` joins as stadiums, and wait-only
    edges (``after=``, a branch's decision, what a finally block follows) dashed and
    labelled ``after``."""
    ids = {key: f"n{i}" for i, key in enumerate(graph.nodes)}
    lines = ["flowchart TD"]
    for p in graph.params:
        lines.append(f'  p_{p.name}(["{_mermaid_text(p.name)}"])')
    for key, node in graph.nodes.items():
        label = _mermaid_text(_label(node))
        shape = f'[["{label}"]]' if node.mapped is not None else f'["{label}"]'
        if node.role == "branch":
            shape = f'{{"{label}"}}'
        elif node.role == "join":
            shape = f'(["{label}"])'
        lines.append(f"  {ids[key]}{shape}")
    for key, node in graph.nodes.items():
        waits = node.waits
        for up in node.upstream:
            arrow = "-. after .->" if up in waits else "-->"
            lines.append(f"  {ids[up]} {arrow} {ids[key]}")
        for name in node.params:
            lines.append(f"  p_{name} -.-> {ids[key]}")
    return "\n".join(lines)


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def render_dot(graph: Graph) -> str:
    """A Graphviz digraph; mapped tasks are drawn with a double border, branch decisions
    as diamonds, joins as ovals, wait-only edges dashed and labelled ``after``."""
    lines = [f'digraph "{_dot_text(graph.pipeline)}" {{', "  rankdir=TB;", "  node [shape=box];"]
    for key, node in graph.nodes.items():
        extra = ", peripheries=2" if node.mapped is not None else ""
        if node.role == "branch":
            extra += ", shape=diamond"
        elif node.role == "join":
            extra += ", shape=oval"
        lines.append(f'  "{_dot_text(key)}" [label="{_dot_text(_label(node))}"{extra}];')
    for key, node in graph.nodes.items():
        waits = node.waits
        for up in node.upstream:
            style = ' [style=dashed, label="after"]' if up in waits else ""
            lines.append(f'  "{_dot_text(up)}" -> "{_dot_text(key)}"{style};')
    lines.append("}")
    return "\n".join(lines)


def render_svg(graph: Graph, *, timeout: float = 10.0) -> str | None:
    """The graph as an SVG drawn by Graphviz, or None when ``dot`` is not on ``PATH`` (or
    fails): Graphviz is used when present, never required."""
    dot = shutil.which("dot")
    if dot is None:
        return None
    try:
        done = subprocess.run(
            [dot, "-Tsvg"],
            input=render_dot(graph),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    start = done.stdout.find("<svg")
    if done.returncode != 0 or start < 0:
        return None
    return done.stdout[start:].rstrip()  # no XML declaration or DOCTYPE: it goes into HTML


def mimebundle(
    graph: Graph,
    *,
    title: str = "",
    include: Container[str] | None = None,
    exclude: Container[str] | None = None,
) -> dict[str, str]:
    """What a notebook shows for a graph: a Mermaid drawing (JupyterLab and Notebook 7 draw
    ``text/markdown`` fences and ``text/vnd.mermaid``), an SVG when Graphviz is installed,
    and the text drawing everywhere else. ``title`` is Markdown put above the drawing.

    There is no HTML form without Graphviz: frontends prefer ``text/html`` to Markdown, and
    an HTML page of Mermaid source shows as text unless the page loads mermaid.js itself.
    """
    mermaid = render_mermaid(graph)
    fence = f"```mermaid\n{mermaid}\n```"
    bundle = {
        "text/plain": render_text(graph),
        "text/markdown": f"{title}\n\n{fence}" if title else fence,
        "text/vnd.mermaid": mermaid,
    }
    wanted = [
        kind
        for kind in ("image/svg+xml", "text/html")
        if (include is None or kind in include) and (exclude is None or kind not in exclude)
    ]
    svg = render_svg(graph) if wanted else None
    if svg is not None:
        bundle["image/svg+xml"] = svg
        bundle["text/html"] = f'<div class="legato-graph">{svg}</div>'
    return {
        kind: value
        for kind, value in bundle.items()
        if (include is None or kind in include) and (exclude is None or kind not in exclude)
    }
