"""The light reads every run store answers alike: a run's plan, its map items counted per
state, its cache hits, byte windows of an attempt's output, and many runs read at once.
They stand in for reading every task record (or every log entry, or run by run) where the
API needs only a part: each is checked here against what the full reads say."""

from __future__ import annotations

import math
from collections import Counter

from legato.model.events import MapExpanded, RunStarted, TaskTransitioned
from legato.model.runs import LogEntry
from legato.model.states import TaskState
from legato.model.tracking import Tracked, TrackKind
from legato.store.base import RunStore

from .conformance import ERROR, PlannedTask, Writer, inline_ref, run_info

S = TaskState


class LightReadsContract:
    def test_plan_item_counts_and_cache_hits_agree_with_the_records(self, store: RunStore) -> None:
        store.create_run(run_info("r"))
        w = Writer(store, "r")
        w.append(
            w.start(
                PlannedTask(key="load", name="load"),
                PlannedTask(key="sq", name="sq", mapped=True, items=4),
                PlannedTask(key="total", name="total"),
            ),
            w.task("load", S.SUCCEEDED, output=inline_ref("l"), cache_hit="older"),
            w.expand("sq", 4),
        )
        w.append(
            w.task("sq[0]", S.RUNNING),
            w.task("sq[0]", S.SUCCEEDED, output=inline_ref("s0")),
            w.task("sq[1]", S.RUNNING),
            w.task("sq[1]", S.FAILED, error=ERROR),
            w.task("sq[2]", S.RUNNING),
            w.task("sq[3]", S.SUCCEEDED, output=inline_ref("s3"), cache_hit="older"),
        )
        records = store.task_records("r")
        assert store.planned_tasks("r") == [r for r in records if r.parent is None]
        assert [r.key for r in store.planned_tasks("r")] == ["load", "sq", "total"]
        counted = Counter(r.state.value for r in records if r.parent == "sq")
        assert store.item_counts("r") == {"sq": dict(counted)}
        assert store.item_counts("r") == {"sq": {"succeeded": 2, "failed": 1, "running": 1}}
        assert store.cache_hits("r") == {"load": "older", "sq[3]": "older"}
        assert (store.planned_tasks("ghost"), store.item_counts("ghost")) == ([], {})
        assert store.cache_hits("ghost") == {}

    def test_log_windows_are_the_bytes_of_the_joined_text(self, store: RunStore) -> None:
        store.create_run(run_info("r"))
        texts = ["one\n", "naïve ✓\n", "", "x" * 50, "🎵 end\n"]

        def entry(text: str, key: str = "t", attempt: int = 1) -> LogEntry:
            return LogEntry(run_id="r", key=key, attempt=attempt, stream="stdout", text=text, at=1)

        store.append_logs([entry(texts[0]), entry("other\n", key="u"), entry(texts[1])])
        store.append_logs([entry("second attempt\n", attempt=2), entry(texts[2])])
        store.append_logs([entry(t) for t in texts[3:]])
        data = "".join(texts).encode()
        assert store.log_size("r", "t", 1) == len(data)
        assert store.log_size("r", "t", 2) == len(b"second attempt\n")
        assert store.log_size("r", "nobody", 1) == 0
        for start in range(len(data) + 1):
            for stop in (start, start + 1, start + 7, len(data), len(data) + 5):
                got = store.read_log_bytes("r", "t", 1, start, stop)
                assert got == data[start:stop], (start, stop)
        assert store.read_log_bytes("r", "u", 1, 0, 100) == b"other\n"

    def test_extremes_keep_each_series_last_lowest_and_highest_points(
        self, store: RunStore
    ) -> None:
        store.create_run(run_info("r"))
        w = Writer(store, "r")
        w.append(w.start(PlannedTask(key="t", name="t")), w.task("t", S.RUNNING))

        def metric(name: str, step: int, value: float, attempt: int = 1) -> Tracked:
            return Tracked(
                run_id="r", key="t", attempt=attempt, kind=TrackKind.METRIC, name=name,
                value=value, step=step, at=1.0,
            )  # fmt: skip

        loss = [5.0, 2.0, math.nan, 9.0, 3.0, 4.0]
        tracked = [metric("loss", step, v) for step, v in enumerate(loss)]
        tracked += [metric("nan", 0, math.nan), metric("nan", 1, math.nan)]
        tracked += [metric("loss", 0, 1.0, attempt=2)]
        tag = Tracked(run_id="r", key="t", attempt=1, kind=TrackKind.TAG, name="k", value="v")
        store.append("r", "owner-1", [], [*tracked, tag])

        def shown(values: list[Tracked]) -> list[tuple[object, ...]]:
            return [(t.attempt, t.kind.value, t.name, t.step, repr(t.value)) for t in values]

        got = store.read_tracked("r", extremes=True)
        assert shown(got) == [
            (1, "metric", "loss", 1, "2.0"),
            (1, "metric", "loss", 3, "9.0"),
            (1, "metric", "loss", 5, "4.0"),
            (1, "metric", "nan", 1, "nan"),
            (1, "tag", "k", 0, "'v'"),
            (2, "metric", "loss", 0, "1.0"),
        ]
        kept = {(t.attempt, t.name, t.step) for t in got}
        full = [t for t in store.read_tracked("r") if (t.attempt, t.name, t.step) in kept]
        assert shown(full) == shown(got)

    def test_extremes_follow_steps_logged_again_across_appends(self, store: RunStore) -> None:
        store.create_run(run_info("r"))
        w = Writer(store, "r")
        w.append(w.start(PlannedTask(key="t", name="t")), w.task("t", S.RUNNING))

        def metric(step: int, value: float, key: str = "t", at: float = 1.0) -> Tracked:
            return Tracked(
                run_id="r", key=key, attempt=1, kind=TrackKind.METRIC, name="loss",
                value=value, step=step, at=at, map_index=None if key == "t" else 0,
            )  # fmt: skip

        def expected(values: list[Tracked]) -> list[tuple[object, ...]]:
            """Each series' point at its highest step, its lowest and highest (lowest step
            on a tie), computed from every value."""
            kept: list[Tracked] = []
            for key in sorted({t.key for t in values if t.kind is TrackKind.METRIC}):
                points = [t for t in values if t.key == key]
                numbers = [t for t in points if not math.isnan(t.value)]
                ends = {max(points, key=lambda t: t.step).step}
                if numbers:
                    ends.add(min(numbers, key=lambda t: (t.value, t.step)).step)
                    ends.add(min(numbers, key=lambda t: (-t.value, t.step)).step)
                kept += [t for t in points if t.step in ends]
            return [(t.key, t.step, repr(t.value), t.at, t.map_index) for t in kept]

        appends = [
            [metric(0, 5.0), metric(1, 2.0), metric(2, 9.0), metric(3, 2.0)],  # a tie: step 1
            [metric(4, 3.0), metric(0, math.nan, key="t[0]")],
            [metric(2, 4.0, at=2.0)],  # the highest, logged again lower: 5.0 is the highest
            [metric(1, 0.5, at=3.0)],  # the lowest, logged again lower still
            [metric(4, 10.0, at=4.0), metric(0, 1.0, key="t[0]", at=4.0)],  # the last step
            [metric(1, math.nan, at=5.0)],  # the lowest becomes NaN: 2.0 at step 3 is next
            [metric(6, 2.0), metric(5, 7.0)],  # a step below the highest, logged late
        ]
        for tracked in appends:
            store.append("r", "owner-1", [], tracked)
            got = store.read_tracked("r", extremes=True)
            assert [(t.key, t.step, repr(t.value), t.at, t.map_index) for t in got] == expected(
                store.read_tracked("r")
            )
        shown = [(t.key, t.step, t.value) for t in store.read_tracked("r", extremes=True)]
        assert shown == [("t", 3, 2.0), ("t", 4, 10.0), ("t", 6, 2.0), ("t[0]", 0, 1.0)]

    def test_read_runs_is_each_runs_own_reads_at_once(self, store: RunStore) -> None:
        def metric(run_id: str, name: str, step: int, value: float) -> Tracked:
            return Tracked(
                run_id=run_id, key="t", attempt=1, kind=TrackKind.METRIC, name=name,
                value=value, step=step, at=1.0,
            )  # fmt: skip

        for run_id in ("run-a", "run-b", "run-c"):
            store.create_run(run_info(run_id, params={"lr": run_id}))
            w = Writer(store, run_id)
            w.append(w.start(PlannedTask(key="t", name="t"), PlannedTask(key="u", name="u")))
        w = Writer(store, "run-b")
        w.seq = 1
        w.append(w.task("u", S.SUCCEEDED, output=inline_ref("u"), cache_hit="run-a"))
        param = Tracked(run_id="run-a", key="t", attempt=1, kind=TrackKind.PARAM, name="p", value=1)
        for run_id, values in (("run-a", [3.0, math.nan, 1.0, 2.0]), ("run-b", [7.0, 8.0])):
            tracked = [metric(run_id, "loss", step, v) for step, v in enumerate(values)]
            store.append(run_id, "owner-1", [], [*tracked, metric(run_id, "acc", 0, 0.5)])
        store.append("run-a", "owner-1", [], [param])

        wanted = ["run-b", "run-a", "run-c", "ghost", "run-", "run-a"]
        for extremes in (False, True):
            got = store.read_runs(wanted, extremes=extremes)
            assert list(got) == ["run-b", "run-a", "run-c"]  # exact ids only, once each
            for run_id, reading in got.items():
                assert reading.info == store.get_run(run_id)
                assert reading.tracked == store.read_tracked(run_id, extremes=extremes)
                assert reading.cache_hits == store.cache_hits(run_id)
        got = store.read_runs(["run-a", "run-b", "run-c"], extremes=True)
        assert [len(got[r].tracked) for r in ("run-a", "run-b", "run-c")] == [5, 3, 0]
        assert got["run-b"].cache_hits == {"u": "run-a"}
        assert store.read_runs([]) == {}

    def test_read_runs_of_named_metrics_reads_the_others_last_points(self, store: RunStore) -> None:
        def metric(name: str, step: int, value: float, attempt: int = 1) -> Tracked:
            return Tracked(
                run_id="r", key="t", attempt=attempt, kind=TrackKind.METRIC, name=name,
                value=value, step=step, at=float(step),
            )  # fmt: skip

        store.create_run(run_info("r"))
        w = Writer(store, "r")
        w.append(w.start(PlannedTask(key="t", name="t")))
        param = Tracked(run_id="r", key="t", attempt=1, kind=TrackKind.PARAM, name="p", value=1)
        store.append("r", "owner-1", [], [param])
        store.append("r", "owner-1", [], [metric("loss", s, 5.0 - s) for s in range(5)])
        store.append("r", "owner-1", [], [metric("acc", s, [0.9, 0.1, 0.5][s]) for s in range(3)])
        store.append("r", "owner-1", [], [metric("acc", 0, 0.7, attempt=2)])
        for extremes in (False, True):
            full = store.read_tracked("r", extremes=extremes)
            got = store.read_runs(["r"], extremes=extremes, metrics={"loss"})["r"].tracked
            last_acc = {t.attempt: t for t in full if t.name == "acc"}  # in step order
            assert got == [t for t in full if t.name != "acc" or last_acc[t.attempt] is t]
            assert [(t.name, t.attempt, t.step) for t in got if t.name == "acc"] == [
                ("acc", 1, 2),
                ("acc", 2, 0),
            ]
        whole = store.read_runs(["r"], metrics={"loss", "acc", "nothing"})["r"].tracked
        assert whole == store.read_tracked("r")
        assert [t.name for t in store.read_runs(["r"], metrics=set())["r"].tracked] == [
            "acc", "loss", "p", "acc",
        ]  # fmt: skip

    def test_map_items_pages_agree_with_the_records(self, store: RunStore) -> None:
        store.create_run(run_info("r"))
        w = Writer(store, "r")
        w.append(
            w.start(
                PlannedTask(key="sq", name="sq", mapped=True, items=5),
                PlannedTask(key="cube", name="cube", mapped=True, items=2),
            ),
            w.expand("sq", 5),
            w.expand("cube", 2),
        )
        w.append(
            w.task("sq[3]", S.RUNNING),
            w.task("sq[3]", S.SUCCEEDED, output=inline_ref("s3")),
            w.task("sq[1]", S.RUNNING),
            w.task("sq[1]", S.FAILED, error=ERROR),
            w.task("sq[0]", S.RUNNING),
            w.task("sq[0]", S.SUCCEEDED, output=inline_ref("s0")),
        )
        items = [r for r in store.task_records("r") if r.parent == "sq" and not r.mapped]
        items.sort(key=lambda r: r.map_index or 0)
        page = store.map_items("r", "sq")
        assert page.total == 5
        assert page.items == items
        assert [r.key for r in page.items] == [f"sq[{i}]" for i in range(5)]
        assert store.map_items("r", "sq", offset=1, limit=2).items == items[1:3]
        assert store.map_items("r", "sq", offset=4, limit=9).items == items[4:]
        done = store.map_items("r", "sq", state=S.SUCCEEDED)
        assert (done.total, [r.key for r in done.items]) == (2, ["sq[0]", "sq[3]"])
        assert store.map_items("r", "sq", state=S.SUCCEEDED, offset=1).items == [items[3]]
        failed = store.map_items("r", "sq", state=S.FAILED)
        assert failed.items[0].error is not None
        assert store.map_items("r", "sq", offset=9).total == 5
        assert store.map_items("r", "sq", offset=9).items == []
        assert [r.key for r in store.map_items("r", "cube").items] == ["cube[0]", "cube[1]"]
        assert store.map_items("r", "nothing").total == 0
        assert store.map_items("ghost", "sq").items == []

    def test_step_counts_and_task_pages_agree_with_the_records(self, store: RunStore) -> None:
        store.create_run(run_info("r"))
        w = Writer(store, "r")
        w.append(
            w.start(
                PlannedTask(key="inc", name="inc"),
                PlannedTask(key="sq", name="sq", mapped=True, items=4),
                PlannedTask(key="inc_1", name="inc"),
                PlannedTask(key="cube", name="cube", mapped=True),
                PlannedTask(key="total", name="total"),
            ),
            w.task("inc", S.SUCCEEDED, output=inline_ref("i")),
            w.expand("sq", 4),
        )
        w.append(
            w.task("sq[2]", S.RUNNING),
            w.task("sq[2]", S.FAILED, error=ERROR),
            w.task("sq[0]", S.RUNNING),
            w.task("inc_1", S.RUNNING),
            w.task("inc_1", S.FAILED, error=ERROR),
            w.task("sq[3]", S.SUCCEEDED, output=inline_ref("s3")),
        )
        records = store.task_records("r")
        steps = store.step_counts("r")
        assert [s.name for s in steps] == ["inc", "sq", "cube", "total"]  # first tasks' order
        for step in steps:
            named = [r for r in records if r.name == step.name]
            assert step.states == dict(Counter(r.state.value for r in named if not r.mapped))
            assert step.maps == dict(Counter(r.state.value for r in named if r.mapped))
        assert steps[0].states == {"succeeded": 1, "failed": 1}
        assert sum(steps[1].states.values()) == 4  # its items; its group record apart
        assert (steps[1].states["failed"], sum(steps[1].maps.values())) == (1, 1)
        assert (steps[2].states, steps[2].maps) == ({}, {"pending": 1})

        tasks = [r for r in records if not r.mapped]  # in the order they appeared
        page = store.task_page("r")
        assert (page.total, page.items) == (len(tasks), tasks)
        assert store.task_page("r", offset=2, limit=3).items == tasks[2:5]
        bad = store.task_page("r", states=[S.FAILED, S.RUNNING])
        assert bad.total == 3
        assert [r.key for r in bad.items] == ["inc_1", "sq[0]", "sq[2]"]
        assert bad.items == [r for r in tasks if r.state in (S.FAILED, S.RUNNING)]
        assert bad.items[0].error is not None
        assert store.task_page("r", states=[S.FAILED], offset=1).items == [bad.items[2]]
        assert store.task_page("r", states=[S.CANCELLED]) == store.task_page("ghost")
        assert store.task_page("ghost").total == 0
        assert store.step_counts("ghost") == []
        whole = store.task_page("r", groups=True, limit=100)
        assert (whole.total, whole.items) == (len(records), records)
        waiting = store.task_page("r", states=[S.PENDING], groups=True)
        assert waiting.items == [r for r in records if r.state is S.PENDING]
        assert "cube" in [r.key for r in waiting.items]  # a group record, in its place
        assert store.task_page("r", groups=True, offset=1, limit=2).items == records[1:3]

        named = store.task_records("r", keys=["total", "sq[3]", "inc", "nobody"])
        assert named == [r for r in records if r.key in ("inc", "total", "sq[3]")]
        assert store.task_records("r", keys=[]) == []
        events = store.read_events("r")
        assert store.read_events("r", limit=1) == events[:1]
        assert store.read_events("r", after_seq=2, limit=2) == events[2:4]
        assert store.read_events("r", after_seq=events[-1].seq, limit=5) == []
        assert store.run_output("r") is None  # not recorded
        assert store.run_output("ghost") is None
        expanded = store.read_events("r", kinds=[MapExpanded, RunStarted])
        assert expanded == [e for e in events if isinstance(e, (MapExpanded, RunStarted))]
        assert [type(e) for e in expanded] == [RunStarted, MapExpanded]
        assert store.read_events("r", after_seq=1, kinds=[MapExpanded], limit=1) == expanded[1:]
        some = store.read_events("r", keys=["sq[2]", "inc_1", "nobody"])
        assert some == [
            e for e in events if isinstance(e, TaskTransitioned) and e.key in ("sq[2]", "inc_1")
        ]
        assert [(e.key, e.state) for e in some] == [
            ("sq[2]", S.RUNNING),
            ("sq[2]", S.FAILED),
            ("inc_1", S.RUNNING),
            ("inc_1", S.FAILED),
        ]
        assert store.read_events("r", after_seq=some[0].seq, keys=["sq[2]"], limit=5) == some[1:2]
        assert store.read_events("r", keys=["sq[2]", "inc_1"], limit=1) == some[:1]
        assert store.read_events("r", keys=[]) == []
        many = ["inc_1", *(f"nobody{i}" for i in range(1200)), "sq[2]"]  # SQL: a scan, then seeks
        assert store.read_events("r", keys=many) == some
        assert store.read_events("r", after_seq=some[1].seq, keys=many, limit=1) == some[2:3]
        assert store.read_events("r", keys=["sq"], kinds=[MapExpanded]) == []
        ended = store.read_events("r", states=[S.FAILED, S.SUCCEEDED])
        assert ended == [
            e
            for e in events
            if isinstance(e, TaskTransitioned) and e.state in (S.FAILED, S.SUCCEEDED)
        ]
        assert [e.key for e in ended] == ["inc", "sq[2]", "inc_1", "sq[3]"]
        assert store.read_events("r", states=[S.FAILED], keys=["inc_1", "inc"]) == [ended[2]]

    def test_run_output_is_what_run_started_recorded(self, store: RunStore) -> None:
        output = {"dict": [["best", {"task": "sq", "path": [-1]}], ["n", {"literal": "3"}]]}
        store.create_run(run_info("r"))
        w = Writer(store, "r")
        w.append(w.start(PlannedTask(key="sq", name="sq", mapped=True), output=output))
        assert store.run_output("r") == output
