"""``legato artifacts``: logged artifacts listed beside task outputs; ``artifacts get`` of a
logged artifact, of one item of a map, and of a whole map (or of a list stored item by
item) into a folder."""

from __future__ import annotations

import json
from pathlib import Path

from legato.cli.exits import FAILED, OK, USAGE
from legato.config import load_settings
from legato.engine.storage import open_storage
from legato.model.artifacts import items_of_ref

from .conftest import RESOURCES, Invoke, run_id_of, target

SEEING = RESOURCES / "seeing_pipelines.py"


def _rows(lines: list[str]) -> dict[str, list[str]]:
    return {line.split()[0]: line.split() for line in lines if line.strip()}


def test_logged_artifacts_are_listed_after_the_outputs(cli: Invoke) -> None:
    run_id = run_id_of(cli("run", target("retried", SEEING)).stdout)
    listed = cli("artifacts", run_id)
    assert listed.exit_code == OK, listed.stderr
    outputs, logged = listed.stdout.split("\n\nlogged\n")
    assert sorted(_rows(outputs.splitlines()[2:])) == ["fit", "quiet"]
    header, row = logged.splitlines()
    assert header.split() == ["task", "name", "serializer", "size", "location", "checksum"]
    assert row.split()[:3] == ["fit", "weights", "json"]
    assert row.split()[-2] == "inline"


def test_get_a_logged_artifact_by_name(cli: Invoke, tmp_path: Path) -> None:
    run_id = run_id_of(cli("run", target("retried", SEEING)).stdout)
    got = cli("artifacts", "get", run_id, "fit", "--name", "weights", "-o", "-")
    assert got.exit_code == OK, got.stderr
    assert json.loads(got.stdout_bytes) == {"weights": [1, 2, 3]}
    missing = cli("artifacts", "get", run_id, "fit", "--name", "bias", "-o", "-")
    assert missing.exit_code == USAGE
    assert "task 'fit' of run" in missing.stderr
    assert "logged no artifact 'bias'; logged: fit 'weights'" in missing.stderr


def test_get_one_item_of_a_map_and_the_whole_map(cli: Invoke, tmp_path: Path) -> None:
    run_id = run_id_of(cli("run", target("folds", SEEING)).stdout)
    one = cli("artifacts", "get", run_id, "train[1]", "-o", "-")
    assert one.exit_code == OK, one.stderr
    assert json.loads(one.stdout_bytes) == 3.0
    folder = tmp_path / "train"
    whole = cli("artifacts", "get", run_id, "train", "-o", str(folder))
    assert whole.exit_code == OK, whole.stderr
    files = sorted(p.name for p in folder.iterdir())
    assert files == ["train[0].json", "train[1].json", "train[2].json"]
    assert [json.loads((folder / f).read_text()) for f in files] == [1.5, 3.0, 4.5]
    assert whole.stderr.count("wrote ") == 3
    to_pipe = cli("artifacts", "get", run_id, "train", "-o", "-")
    assert to_pipe.exit_code == USAGE
    assert "task 'train' has 3 items, one file each: give -o a folder" in to_pipe.stderr


def test_get_a_list_stored_item_by_item_writes_its_items(cli: Invoke, tmp_path: Path) -> None:
    run_id = run_id_of(cli("run", target("sharded", SEEING)).stdout)
    records = {r.key: r for r in open_storage(load_settings()).runs.task_records(run_id)}
    manifest = records["shards"].output
    assert manifest is not None
    assert items_of_ref(manifest) == 3  # recorded as the manifest of its items
    listed = _rows(cli("artifacts", run_id).stdout.splitlines()[2:])
    assert listed["shards"][1:3] == ["(3", "items)"]
    got = cli("artifacts", "get", run_id, "shards", "-o", str(tmp_path / "shards"))
    assert got.exit_code == OK, got.stderr
    files = sorted((tmp_path / "shards").iterdir())
    assert [p.name for p in files] == ["shards[0].json", "shards[1].json", "shards[2].json"]
    assert [json.loads(p.read_text()) for p in files] == [10, 20, 30]


def test_a_map_with_an_item_without_output_writes_nothing(cli: Invoke, tmp_path: Path) -> None:
    run_id = run_id_of(cli("run", target("partly", SEEING)).stdout)
    folder = tmp_path / "inverted"
    got = cli("artifacts", "get", run_id, "invert", "-o", str(folder))
    assert got.exit_code == FAILED
    assert "task 'invert[1]' of run" in got.stderr
    assert "has no stored output (it is failed)" in got.stderr
    assert not folder.exists()  # checked before anything is written
    one = cli("artifacts", "get", run_id, "invert[2]", "-o", "-")
    assert json.loads(one.stdout_bytes) == 0.5
