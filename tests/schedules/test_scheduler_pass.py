"""One scheduler pass in this process, over a real SQLite store: what it claims for each
kind of schedule it is given, and what it starts."""

from __future__ import annotations

import time
from pathlib import Path

from legato.model.schedules import Launch, Overlap, ScheduleDef
from legato.query.schedules import schedule_views
from legato.schedules.declare import files_changed
from legato.schedules.scheduler import Scheduler
from schedules.conftest import Stores


def test_a_pass_fires_a_file_trigger_once_its_files_are_still(
    sqlite_stores: Stores, tmp_path: Path
) -> None:
    folder = tmp_path / "incoming"
    folder.mkdir()
    watch = ScheduleDef(
        name="ingest",
        target="pipelines.py:load",
        after=files_changed(folder, debounce=0.2),
        overlap=Overlap.ALLOW,
        interval_params=("changed_files",),
    )
    other = ScheduleDef(name="not-mine", target="pipelines.py:load", cron="* * * * *")
    sqlite_stores.schedules.sync([other], lambda d, after: 0)  # due since 1970
    started: list[Launch] = []

    def start(launch: Launch) -> str:
        started.append(launch)
        return "log"

    scheduler = Scheduler(
        store=sqlite_stores.schedules,
        start=start,
        owner="me",
        single=True,
        definitions=[watch],
    )
    assert scheduler.run_pass().active
    (folder / "new.csv").write_text("rows")
    scheduler.run_pass()
    assert started == []  # not still for the debounce yet
    time.sleep(0.3)
    scheduler.run_pass()
    (launch,) = started
    assert [Path(p).name for p in launch.params["changed_files"]] == ["new.csv"]
    # A schedule this scheduler does not declare is not claimed by it.
    assert sqlite_stores.schedules.ticks("not-mine") == []
    views = {v.name: v for v in schedule_views(sqlite_stores.schedules)}
    assert views["ingest"].when.startswith("when files under ")
    assert views["not-mine"].when == "'* * * * *' in UTC"
    scheduler.release()
