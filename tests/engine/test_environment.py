"""What a run records of its git repository, read from real repositories."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import legato
from legato.config import load_settings
from legato.define.loader import load_pipeline
from legato.engine import environment
from legato.engine.environment import GitProbe, Snapshot, git_state
from legato.engine.storage import open_storage

pytestmark = pytest.mark.skipif(
    subprocess.run(["git", "--version"], capture_output=True, check=False).returncode != 0,
    reason="needs the git command",
)


def git(folder: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def repository(path: Path) -> Path:
    path.mkdir()
    git(path, "init", "-q")
    (path / "pipe.py").write_text("x = 1\n")
    (path / "sub").mkdir()
    git(path, "add", "pipe.py")
    git(path, "commit", "-qm", "first")
    return path.resolve()


def test_a_clean_checkout_records_its_commit_and_root(tmp_path: Path) -> None:
    repo = repository(tmp_path / "repo")
    state = git_state(repo / "sub")
    assert state == {"root": str(repo), "commit": git(repo, "rev-parse", "HEAD"), "dirty": False}
    assert state["root"] == git(repo / "sub", "rev-parse", "--show-toplevel")


def test_an_edited_tracked_file_makes_it_dirty_and_an_untracked_one_does_not(
    tmp_path: Path,
) -> None:
    repo = repository(tmp_path / "repo")
    (repo / "notes.txt").write_text("not tracked\n")
    assert git_state(repo)["dirty"] is False
    (repo / "pipe.py").write_text("x = 2\n")
    assert git_state(repo)["dirty"] is True


def test_a_worktree_records_its_own_root_and_commit(tmp_path: Path) -> None:
    repo = repository(tmp_path / "repo")
    git(repo, "worktree", "add", "-q", str(tmp_path / "wt"), "-b", "other")
    (tmp_path / "wt" / "more.py").write_text("y = 1\n")
    git(tmp_path / "wt", "add", "more.py")
    git(tmp_path / "wt", "commit", "-qm", "second")
    state = git_state((tmp_path / "wt").resolve())
    assert state["root"] == str((tmp_path / "wt").resolve())
    assert state["commit"] == git(tmp_path / "wt", "rev-parse", "HEAD")
    assert state["commit"] != git(repo, "rev-parse", "HEAD")


def test_no_repository_or_no_commit_records_nothing(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    assert git_state(tmp_path / "plain") == {}
    (tmp_path / "empty").mkdir()
    git(tmp_path / "empty", "init", "-q")
    assert git_state(tmp_path / "empty") == {}


def test_the_snapshot_reads_the_repository_of_the_pipeline_file(tmp_path: Path) -> None:
    repo = repository(tmp_path / "repo")
    assert Snapshot(str(repo / "pipe.py"))()["git"]["root"] == str(repo)


def test_a_snapshot_asked_early_says_what_git_says_when_it_is_taken(tmp_path: Path) -> None:
    repo = repository(tmp_path / "repo")
    (repo / "pipe.py").write_text("x = 2\n")  # dirty: the flag comes from the same git call
    soon = Snapshot(str(repo / "pipe.py"))
    taken = soon()
    assert taken["git"] == git_state(repo)
    assert taken["git"] == {
        "root": str(repo),
        "commit": git(repo, "rev-parse", "HEAD"),
        "dirty": True,
    }


def test_a_git_that_hangs_or_is_missing_leaves_the_git_facts_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = repository(tmp_path / "repo")
    hanging = tmp_path / "bin"
    hanging.mkdir()
    (hanging / "git").write_text(f"#!/bin/sh\nexec {shutil.which('sleep')} 30\n")
    (hanging / "git").chmod(0o755)
    monkeypatch.setattr(environment, "_GIT_TIMEOUT_S", 0.2)
    monkeypatch.setenv("PATH", str(hanging))
    probe = GitProbe(repo)
    git_process = probe._git
    assert probe.facts() == {}
    assert git_process is not None
    assert git_process.returncode is not None  # killed and reaped

    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    assert Snapshot(str(repo / "pipe.py"))()["git"] == {}


def test_a_run_recorded_from_a_repository_carries_its_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = repository(tmp_path / "repo")
    (repo / "pipe.py").write_text(
        "from legato import pipeline, task\n\n"
        "@task\ndef one() -> int:\n    return 1\n\n"
        "@pipeline(name='env_one')\ndef p() -> int:\n    return one()\n"
    )
    git(repo, "commit", "-qam", "a pipeline")
    monkeypatch.setenv("LEGATO_HOME", str(tmp_path / "home"))
    pipe = load_pipeline(f"{repo / 'pipe.py'}:p")
    result = legato.run(pipe, echo_logs=False)
    runs = open_storage(load_settings(), read_only=True).runs
    environment = runs.get_run(result.run_id).environment
    assert environment["git"] == {
        "root": str(repo),
        "commit": git(repo, "rev-parse", "HEAD"),
        "dirty": False,
    }
