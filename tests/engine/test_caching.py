"""End-to-end caching: the mutation suite.

Code fingerprints describe the code a process has *imported*, so every code mutation runs in a
fresh process: each test copies the fixture package ``tests/resources/cache_app`` to a
temporary folder, runs its pipeline there with ``python -m cache_app`` (all runs share the
test's ``LEGATO_HOME``), edits one thing and runs it again. Tasks note each execution in a
ledger file; the test asserts exactly which tasks executed and the reason each task's stored
record gives (``cache: hit from run X``, ``cache: miss, code changed``...). Mutations that do
not touch code (data files, parameters, run options) run as several steps of one process.
Cache options that need no code edit (``cache=False``, expiry, key functions) run in the test
process with a fake clock.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import legato
from conftest import RESOURCES
from legato.model.records import TaskRecord
from legato.model.states import TaskState
from legato.store.base import RunStore
from legato.store.open import open_run_store
from legato.testing import FakeClock

FIXTURE = RESOURCES / "cache_app"
LEDGER = "CACHE_APP_LEDGER"

NEW = "cache: miss, no earlier result"
CODE = "cache: miss, code changed"
INPUTS = "cache: miss, inputs changed"
PARAMS = "cache: miss, parameters changed"
VERSION = "cache: miss, cache version changed"
EXPIRED = "cache: miss, earlier result expired"
CUSTOM = "cache: miss, custom key changed"
REFRESH = "cache: refresh requested"
OFF_RUN = "cache: off for this run"
OFF_TASK = "cache: off for this task"

REPORT_TASKS = (
    "load",
    "clean",
    "stats",
    "scaled",
    "combine",
    "square[0]",
    "square[1]",
    "square[2]",
    "summarise",
    "read_vocab",
    "count_notes",
    "make_label",
)
"""Every task (and map item) of ``cache_app.pipelines.report`` that executes."""

DATA = "1.5\n4\n-2\n7.25\n"


def step(**options: Any) -> dict[str, Any]:
    """One run of the runner: ``params`` and optional ``cache``, ``refresh``, ``executor``,
    ``write`` ({file: text}) and ``remove`` ([file])."""
    return options


@dataclass
class Run:
    run_id: str
    state: str
    output: Any
    executed: list[str]
    """Task keys in the order the ledger noted them (one line per execution)."""
    records: dict[str, TaskRecord]


def read_ledger(path: Path) -> dict[str, list[str]]:
    by_run: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        run_id, key = line.split()
        by_run.setdefault(run_id, []).append(key)
    return by_run


class Tracker:
    """Checks runs against what should have executed, and remembers which run last executed
    each task: a cache hit reuses the newest stored result with an equal key."""

    def __init__(self, store: RunStore, ledger: Path) -> None:
        self.store = store
        self.ledger = ledger
        self.last: dict[str, str] = {}
        """Task key → the run that last executed it."""

    def records(self, run_id: str) -> dict[str, TaskRecord]:
        return {r.key: r for r in self.store.task_records(run_id) if not r.mapped}

    def check(
        self,
        run: Run,
        ran: Mapping[str, str],
        *,
        tasks: tuple[str, ...] = REPORT_TASKS,
    ) -> None:
        """``ran``: every task that must have executed, with its recorded reason; all other
        ``tasks`` must be hits of the run that last executed them."""
        assert run.state == "succeeded", run
        assert sorted(run.executed) == sorted(ran), f"executed {run.executed}, expected {ran}"
        assert set(run.records) == set(tasks)
        reasons = {key: (r.reason, r.cache_hit) for key, r in run.records.items()}
        expected = {
            key: (ran[key], None)
            if key in ran
            else (f"cache: hit from run {self.last[key]}", self.last[key])
            for key in tasks
        }
        assert reasons == expected
        assert all(r.state is TaskState.SUCCEEDED for r in run.records.values())
        for key in ran:
            self.last[key] = run.run_id


class App:
    """A copy of the fixture package in a temporary folder, with its data files, run by
    ``python -m cache_app`` in fresh processes that share the test's ``LEGATO_HOME``."""

    def __init__(self, root: Path, home: Path) -> None:
        self.root = root
        shutil.copytree(FIXTURE, root / "cache_app", ignore=shutil.ignore_patterns("__pycache__"))
        (root / "data.txt").write_text(DATA)
        (root / "notes").mkdir()
        (root / "notes" / "a.md").write_text("first note\n")
        (root / "notes" / "b.md").write_text("second note\n")
        self.ledger = root / "ledger.txt"
        self.ledger.touch()
        self.env = {
            **os.environ,
            LEDGER: str(self.ledger),
            "LEGATO_HOME": str(home),
            # No .pyc files: an edit of the same size within the same second would otherwise
            # let the next process import the old bytecode.
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        self.store = open_run_store(str(home / "legato.db"))
        self.tracker = Tracker(self.store, self.ledger)
        self.params: dict[str, Any] = {
            "data": str(root / "data.txt"),
            "notes": str(root / "notes"),
        }

    def edit(self, file: str, old: str, new: str) -> None:
        """Replace ``old`` (which must occur exactly once) in a file of the package."""
        path = self.root / "cache_app" / file
        text = path.read_text()
        assert text.count(old) == 1, f"{old!r} must occur exactly once in {file}"
        path.write_text(text.replace(old, new))

    def run(self, *steps: dict[str, Any]) -> list[Run]:
        """Run ``steps`` (default: one run with the current parameters) in one new process."""
        steps = steps or (step(params=self.params),)
        done = subprocess.run(
            [sys.executable, "-m", "cache_app", json.dumps(list(steps))],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        ledger = read_ledger(self.ledger)
        runs = []
        for line in done.stdout.splitlines():
            info = json.loads(line)
            run_id = info["run_id"]
            runs.append(
                Run(
                    run_id=run_id,
                    state=info["state"],
                    output=info["output"],
                    executed=ledger.get(run_id, []),
                    records=self.tracker.records(run_id),
                )
            )
        assert len(runs) == len(steps)
        return runs

    def check(self, run: Run, ran: Mapping[str, str]) -> None:
        self.tracker.check(run, ran)


@pytest.fixture
def app(tmp_path: Path, legato_home: Path) -> Iterator[App]:
    made = App(tmp_path / "app", legato_home)
    yield made
    made.store.close()


def everything(reason: str) -> dict[str, str]:
    return dict.fromkeys(REPORT_TASKS, reason)


# ----------------------------------------------------------------------- the report pipeline


def test_first_run_misses_then_reruns_exactly_what_run_options_ask(app: App) -> None:
    (first,) = app.run()
    app.check(first, everything(NEW))
    assert first.output == {
        "merged": {"n": 4, "large": 2, "total": 21.5},
        "total": 14,
        "label": "vocab-4-2",
    }

    # A new process, nothing changed: every task is a hit of the first run.
    again, off, refreshed, some, after = app.run(
        step(params=app.params),
        step(params=app.params, cache=False),
        step(params=app.params, refresh=True),
        step(params=app.params, refresh=["scaled", "square"]),
        step(params=app.params),
    )
    app.check(again, {})
    assert {r.cache_hit for r in again.records.values()} == {first.run_id}
    assert again.output == first.output
    # Per run: cache=False runs everything (and stores the results all the same).
    app.check(off, everything(OFF_RUN))
    # refresh=True runs everything again.
    app.check(refreshed, everything(REFRESH))
    # refresh of named tasks runs exactly those (all items of a mapped one); what they feed
    # gets equal inputs and is a hit.
    app.check(some, dict.fromkeys(("scaled", "square[0]", "square[1]", "square[2]"), REFRESH))
    app.check(after, {})
    assert after.records["scaled"].cache_hit == some.run_id
    assert after.records["combine"].cache_hit == refreshed.run_id
    assert after.output == first.output


def test_code_mutations_rerun_exactly_the_affected_tasks(app: App) -> None:
    (first,) = app.run()
    app.check(first, everything(NEW))

    # A task's body.
    app.edit("tasks.py", "[v * factor for v in values]", "[v * factor + 1 for v in values]")
    (run,) = app.run()
    app.check(run, {"scaled": CODE, "combine": INPUTS})
    assert run.records["load"].reason == f"cache: hit from run {first.run_id}"

    # A helper two calls below the task that uses it (clean → parse_rows → to_number).
    app.edit("helpers.py", "return float(field)", "return abs(float(field))")
    (run,) = app.run()
    app.check(run, {"clean": CODE, "stats": INPUTS, "scaled": INPUTS, "combine": INPUTS})

    # A module constant one task reads.
    app.edit("constants.py", "THRESHOLD = 3.0", "THRESHOLD = 5.0")
    (run,) = app.run()
    app.check(run, {"stats": CODE, "combine": INPUTS})
    assert run.output["merged"] == {"n": 4, "large": 1, "total": 33.5}

    # New code, same output: the task runs, what reads its output is a hit.
    app.edit("tasks.py", "[v * factor + 1 for v in values]", "[factor * v + 1 for v in values]")
    (run,) = app.run()
    app.check(run, {"scaled": CODE})

    # A constant no task reads, and a comment: nothing runs.
    app.edit("constants.py", "UNUSED_LIMIT = 10", "UNUSED_LIMIT = 11")
    app.edit(
        "tasks.py", "    record()\n    return x * x", "    record()  # squared\n    return x * x"
    )
    (run,) = app.run()
    app.check(run, {})

    # The user's cache version.
    app.edit("tasks.py", 'CachePolicy(version="1")', 'CachePolicy(version="2")')
    (run,) = app.run()
    app.check(run, {"stats": VERSION})

    # A constant of the other branch.
    app.edit("constants.py", 'LABEL_PREFIX = "vocab"', 'LABEL_PREFIX = "words"')
    (run,) = app.run()
    app.check(run, {"make_label": CODE})
    assert run.output["label"] == "words-4-2"

    # One literal item of a map, in the pipeline body: only that item runs.
    app.edit("pipelines.py", "square.map([1, 2, 3])", "square.map([1, 5, 3])")
    (run,) = app.run()
    app.check(run, {"square[1]": PARAMS, "summarise": INPUTS})
    assert run.output["total"] == 35

    # One more item: only the new one runs.
    app.edit("pipelines.py", "square.map([1, 5, 3])", "square.map([1, 5, 3, 4])")
    (run,) = app.run()
    app.tracker.check(
        run, {"square[3]": NEW, "summarise": INPUTS}, tasks=(*REPORT_TASKS, "square[3]")
    )
    assert run.output["total"] == 51

    # The mapped task's body, same results: every item runs, the reduction is a hit.
    app.edit("tasks.py", "return x * x", "return x**2")
    (run,) = app.run()
    items = ("square[0]", "square[1]", "square[2]", "square[3]")
    app.tracker.check(run, dict.fromkeys(items, CODE), tasks=(*REPORT_TASKS, "square[3]"))


def test_input_mutations_rerun_exactly_the_affected_tasks(app: App) -> None:
    root = app.root
    params = dict(app.params)
    copy = str(root / "copy.txt")
    runs = app.run(
        step(params=params),
        # 1. The data file's content.
        step(params=params, write={"data.txt": "1.5\n4\n-2\n9\n"}),
        # 2. Its text, not its values: load and clean run, the rest is a hit.
        step(params=params, write={"data.txt": "1.50\n4.0\n-2\n9\n\n"}),
        # 3. Another file with the same content: a path counts by content, not name.
        step(params={**params, "data": copy}, write={"copy.txt": "1.50\n4.0\n-2\n9\n\n"}),
        # 4. A run parameter (in worker processes this time).
        step(params={**params, "data": copy, "factor": 3}, executor="processes"),
        # 5. A file given as a literal Path in the pipeline body.
        step(params={**params, "data": copy, "factor": 3}, write={"cache_app/vocab.txt": "x y"}),
        # 6. A folder input: a new file in it.
        step(params={**params, "data": copy, "factor": 3}, write={"notes/c.md": "third"}),
        # 7. A file in it edited, its count unchanged.
        step(params={**params, "data": copy, "factor": 3}, write={"notes/a.md": "edited"}),
        # 8. A file in a subfolder.
        step(params={**params, "data": copy, "factor": 3}, write={"notes/old/d.md": "old"}),
    )
    first, data, text, renamed, factor, vocab, added, edited, nested = runs
    app.check(first, everything(NEW))
    app.check(
        data,
        {"load": INPUTS, "clean": INPUTS, "stats": INPUTS, "scaled": INPUTS, "combine": INPUTS},
    )
    assert data.output["merged"] == {"n": 4, "large": 2, "total": 25.0}
    app.check(text, {"load": INPUTS, "clean": INPUTS})
    app.check(renamed, {})
    assert renamed.records["load"].cache_hit == text.run_id
    app.check(factor, {"scaled": PARAMS, "combine": INPUTS})
    assert factor.output["merged"]["total"] == 37.5
    app.check(vocab, {"read_vocab": INPUTS, "make_label": INPUTS})
    app.check(added, {"count_notes": INPUTS, "make_label": INPUTS})
    assert added.output["label"] == "vocab-2-3"
    app.check(edited, {"count_notes": INPUTS})
    app.check(nested, {"count_notes": INPUTS})
    assert nested.output == edited.output


# ------------------------------------------------------------- cache options, in this process


@pytest.fixture
def app_ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ledger.txt"
    path.touch()
    monkeypatch.setenv(LEDGER, str(path))
    return path


@pytest.fixture
def tracker(app_ledger: Path, legato_home: Path) -> Iterator[Tracker]:
    store = open_run_store(str(legato_home / "legato.db"))
    yield Tracker(store, app_ledger)
    store.close()


def run_here(tracker: Tracker, target: Any, params: Mapping[str, Any], clock: FakeClock) -> Run:
    clock.advance(1.0)  # runs are told apart by creation time
    result = legato.run(target, dict(params), executor="inline", clock=clock)
    return Run(
        run_id=result.run_id,
        state=result.record.state.value,
        output=result.output if result.ok else None,
        executed=read_ledger(tracker.ledger).get(result.run_id, []),
        records=tracker.records(result.run_id),
    )


POLICY_TASKS = (
    "fetch_latest",
    "after_fetch",
    "expiring",
    "keyed",
    "keyed_by_file",
    "size_of",
    "size_of_optional",
)


def test_cache_options_of_tasks(tracker: Tracker, tmp_path: Path) -> None:
    from cache_app.policies import policies

    src = tmp_path / "src.txt"
    src.write_text("hello")
    clock = FakeClock()
    params = {"name": "a", "noise": 1, "src": str(src)}

    def check(run: Run, ran: Mapping[str, str]) -> None:
        tracker.check(run, ran, tasks=POLICY_TASKS)

    first = run_here(tracker, policies, params, clock)
    check(first, {**dict.fromkeys(POLICY_TASKS, NEW), "fetch_latest": OFF_TASK})

    # cache=False: the task always runs; an equal output is a hit downstream.
    clock.advance(30)
    check(run_here(tracker, policies, params, clock), {"fetch_latest": OFF_TASK})

    # Past the expiry (60 s) of the first result. A key function that ignores ``noise``
    # keeps its hit when only ``noise`` changes.
    clock.advance(31)
    params["noise"] = 2
    run = run_here(tracker, policies, params, clock)
    check(run, {"fetch_latest": OFF_TASK, "expiring": EXPIRED})
    assert run.output["keyed"] == "a:1:5"  # the reused result

    # The result of that run is fresh again.
    clock.advance(30)
    check(run_here(tracker, policies, params, clock), {"fetch_latest": OFF_TASK})

    # The file's content: Path annotations (here the string "Path" and "Path | None") make a
    # str argument a file input; a key function sees the file's digest among the inputs, and
    # one that ignores the file keeps its hit.
    src.write_text("hello, world")
    run = run_here(tracker, policies, params, clock)
    check(
        run,
        {
            "fetch_latest": OFF_TASK,
            "keyed_by_file": CUSTOM,
            "size_of": INPUTS,
            "size_of_optional": INPUTS,
        },
    )
    assert run.output["size"] == run.output["optional"] == run.output["keyed_by_file"] == 12

    # What the key function reads.
    params["name"] = "b"
    run = run_here(tracker, policies, params, clock)
    check(run, {"fetch_latest": OFF_TASK, "keyed": CUSTOM})
    assert run.output["keyed"] == "b:2:12"


def test_paths_in_a_list_are_file_inputs(tracker: Tracker, tmp_path: Path) -> None:
    from cache_app.policies import listed, sizes_of

    clock = FakeClock()
    first, second = tmp_path / "first.txt", tmp_path / "second.txt"

    @legato.pipeline
    def literal_paths() -> list[int]:
        return sizes_of([first, second])

    # A list parameter annotated list[Path], and a literal list of Path objects.
    for target, params in ((listed, {"files": [str(first), str(second)]}), (literal_paths, {})):
        first.write_text(f"one {target.name}")
        second.write_text(f"two {target.name}")
        run = run_here(tracker, target, params, clock)
        tracker.check(run, {"sizes_of": NEW}, tasks=("sizes_of",))
        tracker.check(run_here(tracker, target, params, clock), {}, tasks=("sizes_of",))
        second.write_text("three")
        run = run_here(tracker, target, params, clock)
        tracker.check(run, {"sizes_of": INPUTS}, tasks=("sizes_of",))
        assert run.output[1] == 5


WRAPPED = ("optional", "old_optional", "annotated", "path_like", "listed_paths", "keyed_files")


def test_path_annotations_that_wrap_path(tracker: Tracker, tmp_path: Path) -> None:
    from cache_app.annotated import wrapped

    src = tmp_path / "src.txt"
    src.write_text("abc")
    clock = FakeClock()
    first = run_here(tracker, wrapped, {"src": str(src)}, clock)
    tracker.check(first, dict.fromkeys(WRAPPED, NEW), tasks=WRAPPED)
    tracker.check(run_here(tracker, wrapped, {"src": str(src)}, clock), {}, tasks=WRAPPED)
    src.write_text("abcdef")
    run = run_here(tracker, wrapped, {"src": str(src)}, clock)
    tracker.check(run, dict.fromkeys(WRAPPED, INPUTS), tasks=WRAPPED)
    assert set(run.output.values()) == {6}


def test_a_path_that_does_not_exist_yet_is_an_input_too(tracker: Tracker, tmp_path: Path) -> None:
    from cache_app.policies import size_if_present

    later = tmp_path / "later.txt"
    clock = FakeClock()

    @legato.pipeline
    def optional_file() -> int:
        return size_if_present(later)

    def check(ran: Mapping[str, str]) -> Run:
        run = run_here(tracker, optional_file, {}, clock)
        tracker.check(run, ran, tasks=("size_if_present",))
        return run

    first = check({"size_if_present": NEW})
    assert first.output == -1
    check({})
    later.write_text("here")
    assert check({"size_if_present": INPUTS}).output == 4
    # Gone again: the result of the first run, when it was missing too.
    later.unlink()
    run = run_here(tracker, optional_file, {}, clock)
    assert run.executed == []
    assert run.records["size_if_present"].cache_hit == first.run_id
    assert run.output == -1


def test_a_path_returned_by_a_task_counts_by_its_content(tracker: Tracker, tmp_path: Path) -> None:
    """An upstream task writes a file and returns its path: when it writes new content to the
    same path, what reads the file must run again although the returned value is equal."""
    from cache_app.policies import size_of, write_copy

    clock = FakeClock()

    @legato.pipeline
    def copied(text: str) -> int:
        return size_of(write_copy(tmp_path / "copy.txt", text))

    tasks = ("write_copy", "size_of")
    run = run_here(tracker, copied, {"text": "abc"}, clock)
    tracker.check(run, dict.fromkeys(tasks, NEW), tasks=tasks)
    run = run_here(tracker, copied, {"text": "abcdef"}, clock)
    tracker.check(
        run,
        {"write_copy": "cache: miss, inputs and parameters changed", "size_of": INPUTS},
        tasks=tasks,
    )
    assert run.output == 6


def test_refresh_names_one_task_or_is_refused(tracker: Tracker, tmp_path: Path) -> None:
    """``refresh="size_of"`` is the one task, not its letters; a name that is no task of the
    pipeline is a mistake, refused before the run exists."""
    from cache_app.policies import policies

    src = tmp_path / "src.txt"
    src.write_text("hello")
    clock = FakeClock()
    params = {"name": "a", "noise": 1, "src": str(src)}
    run_here(tracker, policies, params, clock)
    clock.advance(1)
    result = legato.run(policies, params, executor="inline", clock=clock, refresh="size_of")
    assert result.tasks["size_of"].reason == REFRESH
    assert result.tasks["size_of"].cache_hit is None
    runs = len(tracker.store.list_runs())
    with pytest.raises(legato.LegatoError, match="size_off"):
        legato.run(policies, params, executor="inline", clock=clock, refresh={"size_off"})
    assert len(tracker.store.list_runs()) == runs
