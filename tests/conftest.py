"""Shared fixtures. Tests use real executors, real processes and real files; only time is
faked (``legato.testing.FakeClock``) where a test needs it."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from legato.choices import ExecutorName
from legato.config import ENVIRONMENT

RESOURCES = Path(__file__).parent / "resources"
sys.path.insert(0, str(RESOURCES))  # fixture pipelines import like any user module

EXECUTORS = tuple(name.value for name in ExecutorName)
"""Every executor a run can name: a new one runs every per-executor test."""


@pytest.fixture(autouse=True)
def legato_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own state folder: runs are durable by default, and no test may
    see another's runs or cache entries."""
    home = tmp_path_factory.mktemp("legato-home")
    monkeypatch.setenv("LEGATO_HOME", str(home))
    for variable in ENVIRONMENT:  # settings of whoever runs the tests do not apply
        if variable != "LEGATO_HOME":
            monkeypatch.delenv(variable, raising=False)
    return home


PER_EXECUTOR = EXECUTORS
"""The executors every per-executor test runs on: all of them. On ``ray`` a test runs on
one local Ray cluster for the whole session (:func:`ray_session`), as a Ray job of its own
whose workers are given the test's ``LEGATO_TEST_*`` variables as its fixtures set them
(the files a test hands its tasks: a ledger, flags, gates), which workers started with the
cluster do not inherit (:func:`pytest_runtest_call`). A job costs seconds (its relay actor
and workers start), so only the ``ray`` cases under :data:`RAY_BY_DEFAULT` run in
``make test`` (marked slow); the others are ``exhaustive``. Not on ``ray`` at all:
:data:`NOT_ON_RAY`, each with why."""

RAY_BY_DEFAULT = ("executors/",)
"""Folders of tests/ whose per-executor tests run on ``ray`` in the default run."""

NOT_ON_RAY: dict[str, str] = {
    "engine/test_branches.py::test_a_resume_keeps_the_decision_and_runs_the_finally_block_again": (
        "the test sets the variable its tasks read (LEGATO_TEST_FLAG) in its body, after its "
        "Ray job began with its fixtures' variables"
    ),
    "engine/test_write_ahead.py::test_a_handler_is_submitted_once_its_start_is_committed": (
        "it builds its executors from a table of its own (inline, threads, processes); "
        "the write-ahead order it checks is the engine's, the same on every executor"
    ),
}
"""Per-executor tests (file::name under tests/) that do not run on ``ray``, and why."""


@pytest.fixture(params=PER_EXECUTOR)
def executor(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once per executor."""
    name = str(request.param)
    if name == "ray":
        _ray_address[:] = [request.getfixturevalue("ray_session")]
    return name


_ray_address: list[str] = []
"""The session cluster's address, once a test on ``ray`` has started it."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The ``ray`` cases of the per-executor tests: skipped where :data:`NOT_ON_RAY` says
    why, slow under :data:`RAY_BY_DEFAULT`, exhaustive elsewhere (each is a Ray job: a relay
    actor and workers to start)."""
    for item in items:
        if _on_ray(item):
            name = _test_name(item)
            reason = NOT_ON_RAY.get(name)
            if reason is not None:
                item.add_marker(pytest.mark.skip(reason=f"not on ray: {reason}"))
            elif name.startswith(RAY_BY_DEFAULT):
                item.add_marker(pytest.mark.slow)
            else:
                item.add_marker(pytest.mark.exhaustive)


def _on_ray(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    return callspec is not None and callspec.params.get("executor") == "ray"


def _test_name(item: pytest.Item) -> str:
    path = Path(str(item.fspath)).relative_to(Path(__file__).parent)
    return f"{path.as_posix()}::{getattr(item, 'originalname', item.name)}"


@pytest.fixture(scope="session")
def ray_session() -> Iterator[str]:
    """A local Ray cluster for the session's per-executor tests on ``ray`` (a head node
    with 2 CPUs, 2 logical GPUs and 2 of ``db``, 127.0.0.1, no dashboard, a small object
    store), started in processes of its own, so that each test connects to it as a job and
    leaves it running; its address."""
    import ray
    import ray._private.ray_constants as rc
    from ray.cluster_utils import Cluster

    saved = {v: os.environ.get(v) for v in ("PYTHONPATH", "LEGATO_HOME", *LOOPBACK)}
    os.environ.update({**ray_environment(), **LOOPBACK, "LEGATO_HOME": NO_STATE})
    rc.ENABLE_RAY_CLUSTER = False  # what LOOPBACK says, for this process
    try:
        made = Cluster(
            initialize_head=True,
            head_node_args={
                "num_cpus": 2,
                "num_gpus": 2,
                "resources": {"db": 2},  # the custom resource of tests/resources/resource_limits
                "object_store_memory": 128 * 1024**2,
                "include_dashboard": False,
                "node_ip_address": "127.0.0.1",
            },
        )
    finally:
        for variable, value in saved.items():
            _restore(variable, value)
    try:
        yield str(made.address)
    finally:
        if ray.is_initialized():
            ray.shutdown()
        made.shutdown()
        rc.ENABLE_RAY_CLUSTER = True


LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
"""Ray turns 127.0.0.1 in an address into the machine's outward IP, where nothing of a test
cluster listens; with this it keeps to the loopback (a driver process is given it too)."""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> object:
    """A per-executor test on ``ray`` runs as a Ray job of the session's cluster whose
    workers have the test's ``LEGATO_TEST_*`` variables, as set by its fixtures; the job
    ends with the test (the cluster stays)."""
    if not _on_ray(item) or not _ray_address:
        return (yield)
    handed = {k: v for k, v in os.environ.items() if k.startswith("LEGATO_TEST_")}
    with _joined(_ray_address[0], handed):
        return (yield)


NO_STATE = os.path.join(os.devnull, "legato-home")
"""A state folder no process can have or make (``/dev/null`` is no folder): the one a test
Ray cluster's workers are given."""


def ray_environment() -> dict[str, str]:
    """What a test cluster's processes need: tests/resources importable by Ray workers,
    which import task functions by module."""
    path = os.pathsep.join(p for p in (str(RESOURCES), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path}


@pytest.fixture(scope="module")
def ray_local(ray_session: str) -> Iterator[None]:
    """The session's local Ray cluster (:func:`ray_session`: 2 CPUs, 2 logical GPUs,
    127.0.0.1), joined as one Ray job for a module's tests; runs with the ray executor use
    it. A cluster started inside the test process instead (``ray.init(address="local")``)
    would leave it unable to start actors on any cluster it joins later."""
    with _joined(ray_session, {}):
        yield


@contextlib.contextmanager
def _joined(address: str, variables: dict[str, str]) -> Iterator[None]:
    """This process connected to the cluster at ``address`` as a job whose workers have
    ``variables``; disconnected after (legato's relay thread first), the cluster left
    running."""
    import ray
    import ray._private.ray_constants as rc

    from legato.executors import ray_relay

    enabled, rc.ENABLE_RAY_CLUSTER = rc.ENABLE_RAY_CLUSTER, False  # see LOOPBACK
    ray.init(
        address=address,
        runtime_env={"env_vars": variables},
        log_to_driver=False,
        configure_logging=False,
    )
    try:
        yield
    finally:
        ray_relay.stop_hub()
        ray.shutdown()
        rc.ENABLE_RAY_CLUSTER = enabled


def _restore(variable: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(variable, None)
    else:
        os.environ[variable] = value


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A file tasks append to (one line per execution), visible to worker processes."""
    path = tmp_path / "ledger.txt"
    path.touch()
    monkeypatch.setenv("LEGATO_TEST_LEDGER", str(path))
    return path


def ledger_lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie waiting for its parent to reap it is
    dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


__all__ = ["EXECUTORS", "NO_STATE", "RESOURCES", "alive", "ledger_lines", "os", "ray_environment"]
