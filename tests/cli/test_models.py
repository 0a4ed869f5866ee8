"""``legato models ...`` and ``legato runs compare`` against the default stores."""

from __future__ import annotations

import sys

import pytest

import legato

from .conftest import RESOURCES, Invoke

sys.path.insert(0, str(RESOURCES))


@pytest.fixture
def registered() -> legato.Registry:
    with legato.open_registry() as registry:
        for i in range(3):
            registry.register("digits", {"i": i}, metrics={"accuracy": 0.9 + i / 100})
    return registry


def test_models_list_and_show(cli: Invoke, registered: legato.Registry) -> None:
    result = cli("models", "list")
    assert result.exit_code == 0, result.stderr
    assert "digits" in result.stdout
    assert "3" in result.stdout
    shown = cli("models", "show", "digits")
    assert shown.exit_code == 0
    assert "accuracy=0.92" in shown.stdout
    one = cli("models", "show", "digits:2")
    assert one.exit_code == 0
    assert "version 2" in one.stdout
    assert "xxh3_128:" in one.stdout


def test_promote_rollback_and_history(cli: Invoke, registered: legato.Registry) -> None:
    for version in ("1", "3"):
        result = cli("models", "promote", "digits", version, "--reason", f"v{version} ok")
        assert result.exit_code == 0, result.stderr
    assert "version 1 -> version 3" in result.stdout
    staged = cli("models", "promote", "digits", "2", "--alias", "staging", "--actor", "ci@bot")
    assert staged.exit_code == 0
    back = cli("models", "rollback", "digits", "--reason", "errors up")
    assert back.exit_code == 0, back.stderr
    assert "version 3 -> version 1" in back.stdout
    shown = cli("models", "show", "digits@production")
    assert "version 1" in shown.stdout
    history = cli("models", "show", "digits")
    assert "errors up" in history.stdout
    assert "ci@bot" in history.stdout
    assert "rollback" in history.stdout
    to = cli("models", "rollback", "digits", "--to", "2", "--alias", "production")
    assert to.exit_code == 0
    with legato.open_registry() as registry:
        assert registry.aliases("digits") == {"production": 2, "staging": 2}


def test_delete_refuses_an_aliased_version(cli: Invoke, registered: legato.Registry) -> None:
    cli("models", "promote", "digits", "3")
    refused = cli("models", "delete", "digits", "3")
    assert refused.exit_code == 1
    assert "production" in refused.stderr
    deleted = cli("models", "delete", "digits", "1")
    assert deleted.exit_code == 0
    assert "deleted version 1" in deleted.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("models", "show", "../etc"),
        ("models", "show", "nope"),
        ("models", "show", "digits:9"),
        ("models", "show", "digits@nope"),
        ("models", "promote", "digits", "x"),
        ("models", "promote", "digits", "1", "--alias", "a/b"),
        ("models", "delete", "digits", "0"),
        ("models", "rollback", "a/b"),
    ],
)
def test_bad_names_and_unknown_models_are_usage_errors(
    cli: Invoke, registered: legato.Registry, args: tuple[str, ...]
) -> None:
    result = cli(*args)
    assert result.exit_code == 2, result.stdout
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr


def test_runs_compare(cli: Invoke) -> None:
    from tracking_tasks import experiment

    first = legato.run(experiment, {"lr": 0.1}, executor="threads")
    second = legato.run(experiment, {"lr": 0.5, "n": 5}, executor="threads")
    result = cli("runs", "compare", first.run_id, second.run_id)
    assert result.exit_code == 0, result.stderr
    lines = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines() if line}
    assert lines["param.lr"] == ["0.1", "0.5"]
    assert lines["param.n"] == ["4", "5"]
    assert lines["metric.accuracy"] == ["0.75", "0.75"]
    unknown = cli("runs", "compare", "nope")
    assert unknown.exit_code == 2
