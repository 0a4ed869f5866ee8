"""How a pipeline and its graph show in Jupyter: ``_repr_mimebundle_``, called directly."""

from __future__ import annotations

import os
import shutil
import stat
from html.parser import HTMLParser
from pathlib import Path

import notebook_pipelines as nb
import pytest

from legato.define.render import render_svg

SVG = '<svg width="10" height="10"><text>drawn by dot &amp; co</text></svg>'


def _fake_dot(folder: Path, script: str) -> None:
    """A ``dot`` program on PATH (Graphviz is an outside program: this stands in for it)."""
    folder.mkdir(exist_ok=True)
    path = folder / "dot"
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def no_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))


@pytest.fixture
def fake_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "bin"
    _fake_dot(
        folder,
        f"cat > {folder}/input.dot\n"
        f"printf '%s\\n' '<?xml version=\"1.0\"?>' '<!DOCTYPE svg>' '{SVG}'",
    )
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return folder


class Elements(HTMLParser):
    """Parses HTML, checking that every element is closed in order; collects tag names."""

    VOID = frozenset({"br", "hr", "img", "meta", "link", "input"})

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []
        self.feed(text)
        self.close()
        assert not self.open, f"unclosed: {self.open}"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open, f"</{tag}> closes nothing"
        assert self.open[-1] == tag, f"</{tag}> closes {self.open}"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.mark.usefixtures("no_dot")
def test_without_graphviz_a_pipeline_shows_as_mermaid_with_a_text_fallback() -> None:
    bundle = nb.squares._repr_mimebundle_()
    graph = nb.squares.graph
    assert set(bundle) == {"text/plain", "text/markdown", "text/vnd.mermaid"}
    assert bundle["text/plain"] == graph.render_text()
    assert bundle["text/vnd.mermaid"] == graph.to_mermaid()
    title, fence = bundle["text/markdown"].split("\n\n", 1)
    assert title == "pipeline **squares**: Sum of squares."
    assert fence == f"```mermaid\n{graph.to_mermaid()}\n```"
    assert graph._repr_mimebundle_() == {
        **bundle,
        "text/markdown": fence,  # a graph alone has no title
    }


@pytest.mark.usefixtures("no_dot")
def test_markup_in_a_docstring_is_escaped_in_the_title() -> None:
    title = nb.marked_up._repr_mimebundle_()["text/markdown"].split("\n\n", 1)[0]
    assert "<script>" not in title
    assert "&lt;script&gt;alert(&quot;docstring&quot;)&lt;/script&gt;" in title
    assert title.endswith("**bold** &amp; co.")


def test_with_graphviz_the_graph_is_also_an_svg(fake_dot: Path) -> None:
    bundle = nb.squares._repr_mimebundle_()
    assert bundle["image/svg+xml"] == SVG  # without the XML declaration and DOCTYPE
    html = Elements(bundle["text/html"])
    assert html.tags == ["div", "svg", "text"]
    assert (fake_dot / "input.dot").read_text() == nb.squares.graph.to_dot()
    assert "text/vnd.mermaid" in bundle  # frontends that prefer it still have it


def test_include_and_exclude_pick_formats_and_skip_graphviz(fake_dot: Path) -> None:
    assert set(nb.squares._repr_mimebundle_(include={"text/plain"})) == {"text/plain"}
    (fake_dot / "input.dot").unlink(missing_ok=True)
    bundle = nb.squares._repr_mimebundle_(exclude={"text/html", "image/svg+xml"})
    assert set(bundle) == {"text/plain", "text/markdown", "text/vnd.mermaid"}
    assert not (fake_dot / "input.dot").exists()  # dot was not even run


@pytest.mark.parametrize(
    "script",
    ["exit 1", "echo 'not an svg'", "exec sleep 5"],
    ids=["fails", "prints-no-svg", "hangs"],
)
def test_a_broken_graphviz_falls_back_to_mermaid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str
) -> None:
    _fake_dot(tmp_path / "bin", script)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    assert render_svg(nb.squares.graph, timeout=0.5) is None
    if "sleep" not in script:
        assert "text/html" not in nb.squares._repr_mimebundle_()


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz (dot) is not installed")
def test_real_graphviz_draws_every_task() -> None:
    svg = render_svg(nb.squares.graph)
    assert svg is not None
    assert svg.startswith("<svg")
    Elements(svg)
    for key in nb.squares.graph.nodes:
        assert key in svg


def test_a_pipeline_that_does_not_trace_shows_its_error() -> None:
    bundle = nb.broken._repr_mimebundle_()
    assert set(bundle) == {"text/plain"}
    assert bundle["text/plain"].startswith("<pipeline broken> cannot be traced: ")
    assert "len()" in bundle["text/plain"]
