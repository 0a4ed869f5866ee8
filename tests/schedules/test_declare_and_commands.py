"""Declaring schedules (in code and in legato.toml), refusing bad ones with what to write,
and the commands that show, pause, resume and backfill them."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

import legato
from legato.cli import app
from legato.errors import DefinitionError, ParameterError
from legato.model.schedules import Catchup, Overlap, ScheduleDef, TickStatus
from legato.schedules.declare import collect, from_settings_file

MODULE = textwrap.dedent(
    """
    import legato


    @legato.pipeline
    def train(interval_end: str = "", size: int = 1) -> int:
        return size


    nightly = legato.schedule(
        train, cron="30 1 * * *", tz="America/New_York", params={"size": 3}, overlap="queue"
    )
    """
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pipelines.py").write_text(MODULE)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_a_module_declares_a_schedule(project: Path) -> None:
    (found,) = collect([str(project / "pipelines.py")])
    assert isinstance(found, ScheduleDef)
    assert found.name == "train"
    assert found.target.endswith("pipelines.py:train")
    assert found.overlap is Overlap.QUEUE
    assert found.catchup is Catchup.LATEST
    assert found.params == {"size": 3}
    assert found.interval_params == ("interval_end",)  # what the pipeline asks for


def test_legato_toml_declares_a_schedule(project: Path) -> None:
    (project / "legato.toml").write_text(
        textwrap.dedent(
            """
            [schedules.hourly]
            pipeline = "pipelines.py:train"
            cron = "0 * * * *"
            tz = "Europe/London"
            catchup = "all"
            max_active = 2
            """
        )
    )
    (found,) = from_settings_file(project)
    assert found.name == "hourly"
    assert found.catchup is Catchup.ALL
    assert found.max_active == 2
    assert found.target == f"{project / 'pipelines.py'}:train"


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"cron": "every day"}, "not a cron expression"),
        ({"tz": "Europe/Atlantis"}, "unknown time zone"),
        ({"params": {"sise": 3}}, "no parameter sise"),
        ({"catchup": "some"}, "catchup must be one of"),
        ({"overlap": "merge"}, "overlap must be one of"),
        ({"max_active": 0}, "max_active must be"),
        ({"name": "../x"}, "not a valid schedule name"),
    ],
)
def test_a_bad_declaration_is_refused_saying_what_to_write(
    project: Path, changes: dict[str, object], needle: str
) -> None:
    arguments: dict[str, object] = {"cron": "0 3 * * *", **changes}
    with pytest.raises(ParameterError, match=needle):
        legato.schedule(f"{project / 'pipelines.py'}:train", **arguments)  # type: ignore[arg-type]


def test_a_name_declared_twice_is_refused(project: Path) -> None:
    (project / "more.py").write_text(
        "import legato\n"
        f"other = legato.schedule({str(project / 'pipelines.py:train')!r}, cron='0 4 * * *')\n"
    )
    with pytest.raises(DefinitionError, match="declared twice"):
        collect([str(project / "pipelines.py"), str(project / "more.py")])


def test_schedules_commands(project: Path) -> None:
    code, out = run("scheduler", "pipelines.py", "--once")
    assert code == 0, out
    code, out = run("schedules")
    assert code == 0
    assert "train" in out
    assert "30 1 * * *" in out
    code, out = run("schedules", "show", "train", "-n", "400")
    assert code == 0, out
    assert "clocks go back 1:00" in out  # the first Sunday of November is in the next 400
    code, out = run("schedules", "pause", "train")
    assert code == 0
    assert "paused" in out
    code, out = run("schedules", "resume", "train")
    assert code == 0
    assert "resumed" in out
    code, out = run("schedules", "pause", "trian")
    assert code != 0
    assert "no schedule named 'trian'" in out
    assert "train" in out


def test_backfill_commands(project: Path) -> None:
    assert run("scheduler", "pipelines.py", "--once")[0] == 0
    code, out = run("backfill", "train", "--from", "2026-01-01", "--to", "2026-01-11")
    assert code == 0, out
    assert "10 runs" in out
    backfill_id = out.split()[1].rstrip(":")
    code, out = run("backfill", "--list")
    assert backfill_id in out
    code, out = run("backfill", "--cancel", backfill_id, "--wait", "5")
    assert code == 0, out
    assert "nothing of it is queued or running" in out
    from legato.config import load_settings
    from legato.store.sql import SqlRunStore
    from legato.store.sql.schedules import SqlScheduleStore

    store = SqlRunStore(load_settings().state_url)
    counts = SqlScheduleStore(store.engine).count_ticks("train", origin=backfill_id)
    store.close()
    assert counts == {TickStatus.CANCELLED: 10}
    code, out = run("backfill", "train", "--from", "2026-01-02", "--to", "2026-01-01")
    assert code != 0
    assert "must be after" in out


def test_a_trigger_declaration_defaults_to_running_every_success(project: Path) -> None:
    found = legato.schedule(f"{project / 'pipelines.py'}:train", after="prepare", name="t")
    assert found.after == "prepare"
    assert found.cron == ""
    assert found.catchup is Catchup.ALL
    assert found.overlap is Overlap.QUEUE
    with pytest.raises(ParameterError, match="one of the two"):
        legato.schedule(f"{project / 'pipelines.py'}:train", after="prepare", cron="0 * * * *")
    with pytest.raises(ParameterError, match="one of the two"):
        legato.schedule(f"{project / 'pipelines.py'}:train")
