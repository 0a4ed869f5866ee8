"""``legato pipelines add|list|remove`` and the ``[pipelines]`` key: what ``legato ui``
serves, merged from the profile, the registry and ``--pipeline``, duplicates refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from legato.cli.exits import CommandError
from legato.cli.pipelines import REGISTRY_FILE, known_pipelines, registered
from legato.config import load_settings
from legato.errors import ConfigError

from .conftest import PIPELINES, RESOURCES, Invoke


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose legato.toml names one pipeline; the test works in a subfolder."""
    root = tmp_path / "project"
    (root / "flows").mkdir(parents=True)
    (root / "flows" / "train.py").write_text(PIPELINES.read_text())
    (root / "legato.toml").write_text('[pipelines]\ngreeting = "flows/train.py:greet"\n')
    monkeypatch.delenv("LEGATO_HOME")
    monkeypatch.chdir(root / "flows")
    return root


def test_add_list_remove(cli: Invoke, project: Path) -> None:
    added = cli("pipelines", "add", "typed", "train.py:typed")  # from the working folder
    assert added.exit_code == 0, added.output
    assert "registered pipeline typed: flows/train.py:typed" in added.output
    kept = json.loads((project / ".legato" / REGISTRY_FILE).read_text())
    assert kept == {"pipelines": {"typed": "flows/train.py:typed"}}  # relative to the root
    settings = load_settings()
    assert registered(settings) == {"typed": f"{project}/flows/train.py:typed"}
    listed = cli("pipelines", "list")
    assert f"greeting  {project}/flows/train.py:greet  ([pipelines] of" in listed.output
    assert f"typed     {project}/flows/train.py:typed  (registered)" in listed.output
    assert cli("pipelines", "add", "typed", "train.py:typed").exit_code == 0  # the same again
    assert cli("pipelines", "remove", "typed").exit_code == 0
    assert registered(load_settings()) == {}
    gone = cli("pipelines", "remove", "typed")
    assert gone.exit_code == 2
    assert "no pipeline 'typed' is registered" in gone.output
    in_file = cli("pipelines", "remove", "greeting")
    assert "it is in [pipelines] of" in in_file.output


def test_add_refuses_what_does_not_load_as_a_pipeline(cli: Invoke, project: Path) -> None:
    missing = cli("pipelines", "add", "x", "nowhere.py:p")
    assert missing.exit_code == 2
    assert "no such file: " in missing.output
    not_one = cli("pipelines", "add", "x", "train.py:shout")
    assert not_one.exit_code == 2
    assert "is a Task, not a @pipeline" in not_one.output
    failing = cli("pipelines", "add", "x", f"{RESOURCES / 'cli_import_error.py'}:p")
    assert failing.exit_code == 2
    assert "cannot import me" in failing.output
    bad_name = cli("pipelines", "add", "two words", "train.py:greet")
    assert bad_name.exit_code == 2
    assert "is not a usable pipeline name" in bad_name.output
    taken = cli("pipelines", "add", "greeting", "train.py:typed")
    assert taken.exit_code == 2
    assert "the profile already names pipeline 'greeting'" in taken.output
    assert not (project / ".legato" / REGISTRY_FILE).exists()  # nothing was written


def test_the_server_merges_profile_registry_and_options(cli: Invoke, project: Path) -> None:
    assert cli("pipelines", "add", "typed", "train.py:typed").exit_code == 0
    settings = load_settings()
    flows = project / "flows" / "train.py"
    assert known_pipelines(settings, [f"{flows}:greet"]) == {
        "greet": f"{flows}:greet",
        "greeting": f"{flows}:greet",
        "typed": f"{flows}:typed",
    }
    assert known_pipelines(settings, [f"{flows}:typed"])["typed"] == f"{flows}:typed"
    other = project / "other.py"
    with pytest.raises(CommandError, match=r"two pipelines are named 'typed': .*--pipeline"):
        known_pipelines(settings, [f"{other}:typed"])


def test_legato_ui_refuses_a_name_given_twice(cli: Invoke, project: Path) -> None:
    assert cli("pipelines", "add", "typed", "train.py:typed").exit_code == 0
    refused = cli("ui", "--pipeline", f"{project / 'other.py'}:typed")
    assert refused.exit_code == 2
    assert "two pipelines are named 'typed'" in refused.output


def test_a_registry_file_that_is_not_legatos_is_named(cli: Invoke, project: Path) -> None:
    (project / ".legato").mkdir()
    (project / ".legato" / REGISTRY_FILE).write_text("[1, 2]")
    listed = cli("pipelines", "list")
    assert listed.exit_code == 2
    assert f"{REGISTRY_FILE} is not legato's list" in listed.output


def test_the_pipelines_key_is_checked(tmp_path: Path) -> None:
    (tmp_path / "legato.toml").write_text('[pipelines]\n"bad name" = "x.py:p"\n')
    with pytest.raises(ConfigError, match="is not a usable pipeline name"):
        load_settings(cwd=tmp_path)
    (tmp_path / "legato.toml").write_text("pipelines = 3\n")
    with pytest.raises(ConfigError, match="a table of name ="):
        load_settings(cwd=tmp_path)
    (tmp_path / "legato.toml").write_text(
        '[pipelines]\na = "flows/a.py:a"\nb = "pkg.mod:b"\n'
        '[profiles.prod.pipelines]\nc = "c.py:c"\n'
    )
    assert dict(load_settings(cwd=tmp_path).pipelines) == {
        "a": f"{tmp_path}/flows/a.py:a",
        "b": "pkg.mod:b",
    }
    assert set(load_settings("prod", cwd=tmp_path).pipelines) == {"a", "b", "c"}


def test_a_home_that_cannot_be_written_is_said(
    cli: Invoke, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "a-file").write_text("")
    home = project / "a-file" / "home"  # below a file: no folder can be made there
    monkeypatch.setenv("LEGATO_HOME", str(home))
    refused = cli("pipelines", "add", "typed", "train.py:typed")
    assert refused.exit_code == 2
    assert f"cannot read {home / REGISTRY_FILE}: Not a directory" in refused.output
