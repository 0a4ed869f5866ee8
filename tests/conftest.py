"""Shared fixtures. Tests use real executors, real processes and real files; only time is
faked (``legato.testing.FakeClock``) where a test needs it."""

from __future__ import annotations

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


PER_EXECUTOR = tuple(name for name in EXECUTORS if name != ExecutorName.RAY.value)
"""The executors every per-executor test runs on. Not ``ray``: those tests hand files to
their tasks through environment variables (``LEGATO_TEST_LEDGER``), which a Ray cluster's
workers, started with the cluster, do not inherit; tests/executors/test_ray*.py cover it."""


@pytest.fixture(params=PER_EXECUTOR)
def executor(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once per executor."""
    return str(request.param)


NO_STATE = os.path.join(os.devnull, "legato-home")
"""A state folder no process can have or make (``/dev/null`` is no folder): the one a test
Ray cluster's workers are given."""


def ray_environment() -> dict[str, str]:
    """What a test cluster's processes need: tests/resources importable by Ray workers,
    which import task functions by module."""
    path = os.pathsep.join(p for p in (str(RESOURCES), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path}


@pytest.fixture(scope="module")
def ray_local() -> Iterator[None]:
    """A local one-node Ray cluster shared by a module's tests (2 CPUs, 2 logical GPUs,
    127.0.0.1, no dashboard, a small object store); runs with the ray executor use it, and
    it is shut down after the module, with every process it started."""
    import ray

    saved = {variable: os.environ.get(variable) for variable in ("PYTHONPATH", "LEGATO_HOME")}
    os.environ.update(ray_environment())
    # The cluster's processes see no state folder (this one cannot exist): a worker that
    # read or wrote the run store itself, rather than through the driver, fails.
    os.environ["LEGATO_HOME"] = NO_STATE
    try:
        ray.init(
            address="local",  # a new cluster, never one found on the machine
            num_cpus=2,
            num_gpus=2,  # logical: Ray hands them out and sets CUDA_VISIBLE_DEVICES
            include_dashboard=False,
            object_store_memory=128 * 1024**2,
            _node_ip_address="127.0.0.1",
            log_to_driver=False,
            configure_logging=False,
        )
    finally:
        for variable, value in saved.items():
            _restore(variable, value)
    try:
        yield
    finally:
        ray.shutdown()


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
