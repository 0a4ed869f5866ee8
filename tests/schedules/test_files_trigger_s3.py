"""A file trigger on object storage: real scheduler passes over a real SQLite store, watching
``s3://legato-test/incoming/`` on a real S3 API (moto's standalone server on 127.0.0.1).

The trigger reaches S3 the way a user points it at a bucket: the standard AWS environment
variables (endpoint, credentials, region), read by s3fs when it opens the bucket."""

from __future__ import annotations

import time
from typing import Any

import pytest

from legato.model.schedules import Launch, Overlap, ScheduleDef
from legato.schedules.declare import files_changed
from legato.schedules.scheduler import Scheduler
from schedules.conftest import Stores

DEBOUNCE = 0.2


def test_objects_under_an_s3_prefix_fire_one_tick_per_still_batch(
    sqlite_stores: Stores, s3_options: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import fsspec

    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_options["endpoint_url"])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_options["key"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_options["secret"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", s3_options["client_kwargs"]["region_name"])
    # The trigger's filesystem is opened from the environment set here, not one cached by
    # an earlier test with another server's endpoint.
    fsspec.get_filesystem_class("s3").clear_instance_cache()
    bucket = fsspec.filesystem("s3", skip_instance_cache=True, **s3_options)
    bucket.pipe_file("legato-test/incoming/old.csv", b"already there")
    bucket.pipe_file("legato-test/elsewhere/other.csv", b"not watched")
    watch = ScheduleDef(
        name="ingest",
        target="pipelines.py:load",
        after=files_changed("s3://legato-test/incoming/", debounce=DEBOUNCE),
        overlap=Overlap.ALLOW,
        interval_params=("changed_files",),
    )
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

    def still_then_pass() -> list[Launch]:
        """One pass that sees the objects, and one after they were still for the debounce."""
        before = len(started)
        assert scheduler.run_pass().active
        assert started[before:] == []  # not still for the debounce yet
        time.sleep(DEBOUNCE + 0.1)
        scheduler.run_pass()
        return started[before:]

    assert scheduler.run_pass().active  # the baseline: objects already there fire nothing
    assert still_then_pass() == []

    bucket.pipe_file("legato-test/incoming/a.csv", b"rows a")
    bucket.pipe_file("legato-test/incoming/sub/b.csv", b"rows b")
    (first,) = still_then_pass()
    assert sorted(first.params["changed_files"]) == [
        "legato-test/incoming/a.csv",
        "legato-test/incoming/sub/b.csv",
    ]
    assert still_then_pass() == []  # an unchanged listing fires nothing

    bucket.pipe_file("legato-test/incoming/a.csv", b"rows A")  # new content, same size
    (second,) = still_then_pass()
    assert second.params["changed_files"] == ["legato-test/incoming/a.csv"]
    assert still_then_pass() == []

    assert len(sqlite_stores.schedules.ticks("ingest")) == 2
    scheduler.release()
