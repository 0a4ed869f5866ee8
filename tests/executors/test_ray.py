"""The ray executor on a real local Ray cluster (the session's, joined once per module,
bound to 127.0.0.1): a run succeeds with its attempts recorded, output, tracked values and
retries as with worker processes, models registered from workers that cannot reach the run
store (recorded by the driver, once per task however often it retries), outputs handed on
through Ray's object store with the artifact as the fallback, hard timeouts, memory limits
and refusals before a run."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
import ray
import ray_tasks

import legato
from conftest import NO_STATE
from legato import Capacity, RunState, TaskState
from legato.config import load_settings
from legato.define.loader import load_pipeline
from legato.errors import ExecutorError
from legato.executors import ray_cluster, ray_relay, ray_task
from legato.executors.ray_executor import RayExecutor
from legato.executors.ray_models import MODELS
from legato.executors.ray_task import REGISTER, strip_live
from legato.model.artifacts import ArtifactRef
from legato.model.calls import OutcomeKind, TaskOutcome
from legato.model.events import TaskTransitioned
from legato.model.registry import ModelVersion
from legato.model.tracking import TrackKind
from legato.model.values import Stored
from legato.store.open import open_run_store

pytestmark = [pytest.mark.timeout(120), pytest.mark.usefixtures("ray_local")]


def stored(run_id: str) -> tuple[list[tuple[str, int, str]], dict[tuple[str, str], object]]:
    """The run's captured output as (key, attempt, text) and its metrics by (key, name)."""
    store = open_run_store(load_settings().state_url)
    try:
        logs = [(e.key, e.attempt, e.text) for e in store.read_logs(run_id)]
        metrics = {
            (t.key, t.name): t.value
            for t in store.read_tracked(run_id)
            if t.kind is TrackKind.METRIC
        }
        return logs, metrics
    finally:
        store.close()


def test_a_run_on_ray_succeeds_with_its_attempts_output_and_metrics_recorded() -> None:
    result = legato.run(ray_tasks.chatty, executor="ray")

    assert result.state is RunState.SUCCEEDED, result.tasks
    assert result.output == (8, "second")
    assert result.tasks["talk"].attempt == 1
    flaky = result.tasks["flaky_of"]
    assert (flaky.state, flaky.attempt) == (TaskState.SUCCEEDED, 2)
    logs, metrics = stored(result.run_id)
    text = "".join(t for k, _, t in logs if k == "talk")
    assert "hello from attempt of talk(4)" in text
    assert "a warning from talk" in text
    assert metrics == {("talk", "n"): 4.0}
    # The process's Ray connection was not legato's to close.
    assert ray.is_initialized()


def registered(ledger: Path) -> list[list[str]]:
    """What each attempt of ``ray_tasks.fit`` noted: attempt, the store URL its call
    carried, the state URL the worker's own settings give, the version number it got
    back and the attempt that version records."""
    return [line.split()[1:] for line in ledger.read_text().splitlines()]


def test_a_model_registered_on_a_worker_without_the_store_is_recorded_by_the_driver(
    tmp_path: Path,
) -> None:
    ledger = tmp_path / "ledger"
    ledger.touch()
    result = legato.run(ray_tasks.fitted, {"ledger": str(ledger)}, executor="ray")

    assert result.state is RunState.SUCCEEDED, result.tasks
    # The call arrived without the store's URL, and the worker's settings name no store
    # it could open: the version was recorded by the driver.
    ((attempt, carried, own, number, recorded),) = registered(ledger)
    assert (attempt, carried, number, recorded) == ("1", "None", "1", "1")
    assert NO_STATE in own
    assert own != load_settings().state_url
    with legato.open_registry() as registry:
        (version,) = registry.versions("ray-model")
        assert (version.run_id, version.task, version.attempt) == (result.run_id, "fit", 1)
        assert version.params == {"ledger": str(ledger), "fail_first": False, "alpha": 0.5}
        assert version.metrics == {"accuracy": 0.75}
        assert version.environment  # the run's, completed from its record by the driver
        assert registry.load(version) == {"weights": [1, 2, 3]}


def test_a_retried_task_on_ray_records_one_version(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    ledger.touch()
    params = {"ledger": str(ledger), "fail_first": True}
    result = legato.run(ray_tasks.fitted, params, executor="ray")

    assert result.state is RunState.SUCCEEDED, result.tasks
    assert result.tasks["fit"].attempt == 2
    # Both attempts registered; the second got back the version the first recorded.
    assert [(row[0], row[3], row[4]) for row in registered(ledger)] == [
        ("1", "1", "1"),
        ("2", "1", "1"),
    ]
    with legato.open_registry() as registry:
        assert [v.version for v in registry.versions("ray-model")] == [1]


def test_a_deploy_on_workers_without_the_store_moves_the_alias_and_rolls_it_back() -> None:
    # Every step runs on a worker whose settings name no store: the registry's reads and
    # the alias's moves, the rollback's included, are carried out by the driver.
    first = legato.run(ray_tasks.shipped, {"name": "ray-deployed"}, executor="ray")
    assert first.state is RunState.SUCCEEDED, first.tasks
    assert first.output == "ray-deployed:1:None"

    refused = legato.run(
        ray_tasks.shipped, {"name": "ray-deployed", "accuracy": 0.5}, executor="ray"
    )
    assert refused.state is RunState.FAILED
    assert "accuracy 0.5 is not >= 0.9" in (refused.tasks["deploy"].reason or "")

    params = {"name": "ray-deployed", "accuracy": 0.97, "fail": True}
    failed = legato.run(ray_tasks.shipped, params, executor="ray")
    assert failed.state is RunState.FAILED
    assert failed.tasks["deploy"].state is TaskState.SUCCEEDED
    with legato.open_registry() as registry:
        assert registry.aliases("ray-deployed") == {"production": 1}
        moves = [(c.version, c.previous) for c in registry.history("ray-deployed", "production")]
        assert moves == [(1, None), (3, 1), (1, 3)]  # deployed, deployed, moved back
        assert first.run_id in registry.history("ray-deployed", "production")[0].actor


def test_a_registration_the_driver_cannot_vouch_for_is_refused_in_the_worker() -> None:
    # The driver records a version only for an attempt its executor runs now, and only for a
    # run it drives: otherwise the worker that asked gets the error.
    executor = RayExecutor()
    executor.open(lambda _: None)
    hub = ray_relay.hub()
    hub.register("run-x", executor._relayed)
    version = ModelVersion(
        name="m",
        version=0,
        artifact=ArtifactRef(checksum="xxh3_128:1", size=1, serializer="json", inline=b"1"),
        run_id="run-x",
        task="t",
        attempt=1,
        created_at=datetime.now(UTC),
    )
    ask = ray.remote(ray_tasks.ask_driver)
    moved = (MODELS, 99, ("run-x", "t", 1), "move_alias", ("m", "a", 1), {})
    try:
        fenced = ray.get(ask.remote(hub.name, "run-x", (REGISTER, 99, version)), timeout=60)
        not_moved = ray.get(ask.remote(hub.name, "run-x", moved), timeout=60)
    finally:
        executor.close()
    unknown = ray.get(ask.remote(hub.name, "run-x", (REGISTER, 99, version)), timeout=60)

    assert fenced[:2] == ("error", "FencedError")
    assert "attempt 1 of task 't'" in fenced[2]
    assert not_moved[:2] == ("error", "FencedError")
    assert "may not call the registry's move_alias" in not_moved[2]
    assert unknown[:2] == ("error", "ExecutorError")
    assert "is not driven through this relay" in unknown[2]


def test_a_pipeline_file_travels_to_the_workers_by_value(tmp_path: Path) -> None:
    # The file is on no worker's path and its module (legato_user_...) importable nowhere:
    # its tasks, and a helper and a class of the file they use, reach the workers pickled.
    (tmp_path / "shipped.py").write_text(
        "import legato\n"
        "\n"
        "class Scale:\n"
        "    def __init__(self, by):\n"
        "        self.by = by\n"
        "\n"
        "def helper(x):\n"
        "    return Scale(3).by * x\n"
        "\n"
        "@legato.task\n"
        "def tripled(x: int) -> int:\n"
        "    return helper(x)\n"
        "\n"
        "@legato.pipeline\n"
        "def shipped(x: int = 2) -> int:\n"
        "    return tripled(tripled(x))\n"
    )
    pipe = load_pipeline(f"{tmp_path / 'shipped.py'}:shipped")

    result = legato.run(pipe, executor="ray")

    assert result.state is RunState.SUCCEEDED, result.tasks
    assert result.output == 18


def test_a_chain_hands_each_output_to_the_next_attempt() -> None:
    result = legato.run(ray_tasks.chain, executor="ray")

    assert result.state is RunState.SUCCEEDED
    assert result.output == 5
    assert all(record.attempt == 1 for record in result.tasks.values())


@pytest.mark.exhaustive
def test_a_task_stuck_in_c_stops_within_its_timeout(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    ledger.touch()
    began = time.monotonic()
    result = legato.run(ray_tasks.stuck, {"ledger": str(ledger)}, executor="ray")
    took = time.monotonic() - began

    record = result.tasks["stuck_in_c"]
    assert record.state is TaskState.TIMED_OUT, result.tasks
    assert took < 1.0 + 5.0 + 3.0  # its timeout, the allowance, the run's own start
    assert "timeout of 1s" in (record.reason or "")


@pytest.mark.exhaustive
def test_a_task_past_its_memory_limit_fails_as_out_of_memory_and_is_retried() -> None:
    result = legato.run(ray_tasks.hungry, executor="ray")

    record = result.tasks["hog"]
    assert (record.state, record.attempt) == (TaskState.FAILED, 2), result.tasks
    assert record.error is not None
    assert "memory limit of 64 MiB" in record.error.message


@pytest.mark.parametrize("objects", [None, True])
def test_an_array_is_handed_to_the_next_task(objects: bool | None) -> None:
    # Every node of this cluster runs on this machine and the artifacts are a local folder:
    # by default the consumer maps the producer's artifact, and no Ray object is kept;
    # asked for, the output also travels as a Ray object, which the consumer reads.
    executor = RayExecutor(objects=objects)
    kept: list[list[str]] = []  # the objects the executor holds as the consumer is claimed

    class Watch:
        def on_events(self, events: Sequence[object]) -> None:
            claims = [e for e in events if isinstance(e, TaskTransitioned)]
            if any(e.key == "total" and e.state is TaskState.RUNNING for e in claims):
                kept.append(list(executor._objects))

    result = legato.run(
        ray_tasks.handoff, {"size": 100_000}, executor=executor, listeners=[Watch()]
    )

    assert result.state is RunState.SUCCEEDED, result.tasks
    assert result.output == 100_000
    output = result.tasks["make_array"].output
    assert output is not None
    assert output.inline is None  # stored apart, the case an object is for
    assert kept == [[output.checksum] if objects else []]


def test_a_driver_through_ray_client_has_its_artifact_folder_probed_on_the_nodes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ray Client to another machine cannot run here: the driver is said to join through it,
    # and the probe runs for real on this cluster's nodes, which see this machine's folder.
    monkeypatch.setattr(ray_cluster, "through_client", lambda: True)
    folder = f"file://{tmp_path / 'artifacts'}"
    executor = RayExecutor()
    executor.check_storage("sqlite:////tmp/legato.db", folder)  # seen by every node
    # Nodes on another machine would not see it.
    monkeypatch.setattr(ray_cluster, "seen_everywhere", lambda path: False)
    with pytest.raises(ExecutorError, match="through Ray Client"):
        executor.check_storage("sqlite:////tmp/legato.db", folder)
    assert not list((tmp_path / "artifacts").iterdir())  # the probe's marker is gone


def test_outputs_travel_as_ray_objects_unless_one_machine_maps_their_artifacts() -> None:
    assert not ray_cluster.objects_pay("file:///srv/legato/artifacts", hosts=1)
    assert ray_cluster.objects_pay("file:///mnt/shared/artifacts", hosts=3)
    assert ray_cluster.objects_pay("s3://bucket/legato", hosts=1)
    assert ray_cluster.objects_pay(None, hosts=1)  # no store: outputs travel pickled


def test_the_cluster_is_given_its_next_attempts_before_it_has_room() -> None:
    # Four 1-CPU naps on 2 CPUs: all four are submitted at once (two wait in Ray's queue,
    # their 1.7 s timeout counting from their start), not two and two after a round trip.
    executor = RayExecutor()
    result = legato.run(ray_tasks.naps, executor=executor)

    assert result.state is RunState.SUCCEEDED, {k: r.reason for k, r in result.tasks.items()}
    assert executor.admits.cpus == 4 * executor.capacity.cpus == 8
    store = open_run_store(load_settings().state_url)
    try:
        events = [e for e in store.read_events(result.run_id) if isinstance(e, TaskTransitioned)]
    finally:
        store.close()
    claimed = [e.at for e in events if e.state is TaskState.RUNNING]
    ended = [e.at for e in events if e.state is TaskState.SUCCEEDED]
    assert len(claimed) == len(ended) == 4
    assert max(claimed) < min(ended)


def test_only_outputs_stored_apart_travel_as_ray_objects() -> None:
    # An output inline in its reference is read there by its consumer: no Ray object, no
    # round trip to its owner. One written apart is also handed over in the object store.
    def outcome(ref: ArtifactRef) -> TaskOutcome:
        return TaskOutcome(
            call_id=1, key="t", attempt=1, kind=OutcomeKind.SUCCEEDED, output=Stored(ref, "v")
        )

    small = ArtifactRef(checksum="xxh3_128:1", size=3, serializer="json", inline=b"1")
    large = ArtifactRef(checksum="xxh3_128:2", size=9, serializer="pickle", location="o/2")
    for ref, live in ((small, None), (large, "v")):
        bare, sent = strip_live(outcome(ref))
        assert sent == live
        assert bare.output == Stored(ref)
        assert isinstance(bare.output, Stored)
        assert not bare.output.has_live


def test_what_a_run_keeps_in_the_relay_is_let_go_when_its_executor_closes() -> None:
    # Workers fetch the run's shared part and its functions from the relay by name, once
    # each; the relay outlives runs (one per process and Ray connection), so it must not
    # hold on to every run's.
    executor = RayExecutor()
    relay = ray_relay.hub().relay
    executor.open(lambda _: None)
    first = executor._kept
    executor.open(lambda _: None)  # opened again for the next run
    second = executor._kept
    assert ray.get(relay.kept.remote(f"{first}run")) is None
    assert ray.get(relay.kept.remote(f"{second}run")) is not None
    executor.close()
    assert ray.get(relay.kept.remote(f"{second}run")) is None


def test_a_function_travels_with_its_attempts_until_the_relay_holds_it() -> None:
    # The first attempt of a function does not wait for the relay to hold it (that round
    # trip came between a producer's commit and its consumer's start); once it does,
    # attempts carry nothing and a worker without it fetches it there.
    relay = ray_relay.hub().relay
    functions = ray_relay.Functions()
    prefix = "carried-test/"
    try:
        first = functions.carried(relay, prefix, "fn-a", len)
        assert first is not None
        # Attempts carry it until the answer to ``keep`` has arrived, and only then does a
        # worker find it in the relay (the relay, an async actor, may run one caller's
        # calls out of order).
        deadline = time.monotonic() + 10
        while (carried := functions.carried(relay, prefix, "fn-a", len)) is not None:
            assert carried == first
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert ray.get(relay.kept.remote(f"{prefix}fn/fn-a")) == first
        assert functions.carried(relay, prefix, "fn-b", max) is not None
    finally:
        relay.drop.remote(prefix)


def test_a_function_the_relay_failed_to_keep_travels_with_every_attempt() -> None:
    @ray.remote(max_retries=0)
    def refuse(key: str, data: bytes) -> None:
        raise RuntimeError("the relay is gone")

    class Gone:
        """A relay whose ``keep`` fails."""

        def __init__(self) -> None:
            self.refs: list[object] = []

        @property
        def keep(self) -> Gone:
            return self

        def remote(self, key: str, data: bytes) -> object:
            self.refs.append(refuse.remote(key, data))
            return self.refs[-1]

    gone, functions = Gone(), ray_relay.Functions()
    first = functions.carried(gone, "p/", "fn-a", len)
    ray.wait(gone.refs)
    assert functions.carried(gone, "p/", "fn-a", len) == first
    assert functions.carried(gone, "p/", "fn-a", len) == first
    assert len(gone.refs) == 1  # asked once


def test_a_capacity_given_by_hand_is_admitted_exactly() -> None:
    given = Capacity(cpus=1, memory="1GiB", slots=1)
    assert RayExecutor(capacity=given).admits == given


@pytest.mark.exhaustive
def test_time_queued_for_a_node_does_not_count_against_the_timeout() -> None:
    # legato admits four 1-CPU attempts (the capacity says 4 CPUs), the cluster has 2: two
    # wait in Ray's queue for about 1 s, then run 1 s, within their 1.7 s timeout.
    executor = RayExecutor(capacity=Capacity(cpus=4, memory="1GiB", slots=4))
    result = legato.run(ray_tasks.naps, executor=executor)

    assert result.state is RunState.SUCCEEDED, {k: r.reason for k, r in result.tasks.items()}
    assert result.output == [0, 1, 2, 3]


@pytest.mark.exhaustive
def test_half_gpu_tasks_share_the_gpus_two_to_a_gpu(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    ledger.touch()
    result = legato.run(ray_tasks.half_gpus, {"ledger": str(ledger)}, executor="ray")

    assert result.state is RunState.SUCCEEDED
    rows = [line.split()[2:] for line in ledger.read_text().splitlines()]
    assert len(rows) == 8
    assert {devices for devices, _, _ in rows} <= {"0", "1"}  # one GPU each, not both
    for _, start, _ in rows:  # what runs when each starts: 2 GPUs / 0.5 = 4 at most
        running = [d for d, s, e in rows if float(s) <= float(start) < float(e)]
        assert len(running) <= 4
        assert all(running.count(d) <= 2 for d in running)


def test_an_attempt_waits_for_every_message_it_sent_not_only_the_last() -> None:
    relay = ray.remote(ray_tasks.HeldBack).options(max_concurrency=8).remote()
    ray_task._relay[0] = relay
    try:
        ray_task._send(b"slow")  # the relay holds it only after the next one
        ray_task._send(b"fast")
        assert ray_task._flushed()
        assert sorted(ray.get(relay.held.remote())) == [b"fast", b"slow"]
        assert not ray_task._flushed()  # nothing sent since
    finally:
        ray_task._relay[0] = None


def test_what_an_attempt_sends_reaches_the_driver_in_the_order_it_was_sent() -> None:
    relay = ray.remote(ray_tasks.SlowFirst).options(max_concurrency=8).remote()
    ray_task._relay[0], ray_task._relay_name[0] = relay, "slow-first"
    try:
        ray_task._send(b"slow")  # its call starts after the next one's
        ray_task._send(b"fast")
        assert ray_task._flushed()
        assert ray.get(relay.take.remote(0)) == [b"slow", b"fast"]
    finally:
        ray_task._relay[0], ray_task._relay_name[0] = None, ""


def test_a_chatty_attempt_keeps_only_the_messages_the_relay_may_not_hold_yet() -> None:
    relay = ray.remote(ray_tasks.HeldBack).options(max_concurrency=8).remote()
    ray_task._relay[0] = relay
    try:
        ray_task._send(b"slow")
        for i in range(3 * ray_task._SENT_PRUNED_FROM):
            ray_task._send(b"%d" % i)
            if i % 100 == 0:
                ray.get(relay.held.remote())  # lets the relay catch up, as the driver does
        assert len(ray_task._sent) < ray_task._SENT_PRUNED_FROM
        assert ray_task._flushed()
        held = ray.get(relay.held.remote())
        assert len(held) == 3 * ray_task._SENT_PRUNED_FROM + 1
        assert b"slow" in held
    finally:
        ray_task._relay[0] = None
