"""Finding the project root upwards from the working folder, as git finds ``.git``: the
settings file first, then an existing ``.legato``, then the repository root; never above
the repository root."""

from __future__ import annotations

from pathlib import Path

from legato.config import load_settings
from legato.project import Project, find_project


def _folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_without_a_settings_file_the_repository_root_is_the_project_root(tmp_path: Path) -> None:
    repo = _folder(tmp_path / "repo")
    _folder(repo / ".git")
    deep = _folder(repo / "notebooks" / "eda")
    project, found = find_project(deep)
    assert found is None
    assert (project.root, project.marker, project.boundary) == (repo, ".git", repo)
    settings = load_settings(cwd=deep, environ={})
    assert settings.home == repo / ".legato"
    assert settings.state_url == f"sqlite:///{repo}/.legato/legato.db"
    assert "the repository root" in project.describe()
    assert str(deep) in project.describe()


def test_a_git_file_marks_a_repository_too(tmp_path: Path) -> None:
    worktree = _folder(tmp_path / "worktree")
    (worktree / ".git").write_text("gitdir: /elsewhere/.git/worktrees/w\n")
    src = _folder(worktree / "src")
    expected = Project(root=worktree, start=src, marker=".git", boundary=worktree)
    assert find_project(src) == (expected, None)


def test_a_settings_file_above_the_repository_root_is_not_the_repositorys(
    tmp_path: Path,
) -> None:
    (tmp_path / "legato.toml").write_text('executor = "inline"\n')
    repo = _folder(tmp_path / "repo")
    _folder(repo / ".git")
    settings = load_settings(cwd=_folder(repo / "src"), environ={})
    assert settings.source == "defaults"
    assert settings.executor is None
    assert settings.project.root == repo
    # in the folder holding legato.toml it applies
    assert load_settings(cwd=tmp_path, environ={}).executor == "inline"


def test_a_settings_file_in_the_repository_root_is_found(tmp_path: Path) -> None:
    _folder(tmp_path / ".git")
    (tmp_path / "legato.toml").write_text('home = "state"\n')
    settings = load_settings(cwd=_folder(tmp_path / "a" / "b"), environ={})
    assert settings.source == str(tmp_path / "legato.toml")
    assert settings.home == tmp_path / "state"
    assert settings.project.marker == "legato.toml"


def test_outside_a_repository_an_existing_dot_legato_marks_the_project(tmp_path: Path) -> None:
    _folder(tmp_path / ".legato")
    sub = _folder(tmp_path / "reports" / "2024")
    project, _ = find_project(sub)
    assert (project.root, project.marker) == (tmp_path, ".legato")
    assert load_settings(cwd=sub, environ={}).home == tmp_path / ".legato"
    assert "the nearest folder holding .legato" in project.describe()


def test_a_dot_legato_file_is_not_a_store(tmp_path: Path) -> None:
    (tmp_path / ".legato").write_text("not a folder")
    sub = _folder(tmp_path / "sub")
    assert find_project(sub)[0].root == sub


def test_the_nearest_dot_legato_wins_and_within_the_repository(tmp_path: Path) -> None:
    _folder(tmp_path / ".legato")  # above the repository: not this project's
    repo = _folder(tmp_path / "repo")
    _folder(repo / ".git")
    _folder(repo / "app" / ".legato")
    deep = _folder(repo / "app" / "src")
    assert find_project(deep)[0].root == repo / "app"
    assert find_project(_folder(repo / "docs"))[0].root == repo


def test_a_settings_file_wins_over_a_nearer_dot_legato(tmp_path: Path) -> None:
    (tmp_path / "legato.toml").write_text('home = "state"\n')
    sub = _folder(tmp_path / "sub")
    _folder(sub / ".legato")  # made by a run before legato.toml existed, say
    settings = load_settings(cwd=sub, environ={})
    assert settings.project.root == tmp_path
    assert settings.home == tmp_path / "state"


def test_with_nothing_found_the_working_folder_is_the_project_root(tmp_path: Path) -> None:
    project, found = find_project(tmp_path)
    assert found is None
    assert (project.root, project.marker) == (tmp_path, "")
    assert project.boundary == Path(tmp_path.anchor)
    assert "the working folder" in project.describe()
