"""How a run shows in Jupyter: ``RunResult._repr_mimebundle_``, called directly on real
runs."""

from __future__ import annotations

from html.parser import HTMLParser

import notebook_pipelines as nb

import legato
from legato.engine.result import RunResult


class Table(HTMLParser):
    """Parses the HTML, checking that every element is closed in order; keeps the headline,
    the header cells and the text of each body row's cells."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.tags: set[str] = set()
        self.headline = ""
        self.header: list[str] = []
        self.rows: list[list[str]] = []
        self.feed(text)
        self.close()
        assert not self.open, f"unclosed: {self.open}"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.open.append(tag)
        if tag == "tr" and "tbody" in self.open:
            self.rows.append([])
        elif tag == "td":
            self.rows[-1].append("")

    def handle_endtag(self, tag: str) -> None:
        assert self.open, f"</{tag}> closes nothing"
        assert self.open[-1] == tag, f"</{tag}> closes {self.open}"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        where = self.open[-1] if self.open else ""
        if where == "p":
            self.headline += data
        elif where == "th":
            self.header.append(data)
        elif "td" in self.open:
            self.rows[-1][-1] += data


def _by_key(table: Table) -> dict[str, dict[str, str]]:
    return {row[0]: dict(zip(table.header, row, strict=True)) for row in table.rows}


def test_a_failed_run_shows_every_task_with_its_error_escaped() -> None:
    result = legato.run(nb.squares, params={"fail_on": 2})
    assert not result.ok
    html = result._repr_mimebundle_()["text/html"]
    assert "<script>" not in html
    assert "&lt;script&gt;" in html

    table = Table(html)
    assert table.tags == {"div", "p", "table", "thead", "tbody", "tr", "th", "td", "code"}
    assert table.header == ["task", "state", "attempts", "duration", "cache", "detail"]
    rows = _by_key(table)
    # each mapped task is followed by its items
    assert list(rows) == [
        "load",
        "square",
        "square[0]",
        "square[1]",
        "square[2]",
        "square[3]",
        "total",
    ]
    assert rows["square[2]"]["state"] == "failed"
    assert rows["square[2]"]["attempts"] == "1"
    assert rows["square[2]"]["detail"] == "ValueError: <script>alert('pwned')</script> & friends"
    assert rows["square"]["detail"] == "1 of 4 items failed"
    assert rows["total"]["state"] == "upstream_failed"
    assert rows["total"]["attempts"] == ""  # it never ran
    assert rows["load"]["cache"] == "miss, no earlier result"
    assert rows["load"]["duration"].endswith("s")
    assert table.headline.startswith(f"run {result.run_id} of pipeline squares: failed in ")
    assert "6 tasks (4 map items), 0 reused from earlier runs" in table.headline


def test_a_rerun_shows_where_each_result_came_from() -> None:
    first = legato.run(nb.squares).raise_for_status()
    second = legato.run(nb.squares).raise_for_status()
    rows = _by_key(Table(second._repr_html_()))
    items = [key for key in rows if key != "square"]
    assert {rows[key]["cache"] for key in items} == {f"hit from run {first.run_id}"}
    assert {rows[key]["attempts"] for key in items} == {""}
    assert rows["square"]["detail"] == "4 items"
    headline = Table(second._repr_html_()).headline
    assert "6 tasks (4 map items), 6 reused from earlier runs" in headline


def test_the_text_form_is_the_same_table() -> None:
    result = legato.run(nb.squares, params={"fail_on": 2}, store=False)
    bundle = result._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    lines = bundle["text/plain"].splitlines()
    assert lines[0] == Table(bundle["text/html"]).headline
    assert lines[1].split() == ["task", "state", "attempts", "duration", "cache", "detail"]
    assert [line.split()[0] for line in lines[2:]] == list(_by_key(Table(bundle["text/html"])))
    assert lines[6].split()[:3] == ["square[2]", "failed", "1"]
    assert lines[6].endswith("ValueError: <script>alert('pwned')</script> & friends")


def test_include_and_exclude() -> None:
    result: RunResult = legato.run(nb.squares, store=False)
    assert set(result._repr_mimebundle_(include={"text/html"})) == {"text/html"}
    assert set(result._repr_mimebundle_(exclude={"text/html"})) == {"text/plain"}
