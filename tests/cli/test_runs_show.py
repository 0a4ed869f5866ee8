"""``legato runs show``: what the run's tasks tracked, the pipeline's output previewed
without loading a pickle, and the error of every attempt, retried ones included."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from legato.cli.exits import OK
from legato.cli.preview import npy_header
from legato.config import load_settings
from legato.engine.storage import open_storage
from legato.model.events import RunStarted, RunTransitioned
from legato.model.runs import RunInfo
from legato.model.states import RunState

from .conftest import RESOURCES, Invoke, run_id_of, target

SEEING = RESOURCES / "seeing_pipelines.py"


def _section(output: str, title: str) -> list[list[str]]:
    """The rows of the table titled ``title``, split on runs of two spaces or more."""
    block = output.split(f"\n{title}\n", 1)[1].split("\n\n", 1)[0]
    return [
        [cell.strip() for cell in line.split("  ") if cell.strip()]
        for line in block.splitlines()[1:]
    ]


def _line(output: str, name: str) -> str:
    (line,) = [line for line in output.splitlines() if line.startswith(f"{name}  ")]
    return line.removeprefix(name).strip()


def test_runs_show_lists_tracked_values_output_and_every_failed_attempt(cli: Invoke) -> None:
    run_id = run_id_of(cli("run", target("retried", SEEING)).stdout)
    shown = cli("runs", "show", run_id)
    assert shown.exit_code == OK, shown.stderr
    out = shown.stdout
    assert _section(out, "tracked") == [
        ["fit", "param", "epochs", "4"],
        ["fit", "metric", "accuracy", "0.8", "step 0"],
        ["fit", "metric", "loss", "nan", "step 4 · 5 values · min 0.25 · max 1"],
        ["fit", "tag", "stage", "dev"],
        ["fit", "artifact", "weights", "{'weights': [1, 2, 3]}", "inline"],
    ]
    assert (
        _line(out, "output")
        == "{'model': {'loss': 0.25}, 'status': 'done', 'epochs': 4, 'note': 'v1'}"
    )
    first = out.index("fit · attempt 1 · failed, retried:")
    second = out.index("fit · attempt 2 · failed, retried:")
    assert first < out.index("ConnectionError: network down on attempt 1") < second
    assert second < out.index("ConnectionError: network down on attempt 2")
    assert "attempt 3" not in out  # it succeeded


def test_a_cache_hit_shows_the_values_of_the_run_that_produced_it(cli: Invoke) -> None:
    first = run_id_of(cli("run", target("retried", SEEING)).stdout)
    again = run_id_of(cli("run", target("retried", SEEING)).stdout)
    out = cli("runs", "show", again).stdout
    rows = _section(out, "tracked")
    assert ["fit", "metric", "accuracy", "0.8", "step 0"] in rows
    assert ["fit", f"a cache hit: the values of run {first}"] in rows
    assert "attempt 1" not in out  # this run's attempts did not fail


def test_outputs_are_previewed_without_loading_a_pickle(cli: Invoke, ledger: Path) -> None:
    kinds = run_id_of(cli("run", target("kinds", SEEING)).stdout)
    output = _line(cli("runs", "show", kinds).stdout, "output")
    assert output.startswith("(<array: npy float32 (3, 4), 176 B>, ")
    assert "<frame: parquet, 2 rows: a: int64, b: double>" in output
    assert "<model: pickle " in output
    assert "seeing_pipelines_py.Model, " in output  # the type recorded when it was written
    assert "'yyyyyyyy" in output  # a JSON file past the inline limit, read and checked
    trapped = run_id_of(cli("run", target("trapped", SEEING), "-p", f"ledger={ledger}").stdout)
    shown = cli("runs", "show", trapped)
    assert shown.exit_code == OK
    assert "<trap: pickle " in _line(shown.stdout, "output")
    assert ledger.read_text() == ""  # nothing loaded the pickle


def test_the_outputs_of_maps_and_of_lists_stored_item_by_item(cli: Invoke) -> None:
    folds = run_id_of(cli("run", target("folds", SEEING)).stdout)
    assert _line(cli("runs", "show", folds).stdout, "output") == "[1.5, 3.0, 4.5]"
    sharded = run_id_of(cli("run", target("sharded", SEEING)).stdout)
    output = _line(cli("runs", "show", sharded).stdout, "output")
    assert output == "{'shards': [10, 20, 30], 'doubled': [20, 40, 60], 'first': 10}"


def test_an_altered_json_output_is_not_shown(cli: Invoke) -> None:
    run_id = run_id_of(cli("run", target("kinds", SEEING)).stdout)
    storage = open_storage(load_settings())
    ref = {r.key: r.output for r in storage.runs.task_records(run_id)}["text"]
    assert ref is not None
    assert ref.location is not None
    root = storage.artifacts.local_root
    assert root is not None
    stored = Path(root) / ref.location
    stored.chmod(0o644)
    stored.write_bytes(stored.read_bytes().replace(b"yyy", b"yzy", 1))
    output = _line(cli("runs", "show", run_id).stdout, "output")
    assert "<text: json, 97.7 KiB, does not match its checksum (altered)>" in output


def test_a_run_recorded_without_its_output_says_so(cli: Invoke) -> None:
    store = open_storage(load_settings()).runs
    store.create_run(RunInfo(run_id="older", pipeline="p", owner="me", state=RunState.PENDING))
    store.append(
        "older",
        "me",
        [
            RunStarted(run_id="older", seq=1, at=1.0, pipeline="p"),
            RunTransitioned(run_id="older", seq=2, at=2.0, state=RunState.SUCCEEDED),
        ],
    )
    out = cli("runs", "show", "older").stdout
    assert _line(out, "output").startswith("not recorded (by a legato older than this one)")
    assert "\ntracked\n" not in out  # it tracked nothing


def _npy(header: bytes, major: int = 1) -> bytes:
    size = struct.pack("<H" if major == 1 else "<I", len(header))
    return b"\x93NUMPY" + bytes([major, 0]) + size + header


@pytest.mark.parametrize(
    ("head", "found"),
    [
        (_npy(b"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }\n"), ("<f4", (3, 4))),
        (
            _npy(b"{'descr': [('a', '<i8')], 'fortran_order': False, 'shape': (), }", 2),
            ([("a", "<i8")], ()),
        ),
        (_npy(b"__import__('os').system('touch /tmp/pwned')"), None),  # not a literal
        (_npy(b"{'descr': '<f4', 'shape': 3}"), None),
        (_npy(b"{'descr': '<f4', 'shape': (3,)}")[:-4], None),  # cut short
        (b"PK\x03\x04 a zip file", None),
    ],
)
def test_npy_header(head: bytes, found: object) -> None:
    assert npy_header(head) == found


def test_a_run_whose_output_was_skipped_says_why_and_still_succeeds(cli: Invoke) -> None:
    ran = cli("run", target("no_otherwise", RESOURCES / "branch_pipelines.py"), "-p", "value=0.5")
    assert ran.exit_code == OK, ran.stderr  # a skip is a decision: the run succeeded
    why = (
        "task 'one_of' was skipped because none of the branches it joins ran (the first: "
        "'tell' was skipped because branch 'when' was not taken (the condition was False))"
    )
    assert f"output: skipped, so the pipeline returned no value: {why}" in ran.stdout
    shown = cli("runs", "show", run_id_of(ran.stdout))
    assert shown.exit_code == OK, shown.stderr
    assert _line(shown.stdout, "output") == (
        "<one_of: skipped, none of the branches it joins ran (the first: 'tell' was skipped "
        "because branch 'when' was not taken (the condition was False))>"
    )
    kept = cli("run", target("no_otherwise", RESOURCES / "branch_pipelines.py"), "-p", "value=5")
    assert "output:" not in kept.stdout
