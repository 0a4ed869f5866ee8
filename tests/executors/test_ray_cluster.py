"""The ray executor on a real multi-node cluster on this machine (``ray.cluster_utils``,
one per module): a head that runs no tasks and two worker nodes, one with a custom
resource, both with two logical GPUs. Placement by resources, parallelism across nodes,
GPUs handed out by Ray, refusal of a task no single node can host, a node killed under a
task (the attempt fails with the reason and the retry runs on the other node), an output
whose object died with its node read from its artifact, and a driver killed with
``kill -9`` whose resume, on another cluster, re-runs no committed task."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import ray
import ray._private.ray_constants as rc
import ray_tasks
from ray.cluster_utils import Cluster

import legato
from conftest import RESOURCES, ray_environment
from legato import PlanError, Resources, RunState, TaskState, pipeline, task
from legato.config import load_settings
from legato.executors.ray_executor import RayExecutor
from legato.query.tasks import attempts_of
from legato.store.open import open_run_store

pytestmark = [pytest.mark.exhaustive, pytest.mark.timeout(240)]

NODE = {"num_cpus": 1, "num_gpus": 2, "object_store_memory": 80 * 1024**2}


LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
"""Ray turns 127.0.0.1 in an address into the machine's outward IP, where nothing of this
cluster listens; with this it keeps to the loopback (a driver process is given it too)."""


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    saved = os.environ.get("PYTHONPATH")
    os.environ.update(ray_environment())
    rc.ENABLE_RAY_CLUSTER = False  # what LOOPBACK says, for this process
    made = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 0,
            "object_store_memory": 80 * 1024**2,
            "include_dashboard": False,
            "node_ip_address": "127.0.0.1",
        },
    )
    try:
        made.add_node(resources={"special": 1}, node_ip_address="127.0.0.1", **NODE)
        made.add_node(node_ip_address="127.0.0.1", **NODE)
        made.wait_for_nodes()
        ray.init(address=made.address, log_to_driver=False, configure_logging=False)
        yield made
    finally:
        ray.shutdown()
        made.shutdown()
        rc.ENABLE_RAY_CLUSTER = True
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


def noted(ledger: Path, label: str) -> list[list[str]]:
    return [
        line.split()[1:] for line in ledger.read_text().splitlines() if line.split()[0] == label
    ]


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    path = tmp_path / "ledger"
    path.touch()
    return path


def worker_nodes(cluster: Cluster) -> dict[str, object]:
    return {node.node_id: node for node in cluster.worker_nodes}


def test_a_task_needing_a_custom_resource_lands_on_the_node_that_has_it(
    cluster: Cluster, ledger: Path
) -> None:
    alive = [n for n in ray.nodes() if n["Alive"]]
    (special,) = [n["NodeID"] for n in alive if "special" in n["Resources"]]
    result = legato.run(ray_tasks.special, {"ledger": str(ledger)}, executor="ray")

    assert result.state is RunState.SUCCEEDED
    assert result.output == special
    assert [row[0] for row in noted(ledger, "special")] == [special]


def test_independent_tasks_run_at_once_on_both_nodes(cluster: Cluster, ledger: Path) -> None:
    result = legato.run(ray_tasks.parallel, {"ledger": str(ledger), "hold": 2.0}, executor="ray")

    assert result.state is RunState.SUCCEEDED
    (a_node, a_start, a_end), (b_node, b_start, b_end) = (
        noted(ledger, "a")[0],
        noted(ledger, "b")[0],
    )
    assert {a_node, b_node} == set(worker_nodes(cluster))
    assert max(float(a_start), float(b_start)) < min(float(a_end), float(b_end))  # overlap


def test_each_gpu_task_gets_its_own_devices_and_no_more_run_than_there_are_gpus(
    cluster: Cluster, ledger: Path
) -> None:
    result = legato.run(ray_tasks.gpu_pair, {"ledger": str(ledger)}, executor="ray")

    assert result.state is RunState.SUCCEEDED
    rows = [(devices, float(s), float(e), node) for _, devices, s, e, node in noted(ledger, "gpu")]
    assert len(rows) == 6
    assert all(devices in {"0", "1"} for devices, _, _, _ in rows)
    for devices, start, _, node in rows:  # what runs when each starts
        running = [r for r in rows if r[1] <= start < r[2]]
        assert len(running) <= 4  # 2 nodes x 2 GPUs
        on_node = [r[0] for r in running if r[3] == node]
        assert sorted(on_node) == sorted(set(on_node)), (devices, running)


def test_a_task_no_single_node_can_host_is_refused_before_the_run(cluster: Cluster) -> None:
    @task(resources=Resources(cpus=0.5, gpus=4))
    def four_gpus() -> int:
        return 4

    @pipeline
    def wide() -> int:
        return four_gpus()

    with pytest.raises(PlanError, match="no node of the ray executor's 3 has that much"):
        legato.run(wide, executor="ray")
    assert legato.runs() == []


def test_an_output_lost_with_its_node_is_read_from_its_artifact(
    cluster: Cluster, ledger: Path, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    # Its nodes share one machine, where outputs would not travel as objects by default.
    handle = legato.start(
        ray_tasks.lost_handoff,
        {"ledger": str(ledger), "gate_path": str(gate)},
        executor=RayExecutor(objects=True),
    )
    _wait(lambda: noted(ledger, "made"))
    producer = noted(ledger, "made")[0][0]
    cluster.remove_node(worker_nodes(cluster)[producer], allow_graceful=False)
    try:
        gate.touch()
        result = handle.wait()
        assert result.state is RunState.SUCCEEDED, result.tasks
        assert result.output == 1000
        assert noted(ledger, "summed")[0][0] != producer
    finally:
        cluster.add_node(resources={"special": 1}, node_ip_address="127.0.0.1", **NODE)
        cluster.wait_for_nodes()


def test_a_node_killed_under_a_task_gives_attempt_2_on_the_other_node(
    cluster: Cluster, ledger: Path
) -> None:
    handle = legato.start(ray_tasks.pair, {"ledger": str(ledger), "hold": 60.0}, executor="ray")
    _wait(lambda: noted(ledger, "busy"))
    first = noted(ledger, "busy")[0]
    assert first[0] == "1"
    nodes = worker_nodes(cluster)
    cluster.remove_node(nodes[first[1]], allow_graceful=False)
    try:
        result = handle.wait()
        record = result.tasks["busy"]
        assert result.state is RunState.SUCCEEDED, result.tasks
        assert record.attempt == 2
        second = noted(ledger, "busy")[1]
        assert second[0] == "2"
        assert second[1] != first[1]
        assert second[1] in nodes
        attempts = _attempts(result.run_id, "busy")
        assert attempts[0][0] == "retry_wait"  # failed, and retried
        assert "the Ray node running it died" in attempts[0][1]
        assert attempts[1][0] == "succeeded"
    finally:
        cluster.add_node(node_ip_address="127.0.0.1", **NODE)
        cluster.wait_for_nodes()


def test_a_driver_killed_mid_run_resumes_elsewhere_without_re_running_committed_tasks(
    cluster: Cluster, ledger: Path, legato_home: Path
) -> None:
    env = {
        **os.environ,
        **ray_environment(),
        **LOOPBACK,
        "LEGATO_RAY_ADDRESS": cluster.address,
        "LEGATO_HOME": str(legato_home),
    }
    code = (
        "import legato, ray_tasks; legato.run(ray_tasks.slow_chain, "
        f"{{'ledger': {str(ledger)!r}, 'hold': 1.5}}, executor='ray')"
    )
    driver = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=RESOURCES)
    try:
        _wait(lambda: len(noted(ledger, "step")) >= 3, limit=120)
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    (run,) = legato.runs()
    committed = {
        k for k, r in legato.get_run(run.run_id).tasks.items() if r.state is TaskState.SUCCEEDED
    }
    assert committed  # the first steps had ended
    before = len(noted(ledger, "step"))

    # Resumed without the cluster that ran the first attempts: on a local one of its own.
    alone = {k: v for k, v in env.items() if k not in {"LEGATO_RAY_ADDRESS", *LOOPBACK}}
    resumed = subprocess.run(
        [sys.executable, "-m", "legato.cli", "resume", run.run_id, "--no-logs"],
        env=alone,
        cwd=RESOURCES,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    result = legato.get_run(run.run_id)
    assert result.state is RunState.SUCCEEDED
    steps = [int(row[0]) for row in noted(ledger, "step")]
    rerun = [s for s in steps[before:] if f"slow_step{'' if s == 0 else f'_{s + 1}'}" in committed]
    assert rerun == []
    assert sorted(set(steps)) == [0, 1, 2, 3]


def _attempts(run_id: str, key: str) -> list[tuple[str, str]]:
    store = open_run_store(load_settings().state_url)
    try:
        return [(a.state, a.reason or "") for a in attempts_of(store.read_events(run_id))[key]]
    finally:
        store.close()


def _wait(ready: object, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while not ready():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)
