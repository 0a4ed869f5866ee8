"""The parts of ``legato runs show`` past the run's facts and its task table: what its tasks
tracked, what the pipeline returned, and the error of every attempt that failed."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from legato.cli.attempts import Attempt
from legato.cli.formats import number
from legato.cli.preview import Described, Loaded, look, short_repr
from legato.cli.settings import mask
from legato.cli.summary import ROW_LIMIT, in_display_order
from legato.engine.tracked import LoggedArtifact, RunSummary, Series
from legato.model.artifacts import ArtifactRef, items_of_ref
from legato.model.codec import artifact_from_dict
from legato.model.records import TaskRecord
from legato.model.runs import RunInfo
from legato.model.skips import skip_cause
from legato.model.states import TaskState
from legato.store.base import ArtifactStore, RunStore

__all__ = ["ITEM_LIMIT", "output_text", "print_attempt_errors", "tracked_table"]

ITEM_LIMIT = 12
"""Items of a map's output shown before the rest are counted."""

Seen = Loaded | Described | list["Seen"]
"""A task output as a preview shows it: a value, what it is, or (a map, a list stored
item by item) its items'."""


_KINDS = ("param", "metric", "tag", "artifact")


def tracked_table(
    summary: RunSummary, artifacts: ArtifactStore, order: list[str], *, counted: bool = True
) -> Table:
    """A row per parameter, metric (final value, at which step, the series' range), tag and
    logged artifact (a preview, and where it is), tasks in ``order``; past
    :data:`~legato.cli.summary.ROW_LIMIT` rows the rest are counted. ``counted``: the
    series hold every point, and how many values each has is said (not of a summary read
    with ``extremes``, whose series hold their ends only)."""
    table = Table(
        title="tracked",
        title_justify="left",
        box=None,
        pad_edge=False,
        header_style="bold",
        show_edge=False,
    )
    for name in ("task", "kind", "name", "value", ""):
        table.add_column(name)
    found: list[tuple[str, str, str, Any]] = [
        *((key, "param", name, value) for (key, name), value in summary.params.items()),
        *((key, "metric", name, series) for (key, name), series in summary.series.items()),
        *((key, "tag", name, tag) for (key, name), tag in summary.tags.items()),
        *((key, "artifact", name, a) for (key, name), a in summary.artifacts.items()),
    ]
    rank = {key: i for i, key in enumerate(order)}
    found.sort(key=lambda row: (rank.get(row[0], len(rank)), row[0], _KINDS.index(row[1]), row[2]))
    for key, kind, name, payload in found[:ROW_LIMIT]:
        value, detail = _cells(kind, payload, artifacts, counted)
        # Text, not markup: an item key in brackets ([linear]) is no style tag.
        table.add_row(
            Text(key), kind, Text(mask(name)), Text(mask(value)), Text(mask(detail), style="dim")
        )
    if len(found) > ROW_LIMIT:
        table.add_row("…", "", "", f"and {len(found) - ROW_LIMIT} more", "")
    for key, source in summary.borrowed.items():
        note = Text(f"a cache hit: the values of run {source}", style="dim")
        table.add_row(Text(key), "", "", note, "")
    return table


def _cells(kind: str, payload: Any, artifacts: ArtifactStore, counted: bool) -> tuple[str, str]:
    """The value and detail cells of a tracked value of ``kind``."""
    if kind == "metric":
        series: Series = payload
        detail = f"step {series.last.step}"
        if len(series.points) > 1:
            values = f" · {len(series.points)} values" if counted else ""
            detail += f"{values} · min {number(series.minimum)} · max {number(series.maximum)}"
        return number(series.last.value), detail
    if kind == "artifact":
        logged: LoggedArtifact = payload
        seen = look(artifacts, logged.ref)
        shown = short_repr(seen.value) if isinstance(seen, Loaded) else seen.text
        where = logged.ref.location or "inline"
        return shown, f"{logged.filename} · {where}" if logged.filename else where
    if kind == "param":
        return short_repr(payload), ""
    return str(payload), ""


def output_text(
    output: Mapping[str, Any],
    store: RunStore,
    info: RunInfo,
    artifacts: ArtifactStore,
) -> str:
    """The pipeline's return value as its description (``RunStarted.output``) says it is
    made: task outputs as previews (values of JSON outputs, what the others are), run
    parameters and literals. Reads the tasks it names, and of a map the items it shows: a
    run of a million tasks costs what its output is."""
    return _OutputView(_Records(store, info.run_id), info.params, artifacts).render(output)


class _Records(Mapping[str, TaskRecord]):
    """A run's task records, each read from the store when first asked for (what a skipped
    task's cause walks up through, and the tasks an output names)."""

    def __init__(self, store: RunStore, run_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self._read: dict[str, TaskRecord | None] = {}

    def __getitem__(self, key: str) -> TaskRecord:
        if key not in self._read:
            found = self.store.task_records(self.run_id, keys=[key])
            self._read[key] = found[0] if found else None
        record = self._read[key]
        if record is None:
            raise KeyError(key)
        return record

    def __iter__(self) -> Iterator[str]:
        return iter(k for k, r in self._read.items() if r is not None)

    def __len__(self) -> int:
        return sum(1 for r in self._read.values() if r is not None)


@dataclass(frozen=True, slots=True)
class _Items:
    """A map's output: how many items, the first :data:`ITEM_LIMIT` of them previewed, and
    how to preview any other."""

    total: int
    head: list[Seen]
    item: Callable[[int], Seen]


class _OutputView:
    def __init__(
        self, records: _Records, params: Mapping[str, Any], artifacts: ArtifactStore
    ) -> None:
        self.records = records
        self.params = params
        self.artifacts = artifacts

    def render(self, node: Mapping[str, Any]) -> str:
        if "task" in node:
            return self._task(node["task"], node.get("path", []))
        if "param" in node:
            name = node["param"]
            return short_repr(self.params[name]) if name in self.params else f"<param {name}>"
        if "literal" in node:
            return str(node["literal"])
        if "list" in node:
            return "[" + ", ".join(self.render(n) for n in node["list"]) + "]"
        if "tuple" in node:
            items = [self.render(n) for n in node["tuple"]]
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        if "dict" in node:
            return "{" + ", ".join(f"{k}: {self.render(n)}" for k, n in node["dict"]) + "}"
        return "<?>"

    def _task(self, key: str, path: list[Any]) -> str:
        seen = self._seen(key)
        label = key
        for step in path:
            seen, label = _index(seen, step, label)
        return _shown(seen, label)

    def _seen(self, key: str) -> Seen | _Items | str:
        record = self.records.get(key)
        if record is None:
            return "not in this run"
        if record.mapped:
            store, run_id = self.records.store, self.records.run_id
            page = store.map_items(run_id, key, limit=ITEM_LIMIT)

            def item(index: int) -> Seen:
                (found,) = store.map_items(run_id, key, offset=index, limit=1).items
                return self._stored(found.output, found)

            head = [self._stored(r.output, r) for r in page.items]
            return _Items(total=page.total, head=head, item=item)
        return self._stored(record.output, record)

    def _stored(self, ref: ArtifactRef | None, record: TaskRecord) -> Seen:
        if ref is None and record.state is TaskState.SKIPPED:
            return Described(f"skipped, {skip_cause(record.key, self.records).describe()}")
        if ref is None:
            return Described(f"no output, {record.state.value}")
        if items_of_ref(ref) is None:
            return look(self.artifacts, ref)
        manifest = look(self.artifacts, ref)
        if not isinstance(manifest, Loaded):
            return manifest
        return [look(self.artifacts, artifact_from_dict(d)) for d in manifest.value]


def _index(seen: Seen | _Items | str, step: Any, label: str) -> tuple[Seen | _Items | str, str]:
    """Item ``step`` of a previewed output, where it can be taken without loading."""
    label = f"{label}[{step!r}]" if not isinstance(step, dict) else f"{label}[{step['repr']}]"
    if isinstance(seen, _Items) and isinstance(step, int) and -seen.total <= step < seen.total:
        index = step % seen.total
        return (seen.head[index] if index < len(seen.head) else seen.item(index)), label
    if isinstance(seen, list) and isinstance(step, int) and -len(seen) <= step < len(seen):
        return seen[step], label
    if isinstance(seen, Loaded) and not isinstance(step, dict):
        try:
            return Loaded(seen.value[step]), label
        except (IndexError, KeyError, TypeError):
            return "no such item", label
    return seen, label


def _shown(seen: Seen | _Items | str, label: str) -> str:
    if isinstance(seen, str):
        return f"<{label}: {seen}>"
    if isinstance(seen, Loaded):
        return short_repr(seen.value)
    if isinstance(seen, Described):
        return f"<{label}: {seen.text}>"
    head, total = (seen.head, seen.total) if isinstance(seen, _Items) else (seen, len(seen))
    items = [_shown(s, f"{label}[{i}]") for i, s in enumerate(head[:ITEM_LIMIT])]
    if total > ITEM_LIMIT:
        items.append(f"… {total - ITEM_LIMIT} more")
    return "[" + ", ".join(items) + "]"


def print_attempt_errors(
    out: Console, attempts: Mapping[tuple[str, int], Attempt], records: Iterable[TaskRecord]
) -> None:
    """The error of every attempt that failed or timed out, retried or not, tasks in plan
    order: the traceback where there is one."""
    by_key: dict[str, list[Attempt]] = {}
    for attempt in attempts.values():
        by_key.setdefault(attempt.key, []).append(attempt)
    for record in in_display_order(records):
        for attempt in sorted(by_key.get(record.key, ()), key=lambda a: a.attempt):
            if not attempt.ended_badly:
                continue
            error = attempt.error
            if record.mapped and error is not None and error.type_name == "legato.MapItemsFailed":
                continue  # its items' errors are shown
            out.print()
            header = f"{attempt.key} · attempt {attempt.attempt} · {attempt.outcome}:"
            out.print(Text(header, style="red"), soft_wrap=True)
            text = attempt.reason
            if error is not None:
                text = error.traceback or error.summary()
            out.print(Text(mask(text).rstrip()), soft_wrap=True)
